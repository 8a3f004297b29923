"""games.deleted_at: results a host deleted

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28

- `games.deleted_at`: when the host deleted the game's results. The players and
  answers are deleted at once and the row's descriptive columns are blanked; the
  row itself stays, holding only ids, counts of nothing and timestamps, so that a
  late retry of the exactly-once write (its `ON CONFLICT DO NOTHING` on the game
  id) can never bring the results back (docs/results.md, "Deleting results").

Downgrade drops the column; the blanked rows then read as empty games.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE games ADD COLUMN IF NOT EXISTS deleted_at TIMESTAMPTZ")


def downgrade() -> None:
    op.execute("ALTER TABLE games DROP COLUMN IF EXISTS deleted_at")
