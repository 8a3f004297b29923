"""The embedded search backend: PostgreSQL full-text search, typo-tolerant with pg_trgm.

Used when no Meilisearch is configured, so a single machine needs nothing but
its database. What the data side looks like (migration 0002):

- `quizzes.search_vector` is a generated tsvector (A title, B description and
  tags, C question texts), so the text index is current as soon as a save
  commits: `index()` has no document to write and a private or deleted quiz is
  gone from results at once, because every query filters on `public`.
- `search_words` is the lexicon of words of public quizzes. `index()` adds a
  quiz's words to it; `reindex_all()` rebuilds it (dropping words of deleted
  quizzes). It exists for typos: each query word of 5+ letters is looked up
  among its nearest lexicon words by trigram distance (pg_trgm's `<->`, a GiST
  index), and those within Meilisearch's typo budget (1 typo from 5 letters,
  2 from 9, checked in Python by edit distance) become alternatives.

A query's words must all match (AND); the last one also matches as a prefix,
as the user may still be typing it. Order: hits matching without any typo
correction first, then hits whose title alone matches, then `ts_rank_cd` with
the A/B/C weights, then the most recently updated. So a title match ranks
above a description match, and an exact word above a corrected one.

Without pg_trgm (the embedded PostgreSQL of the zero-configuration start has
none) the same queries run without typo correction, and the log says so once.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy
from sqlalchemy.exc import SQLAlchemyError

from classquiz.search.base import (
    Progress,
    SearchHitOut,
    SearchQuery,
    SearchResultOut,
    SearchUnavailable,
)
from classquiz.search.text import allowed_typos, is_typo_of, tokenize, tsquery_lexeme

if TYPE_CHECKING:
    from ormar.databases.connection import DatabaseConnection

    from classquiz.db.models import Quiz

log = logging.getLogger(__name__)

# Nearest lexicon words fetched per query word before the edit-distance check.
TYPO_CANDIDATES = 24
# Alternatives kept per query word: bounds the size of the tsquery.
MAX_CORRECTIONS = 6
# Shortest last word matched as a prefix (`p:*` would match nearly everything).
MIN_PREFIX_CHARS = 2
REINDEX_BATCH = 2000

_PLAIN_WORD = re.compile(r"[^\W_]+")
# Rank weights for D, C, B, A (question texts are C, title A).
_WEIGHTS = "'{0.05, 0.2, 0.5, 1.0}'::float4[]"
# The same rule as migration 0002's FILL_LEXICON: words worth correcting towards.
_LEXICON_WORD = "length(w) BETWEEN 4 AND 40 AND w !~ '^[0-9.,_/-]+$'"

_HIT_COLUMNS = """
    q.id, q.title, q.description, q.question_count, q.language,
    CAST(q.tags AS text) AS tags, u.username AS author, count(*) OVER () AS total
"""

_INDEX_WORDS = f"""
INSERT INTO search_words (word)
SELECT DISTINCT w
FROM quizzes, unnest(tsvector_to_array(search_vector)) AS w
WHERE id = :id AND public AND {_LEXICON_WORD}
ORDER BY w
ON CONFLICT DO NOTHING
"""

_CANDIDATES = f"""
SELECT t.tok, c.word
FROM unnest(CAST(:tokens AS text[])) AS t(tok)
CROSS JOIN LATERAL (
    SELECT word FROM search_words ORDER BY word <-> t.tok LIMIT {TYPO_CANDIDATES}
) AS c
"""

_REINDEX_BATCH = f"""
WITH batch AS (
    SELECT id, search_vector FROM quizzes
    WHERE public AND id > :after
    ORDER BY id
    LIMIT :size
), added AS (
    INSERT INTO search_words (word)
    SELECT DISTINCT w FROM batch, unnest(tsvector_to_array(batch.search_vector)) AS w
    WHERE {_LEXICON_WORD}
    ORDER BY w
    ON CONFLICT DO NOTHING
)
SELECT max(id) AS last_id, count(*) AS n FROM batch
"""

_HAS_TRIGRAM = "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')"

_INSTALL_TRIGRAM = """
DO $do$
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'pg_trgm unavailable: %', SQLERRM;
    END;
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        EXECUTE 'CREATE INDEX IF NOT EXISTS ix_search_words_trgm '
                'ON search_words USING gist (word gist_trgm_ops)';
    END IF;
