"""The embedded search backend: PostgreSQL full-text search, typo-tolerant with pg_trgm.

Used when no Meilisearch is configured, so a single machine needs nothing but
its database. The data side (migrations 0002 and 0004):

- `quizzes.search_vector` is a generated tsvector (A title, B description and
  tags, C question texts), so the text index is current as soon as a save
  commits: `index()` has no document to write, and a private or deleted quiz
  is gone from results at once, because every query filters on `public`.
  A GIN index on the title's own tsvector serves the title tiers below.
- `search_words` is the lexicon of the words of public quizzes. `index()` adds
  a quiz's words; `reindex_all()` rebuilds it (dropping words of deleted
  quizzes). It exists for typos: each query word of 5+ letters is compared
  with the lexicon words that share its first letter and whose length is
  within its typo budget (a btree on both keeps that a small slice); the most
  similar by pg_trgm's `similarity()` that are within Meilisearch's typo
  budget (1 typo from 5 letters, 2 from 9; checked in Python by edit distance)
  become alternatives of that word. A typo in the first letter is not
  corrected: that is what keeps the look-up to one slice of the lexicon.

Matching: every query word must match (AND); the last one also as a prefix,
as the user may still be typing it.

Ranking is in tiers, like Meilisearch's rules (typo before attribute):
1. every word matches as typed, in the title;
2. every word matches as typed, not all in the title;
3. only with a typo correction, in the title;
4. only with a typo correction, elsewhere.
Within a title tier, shorter titles first (`ts_rank_cd` on the title,
normalised by its length); within the others, `ts_rank_cd` with the A/B/C
weights (description before question text); then the most recently updated.

Why tiers: ranking every match of a common word means reading and
decompressing tens of thousands of tsvectors (seconds at 100,000 quizzes).
Each tier instead ranks a pool of at most `MAX_HITS` of its rows, and a tier
runs only if the ones before it did not fill the page. The price: inside a
tier bigger than that, the order is by rank over the same (physically first)
`MAX_HITS` rows of the tier, not over all of it. Like Meilisearch
(`maxTotalHits`), at most `MAX_HITS` hits are served per query, so the pool
never depends on the page asked for, and pages never overlap. A `total`
above `COUNT_CAP` is the planner's estimate (Meilisearch's is an estimate too).

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

# Lexicon words of similar trigrams fetched per query word before the edit-distance check.
TYPO_CANDIDATES = 24
# Alternatives kept per query word: bounds the size of the tsquery.
MAX_CORRECTIONS = 6
# Shortest last word matched as a prefix (`p:*` would match nearly everything).
MIN_PREFIX_CHARS = 2
REINDEX_BATCH = 2000
# Hits served per query, like Meilisearch's default `maxTotalHits`: deeper pages are empty.
MAX_HITS = 1000
# Totals are exact up to here, estimated beyond.
COUNT_CAP = 1000

_PLAIN_WORD = re.compile(r"[^\W_]+")
# Rank weights for D, C, B, A (question texts are C, title A).
_WEIGHTS = "'{0.05, 0.2, 0.5, 1.0}'::float4[]"
# Matches in the title: the same expression as migration 0004's index.
_TITLE = "to_tsvector('simple'::regconfig, q.title)"
# The same rule as migration 0002's FILL_LEXICON: words worth correcting towards.
_LEXICON_WORD = "length(w) BETWEEN 4 AND 40 AND w !~ '^[0-9.,_/-]+$'"

_HIT_COLUMNS = """
    q.id, q.title, q.description, q.question_count, q.language,
    CAST(q.tags AS text) AS tags, u.username AS author
