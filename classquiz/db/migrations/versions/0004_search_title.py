"""search: title tsvector index; lexicon look-up by first letter and length

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Indexes the PostgreSQL search backend's benchmark asked for (see
bench/SEARCH_RESULTS.md and classquiz/search/postgres.py):

- `ix_quizzes_title_vector`: GIN on the title's tsvector. Search ranks in
  tiers, title matches first, and reads the first tier straight from this
  index; without it, finding the quizzes whose title holds a common word means
  visiting every quiz that holds it anywhere. The expression must stay
  identical to `_TITLE` in classquiz/search/postgres.py, or the planner will
  not use it.
- `ix_search_words_first_len`: typo candidates are the lexicon words with the
  query word's first letter and a length within its typo budget. This btree
  finds that slice directly; it replaces 0002's GiST trigram index, whose
  nearest-neighbour search took ~50 ms per query word on a 30,000-word
  lexicon (a GIN trigram index, tried next, 10 to 70 ms). It needs no pg_trgm.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TRIGRAM_GIST = """
DO $do$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        EXECUTE 'CREATE INDEX IF NOT EXISTS ix_search_words_trgm '
                'ON search_words USING gist (word gist_trgm_ops)';
    END IF;
END
$do$
"""


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_quizzes_title_vector ON quizzes "
        "USING gin (to_tsvector('simple'::regconfig, title)) WHERE public"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_search_words_first_len "
        "ON search_words (left(word, 1), length(word))"
    )
    op.execute("DROP INDEX IF EXISTS ix_search_words_trgm")


def downgrade() -> None:
    op.execute(TRIGRAM_GIST)
    op.execute("DROP INDEX IF EXISTS ix_search_words_first_len")
    op.execute("DROP INDEX IF EXISTS ix_quizzes_title_vector")