END
$do$
"""


class PostgresSearchIndex:
    """`SearchIndex` over the application's own PostgreSQL database."""

    name = "postgres"

    def __init__(self, database: DatabaseConnection | None = None) -> None:
        if database is None:
            from classquiz.db.engine import database as shared

            database = shared
        self._database = database
        self.trigram: bool | None = None  # None: not detected yet
        self._said_no_trigram = False

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        try:
            await self._detect_trigram()
        except (SQLAlchemyError, OSError):
            log.exception("could not inspect the database for pg_trgm; will retry on first search")

    async def close(self) -> None:
        """Nothing of its own to release: it borrows the application's pool."""

    async def _detect_trigram(self) -> bool:
        async with self._database.connection() as conn:
            found = await conn.scalar(sqlalchemy.text(_HAS_TRIGRAM))
        self.trigram = bool(found)
        if not self.trigram and not self._said_no_trigram:
            self._said_no_trigram = True
            log.warning(
                "search: pg_trgm is not installed in this database, so search serves full-text "
                "and prefix matches without typo tolerance (install pg_trgm, then run "
                "`python -m classquiz reindex`, or configure MEILISEARCH_URL)"
            )
        return self.trigram

    # ------------------------------------------------------------ writes

    async def index(self, quiz: Quiz) -> None:
        """Teach the lexicon this quiz's words (its text index is a generated column)."""
        if not quiz.public:
            await self.remove(quiz.id)
            return
        async with self._database.connection() as conn:
            await conn.execute(sqlalchemy.text(_INDEX_WORDS), {"id": str(quiz.id)})
            await conn.commit()

    async def remove(self, quiz_id: uuid.UUID) -> None:
        """Nothing to do: queries only ever read rows that exist and are public.

        Its words stay in the lexicon until the next `reindex_all`; a stale word
        can only be offered as a correction that finds nothing.
        """

    async def reindex_all(self, progress: Progress | None = None) -> int:
        """Install pg_trgm if it has become available, then rebuild the lexicon."""
        async with self._database.connection() as conn:
            await conn.execute(sqlalchemy.text(_INSTALL_TRIGRAM))
            await conn.commit()
        await self._detect_trigram()
        async with self._database.connection() as conn:
            # One transaction: searches see the old lexicon until the new one is complete.
            total = int(
                await conn.scalar(sqlalchemy.text("SELECT count(*) FROM quizzes WHERE public")) or 0
            )
            if progress:
                progress(0, total)
            done, after = 0, ""
            await conn.execute(sqlalchemy.text("DELETE FROM search_words"))
            while True:
                params = {"after": after, "size": REINDEX_BATCH}
                row = (await conn.execute(sqlalchemy.text(_REINDEX_BATCH), params)).one()
                if not row.n:
                    break
                done += int(row.n)
                after = row.last_id
                if progress:
                    progress(min(done, total), max(total, done))
            await conn.execute(sqlalchemy.text("ANALYZE search_words"))
            await conn.commit()
        return done

    # ------------------------------------------------------------ reads

    async def search(self, query: SearchQuery) -> SearchResultOut:
        try:
            if self.trigram is None:
                await self._detect_trigram()
            tokens = tokenize(query.q)
            if tokens:
                corrections = await self._corrections(tokens) if self.trigram else {}
                rows = await self._text_search(query, tokens, corrections)
            else:
                rows = await self._browse(query)
            total = int(rows[0]["total"]) if rows else await self._count_past_end(query, tokens)
        except (SQLAlchemyError, OSError) as exc:
            log.exception("search query failed")
            raise SearchUnavailable("the search database did not answer") from exc
        return SearchResultOut(hits=[_hit(row) for row in rows], total=total, query=query.q)

    async def _corrections(self, tokens: list[str]) -> dict[str, list[str]]:
        """Lexicon words that are typos away from each query word (none for short words)."""
        typo_tokens = sorted({t for t in tokens if allowed_typos(t) > 0})
        if not typo_tokens:
            return {}
        last = tokens[-1]
        async with self._database.connection() as conn:
            result = await conn.execute(sqlalchemy.text(_CANDIDATES), {"tokens": typo_tokens})
            pairs = result.all()
        found: dict[str, list[str]] = {}
        for token, word in pairs:
            if not _PLAIN_WORD.fullmatch(word):
                continue
            if is_typo_of(token, word, prefix=token == last):
                options = found.setdefault(token, [])
                if len(options) < MAX_CORRECTIONS:
                    options.append(word)
        return found

    async def _text_search(
        self, query: SearchQuery, tokens: list[str], corrections: dict[str, list[str]]
    ) -> list[Any]:
        exact, loose = _tsqueries(tokens, corrections)
        where, params = _filters(query)
        sql = f"""
            SELECT {_HIT_COLUMNS}
            FROM quizzes q LEFT JOIN users u ON u.id = q.owner_id
            WHERE q.public AND q.search_vector @@ to_tsquery('simple', :loose) {where}
            ORDER BY
                q.search_vector @@ to_tsquery('simple', :exact) DESC,
                ts_filter(q.search_vector, '{{a}}') @@ to_tsquery('simple', :loose) DESC,
                ts_rank_cd({_WEIGHTS}, q.search_vector, to_tsquery('simple', :loose)) DESC,
                q.updated_at DESC, q.id
            LIMIT :limit OFFSET :offset
        """
        params.update(exact=exact, loose=loose, limit=query.limit, offset=query.offset)
        return await self._fetch(sql, params)

    async def _browse(self, query: SearchQuery) -> list[Any]:
        """No words: every public quiz that passes the filters, most recently updated first."""
        where, params = _filters(query)
        sql = f"""
            SELECT {_HIT_COLUMNS}
            FROM quizzes q LEFT JOIN users u ON u.id = q.owner_id
            WHERE q.public {where}
            ORDER BY q.updated_at DESC, q.id
            LIMIT :limit OFFSET :offset
        """
        params.update(limit=query.limit, offset=query.offset)
        return await self._fetch(sql, params)

    async def _count_past_end(self, query: SearchQuery, tokens: list[str]) -> int:
        """The total when the page came back empty (an offset past the end, or no match)."""
        if query.offset == 0:
            return 0
        where, params = _filters(query)
        text_match = ""
        if tokens:
            corrections = await self._corrections(tokens) if self.trigram else {}
            params["loose"] = _tsqueries(tokens, corrections)[1]
            text_match = "AND q.search_vector @@ to_tsquery('simple', :loose)"
        sql = f"SELECT count(*) FROM quizzes q WHERE q.public {text_match} {where}"
        async with self._database.connection() as conn:
            return int(await conn.scalar(sqlalchemy.text(sql), params) or 0)

    async def _fetch(self, sql: str, params: dict[str, Any]) -> list[Any]:
        async with self._database.connection() as conn:
            result = await conn.execute(sqlalchemy.text(sql), params)
            return [row._mapping for row in result.all()]


