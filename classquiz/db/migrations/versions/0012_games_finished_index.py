"""An index for the results retention purge

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28

- `ix_games_finished_live`: `games (finished_at) WHERE deleted_at IS NULL`. The purge
  of RESULTS_RETENTION_DAYS (services/results.py, `purge_expired`) asks every hour
  for the oldest stored games that finished before a cutoff, across all hosts; the
  only other index on `finished_at` leads with `owner_id`, so without this one each
  pass read the whole table, tombstones included.

Built CONCURRENTLY (outside the migration's transaction), so a server with many games
keeps storing results while it is built.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_games_finished_live "
            "ON games (finished_at) WHERE deleted_at IS NULL"
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_games_finished_live")
