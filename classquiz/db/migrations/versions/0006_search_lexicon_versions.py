"""search: lexicon versions, so every process can keep an up-to-date copy in memory

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

Typo candidates are now found in each process's in-memory copy of
`search_words` (classquiz/search/lexicon.py), which needs no extension, so the
zero-configuration start's embedded PostgreSQL is typo tolerant too. Copies
are kept current by versions:

- `search_lexicon`: one row. `version` grows by one for every batch of words
  added; `generation` grows when `reindex_all` rebuilds the lexicon (words of
  deleted quizzes are dropped, so a copy must be reloaded whole).
- `search_words.version`: the batch that added the word, indexed, so a
  process fetches only `version > the one it has`.

A writer bumps `version` in its own transaction before inserting, so the row
lock orders writers: a reader that sees version V has every word of batches up
to V committed (sequence numbers would not: they are handed out before commit
and commit out of order, and a word could be skipped for ever).

`ix_search_words_first_len` (0004) served the SQL look-up of candidates,
which is gone: it is dropped.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE search_words ADD COLUMN version bigint NOT NULL DEFAULT 0")
    op.execute("CREATE INDEX ix_search_words_version ON search_words (version)")
    op.execute(
        "CREATE TABLE search_lexicon ("
        " singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),"
        " generation bigint NOT NULL DEFAULT 0,"
        " version bigint NOT NULL DEFAULT 0)"
    )
    op.execute("INSERT INTO search_lexicon DEFAULT VALUES")
    op.execute("DROP INDEX IF EXISTS ix_search_words_first_len")


def downgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_search_words_first_len "
        "ON search_words (left(word, 1), length(word))"
    )
    op.execute("DROP TABLE IF EXISTS search_lexicon")
    op.execute("DROP INDEX IF EXISTS ix_search_words_version")
    op.execute("ALTER TABLE search_words DROP COLUMN IF EXISTS version")