def _tsqueries(tokens: list[str], corrections: dict[str, list[str]]) -> tuple[str, str]:
    """(exact, loose) tsquery texts: all words must match; the last one also as a prefix."""
    exact_terms: list[str] = []
    loose_terms: list[str] = []
    for position, token in enumerate(tokens):
        prefix = position == len(tokens) - 1 and len(token) >= MIN_PREFIX_CHARS
        exact_terms.append(tsquery_lexeme(token, prefix=prefix))
        options = [token, *corrections.get(token, [])]
        loose_terms.append(
            "(" + " | ".join(tsquery_lexeme(word, prefix=prefix) for word in options) + ")"
        )
    return " & ".join(exact_terms), " & ".join(loose_terms)


def _filters(query: SearchQuery) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if query.language:
        clauses.append("AND q.language = :language")
        params["language"] = query.language
    if query.tags:
        # PostgreSQL lowers both sides, so the comparison cannot depend on Python's rules.
        clauses.append(
            "AND q.tag_keys @> ARRAY(SELECT lower(t) FROM unnest(CAST(:tags AS text[])) AS t)"
        )
        params["tags"] = list(query.tags)
    return " ".join(clauses), params


def _hit(row: Any) -> SearchHitOut:
    tags = orjson.loads(row["tags"]) if row["tags"] else []
    return SearchHitOut(
        id=uuid.UUID(str(row["id"]).strip()),
        title=row["title"],
        description=row["description"] or "",
        question_count=row["question_count"] or 0,
        language=row["language"],
        tags=[str(t) for t in tags] if isinstance(tags, list) else [],
        author=row["author"],
    )