"""

# One tier: take at most :pool of its rows (no ordering: cheap), rank those, keep :need.
_TIER = """
    (SELECT * FROM (
        SELECT q.id, {tier} AS tier, q.updated_at, {rank} AS rank
        FROM quizzes q
        WHERE q.public AND {condition} {where}
        LIMIT :pool
     ) AS pool
     ORDER BY rank DESC, updated_at DESC, id
     LIMIT :need)"""

_RANKS = {
    # Normalisation 1: divided by 1 + log(length), so "Python" before "Python for data science".
    "title": f"ts_rank_cd({_TITLE}, to_tsquery('simple', :loose), 1)",
    "body": f"ts_rank_cd({_WEIGHTS}, q.search_vector, to_tsquery('simple', :loose))",
}

# The outer LIMIT stops the UNION ALL after the tiers that fill the page.
_RANKED_PAGE = f"""
WITH ranked AS (
    SELECT * FROM ({{branches}}
    ) AS tiers
    LIMIT :need
)
SELECT {_HIT_COLUMNS}
FROM ranked r JOIN quizzes q ON q.id = r.id LEFT JOIN users u ON u.id = q.owner_id
ORDER BY r.tier, r.rank DESC, r.updated_at DESC, r.id
LIMIT :limit OFFSET :offset
"""

_BROWSE = f"""
SELECT {_HIT_COLUMNS}
FROM quizzes q LEFT JOIN users u ON u.id = q.owner_id
WHERE q.public {{where}}
ORDER BY q.updated_at DESC, q.id
LIMIT :limit OFFSET :offset
"""

# Transaction-local: UNION ALL tiers must run in order, one at a time, and a
# tier's pool must be the same rows for every page (a synchronised sequential
# scan would start wherever a concurrent one is).
_SESSION = """
SELECT set_config('max_parallel_workers_per_gather', '0', true),
       set_config('synchronize_seqscans', 'off', true)
"""

# Nearest lexicon words of the same first letter and a length within the typo budget,
# by trigram similarity; a btree on (first letter, length) keeps this to a small slice.
_CANDIDATES = f"""
SELECT t.tok, c.word
FROM unnest(CAST(:tokens AS text[]), CAST(:budgets AS int[])) AS t(tok, budget)
CROSS JOIN LATERAL (
    SELECT word FROM search_words
    WHERE left(word, 1) = left(t.tok, 1)
      AND length(word) BETWEEN length(t.tok) - t.budget AND length(t.tok) + t.budget
    ORDER BY similarity(word, t.tok) DESC, word
    LIMIT {TYPO_CANDIDATES}
) AS c
"""

_INDEX_WORDS = f"""
INSERT INTO search_words (word)
SELECT DISTINCT w
FROM quizzes, unnest(tsvector_to_array(search_vector)) AS w
WHERE id = :id AND public AND {_LEXICON_WORD}
ORDER BY w
ON CONFLICT DO NOTHING
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

