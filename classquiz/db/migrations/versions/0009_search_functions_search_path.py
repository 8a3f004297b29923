"""search functions: a fixed search_path, so a pg_dump of the database restores

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27

The quizzes' generated search columns (0002) call SQL functions that call
`classquiz_json_array` by its bare name. `pg_restore` (like the plain SQL a
`pg_dump` writes) runs with an empty `search_path`, so creating the `quizzes`
table of a restored database failed with "function classquiz_json_array(json)
does not exist": a backup could not be restored (tests/test_backup_restore.py).

Each function now carries the `search_path` the migration runs with
(`SET search_path FROM CURRENT`), which pg_dump writes out with it, so the bare
name resolves during a restore as it does at run time. Nothing else changes:
the functions are only evaluated when a quiz row is written (the columns are
stored), so losing SQL-function inlining costs nothing a query would notice.
Downgrade resets the setting.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

FUNCTIONS = (
    "classquiz_json_array(json)",
    "classquiz_tags_text(json)",
    "classquiz_tag_keys(json)",
    "classquiz_questions_text(json)",
)


def upgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SET search_path FROM CURRENT")


def downgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} RESET search_path")