# For a database where pg_trgm has become available since its migration.
_INSTALL_TRIGRAM = """
DO $do$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable: %', SQLERRM;
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
            async with self._database.connection() as conn:
                await conn.execute(sqlalchemy.text(_SESSION))
                hits, total = await self._search(conn, query)
        except (SQLAlchemyError, OSError) as exc:
            log.exception("search query failed")
            raise SearchUnavailable("the search database did not answer") from exc
        return SearchResultOut(hits=hits, total=total, query=query.q)

    async def _search(self, conn: Any, query: SearchQuery) -> tuple[list[SearchHitOut], int]:
        tokens = tokenize(query.q)
        where, params = _filters(query)
        need = min(query.offset + query.limit, MAX_HITS)
        params.update(limit=query.limit, offset=query.offset, need=need)
        if not tokens:
            rows = await _page(conn, query, _BROWSE.format(where=where), params)
            return rows, await _total(conn, where, params)

        params["exact"] = _tsqueries(tokens, {})[0]
        exact_match = f"AND q.search_vector @@ to_tsquery('simple', :exact) {where}"
        exact_count = await _count(conn, exact_match, params, max(COUNT_CAP, MAX_HITS))
        corrections: dict[str, list[str]] = {}
        if self.trigram and exact_count < MAX_HITS:
            # Typo matches rank after every match as typed: with MAX_HITS of those,
            # no typo match could ever be served, so they are not even looked up.
            corrections = await _corrections(conn, tokens)
        exact, loose = _tsqueries(tokens, corrections)
        params.update(loose=loose, loose_only=f"({loose}) & !({exact})")
        params["pool"] = MAX_HITS  # the same for every page, so pages are consistent
        page_sql = _ranked_page_sql(where, typo_tiers=bool(corrections))
        rows = await _page(conn, query, page_sql, params)
        if corrections:
            loose_match = f"AND q.search_vector @@ to_tsquery('simple', :loose) {where}"
            return rows, await _total(conn, loose_match, params)
        if exact_count <= COUNT_CAP:
            return rows, exact_count
        return rows, await _estimate(conn, exact_match, params, exact_count)


async def _page(
    conn: Any, query: SearchQuery, sql: str, params: dict[str, Any]
) -> list[SearchHitOut]:
    if query.offset >= params["need"]:
        return []  # beyond MAX_HITS
    return [_hit(row) for row in (await conn.execute(sqlalchemy.text(sql), params)).mappings()]


async def _corrections(conn: Any, tokens: list[str]) -> dict[str, list[str]]:
    """Lexicon words that are typos away from each query word (none for short words)."""
    typo_tokens = sorted({t for t in tokens if allowed_typos(t) > 0})
    if not typo_tokens:
        return {}
    last = tokens[-1]
    params = {"tokens": typo_tokens, "budgets": [allowed_typos(t) for t in typo_tokens]}
    pairs = (await conn.execute(sqlalchemy.text(_CANDIDATES), params)).all()
    found: dict[str, list[str]] = {}
    for token, word in pairs:
        if not _PLAIN_WORD.fullmatch(word):
            continue
        if is_typo_of(token, word, prefix=token == last):
            options = found.setdefault(token, [])
            if len(options) < MAX_CORRECTIONS:
                options.append(word)
    return found


async def _total(conn: Any, match: str, params: dict[str, Any]) -> int:
    """Exact up to `COUNT_CAP` matches; beyond, the planner's estimate (never below the cap).

    Counting every match of a common word means visiting tens of thousands of
    rows; like Meilisearch's `estimatedTotalHits`, a large total is estimated.
    """
    counted = await _count(conn, match, params, COUNT_CAP)
    if counted <= COUNT_CAP:
        return counted
    return await _estimate(conn, match, params, counted)


async def _count(conn: Any, match: str, params: dict[str, Any], cap: int) -> int:
    """The number of public quizzes matching, counted up to `cap + 1`."""
    sql = (
        f"SELECT count(*) FROM (SELECT 1 FROM quizzes q WHERE q.public {match} "
        f"LIMIT {int(cap) + 1}) AS capped"
    )
    return int(await conn.scalar(sqlalchemy.text(sql), params))


async def _estimate(conn: Any, match: str, params: dict[str, Any], at_least: int) -> int:
    explain = f"EXPLAIN (FORMAT JSON) SELECT 1 FROM quizzes q WHERE q.public {match}"
    plan = await conn.scalar(sqlalchemy.text(explain), params)
    if isinstance(plan, str | bytes):
        plan = orjson.loads(plan)
    return max(at_least, int(plan[0]["Plan"]["Plan Rows"]))


def _ranked_page_sql(where: str, *, typo_tiers: bool) -> str:
    """Hits `offset` to `offset + limit` of the tiered ranking (see the module docstring)."""
    exact, loose = "to_tsquery('simple', :exact)", "to_tsquery('simple', :loose)"
    loose_only = "to_tsquery('simple', :loose_only)"
    tiers = [
        ("title", f"{_TITLE} @@ {exact}"),
        ("body", f"q.search_vector @@ {exact} AND NOT {_TITLE} @@ {exact}"),
    ]
    if typo_tiers:
        tiers += [
            ("title", f"{_TITLE} @@ {loose} AND q.search_vector @@ {loose_only}"),
            ("body", f"q.search_vector @@ {loose_only} AND NOT {_TITLE} @@ {loose}"),
        ]
    branches = "\n    UNION ALL".join(
        _TIER.format(tier=n, kind=kind, rank=_RANKS[kind], condition=condition, where=where)
        for n, (kind, condition) in enumerate(tiers, start=1)
    )
    return _RANKED_PAGE.format(branches=branches)


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
