"""The embedded search backend: PostgreSQL full-text search, typo-tolerant without extensions.

Used when no Meilisearch is configured, so a single machine needs nothing but
its database. The data side (migrations 0002 and 0004):

- `quizzes.search_vector` is a generated tsvector (A title, B description and
  tags, C question texts), so the text index is current as soon as a save
  commits: `index()` has no document to write, and a private or deleted quiz
  is gone from results at once, because every query filters on `public`.
  A GIN index on the title's own tsvector serves the title tiers below.
- `search_words` is the lexicon of the words of public quizzes. `index()` adds
  a quiz's words; `reindex_all()` rebuilds it (dropping words of deleted
  quizzes). It exists for typos: every process keeps a copy in memory
  (`TypoLexicon`, classquiz/search/lexicon.py) and finds there, for each query
  word of 5+ letters, every lexicon word within Meilisearch's typo budget (1
  typo from 5 letters, 2 from 9, same first letter); those become
  alternatives of that word. No database extension is needed, so the embedded
  PostgreSQL of the zero-configuration start (no pg_trgm, no fuzzystrmatch)
  is as typo tolerant as any other. Migration 0006's versions keep the copies
  current: before a look-up, one tiny query reads the lexicon's version, and
  only words added since are fetched (all of them after a rebuild).

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

Until 0006 the candidates came from pg_trgm's `similarity()` (top 24 of a
first-letter/length slice) where the extension existed, and there was no typo
tolerance without it. The in-memory look-up replaced it everywhere: it is
exhaustive within the budget and was faster in bench/SEARCH_RESULTS.md.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy
from sqlalchemy.exc import SQLAlchemyError

from classquiz.contracts.search import SearchHitOut, SearchQuery, SearchResultOut
from classquiz.search.base import Progress, SearchUnavailable
from classquiz.search.lexicon import TypoLexicon
from classquiz.search.text import allowed_typos, tokenize, tsquery_lexeme

if TYPE_CHECKING:
    from ormar.databases.connection import DatabaseConnection

    from classquiz.db.models import Quiz

log = logging.getLogger(__name__)

# Alternatives kept per query word: bounds the size of the tsquery.
MAX_CORRECTIONS = 6
# Shortest last word matched as a prefix (`p:*` would match nearly everything).
MIN_PREFIX_CHARS = 2
REINDEX_BATCH = 2000
# Hits served per query, like Meilisearch's default `maxTotalHits`: deeper pages are empty.
MAX_HITS = 1000
# Totals are exact up to here, estimated beyond.
COUNT_CAP = 1000

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

# The lexicon's version: grows with every batch of words added, `generation` with every rebuild.
_LEXICON_STATE = "SELECT generation, version FROM search_lexicon"
_LEXICON_SINCE = "SELECT word FROM search_words WHERE version > :since"
_LEXICON_ALL = "SELECT word FROM search_words"

# The UPDATE comes first and holds the state row until commit: writers are serialised, so a
# reader that sees version V has every word of versions up to V (see migration 0006).
_INDEX_WORDS = f"""
WITH batch AS (UPDATE search_lexicon SET version = version + 1 RETURNING version)
INSERT INTO search_words (word, version)
SELECT DISTINCT w, (SELECT version FROM batch)
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
    INSERT INTO search_words (word, version)
    SELECT DISTINCT w, CAST(:version AS bigint)
    FROM batch, unnest(tsvector_to_array(batch.search_vector)) AS w
    WHERE {_LEXICON_WORD}
    ORDER BY w
    ON CONFLICT DO NOTHING
)
SELECT max(id) AS last_id, count(*) AS n FROM batch
"""

# Taken first in `reindex_all`'s transaction: index() calls wait for the rebuild, and every
# process reloads its copy once the new generation commits.
_NEW_GENERATION = """
UPDATE search_lexicon SET generation = generation + 1, version = version + 1
RETURNING version
"""


class PostgresSearchIndex:
    """`SearchIndex` over the application's own PostgreSQL database."""

    name = "postgres"

    def __init__(self, database: DatabaseConnection | None = None) -> None:
        if database is None:
            from classquiz.db.engine import database as shared

            database = shared
        self._database = database
        self.lexicon = TypoLexicon()
        # (generation, version) of the search_lexicon row the copy reflects; None: not loaded.
        self._lexicon_state: tuple[int, int] | None = None
        self._lexicon_lock = asyncio.Lock()

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Load the lexicon now, so the first search with a typo does not pay for it."""
        try:
            async with self._database.connection() as conn:
                await self.refresh_lexicon(conn)
        except (SQLAlchemyError, OSError):
            log.exception("could not load the search lexicon; will retry on first search")

    async def close(self) -> None:
        """Nothing of its own to release: it borrows the application's pool."""

    async def refresh_lexicon(self, conn: Any) -> TypoLexicon:
        """Bring the in-memory lexicon up to the database's version (cheap when current).

        Other processes add words (their saves) and rebuild the lexicon
        (`reindex`); one single-row read tells whether anything changed.
        """
        state = (await conn.execute(sqlalchemy.text(_LEXICON_STATE))).one()
        generation, version = int(state.generation), int(state.version)
        async with self._lexicon_lock:
            have = self._lexicon_state
            if have is not None and have[0] == generation and have[1] >= version:
                return self.lexicon
            if have is None or have[0] != generation:
                words = list((await conn.execute(sqlalchemy.text(_LEXICON_ALL))).scalars())
                fresh = TypoLexicon()
                await asyncio.to_thread(fresh.add, words)  # CPU work kept off the event loop
                self.lexicon = fresh
            else:
                since = {"since": have[1]}
                words = (await conn.execute(sqlalchemy.text(_LEXICON_SINCE), since)).scalars()
                self.lexicon.add(words)
            self._lexicon_state = (generation, version)
        return self.lexicon

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
        """Rebuild the lexicon as a new generation (every process then reloads its copy)."""
        async with self._database.connection() as conn:
            # One transaction: searches see the old lexicon until the new one is complete.
            total = int(
                await conn.scalar(sqlalchemy.text("SELECT count(*) FROM quizzes WHERE public")) or 0
            )
            if progress:
                progress(0, total)
            done, after = 0, ""
            version = int(await conn.scalar(sqlalchemy.text(_NEW_GENERATION)))
            await conn.execute(sqlalchemy.text("DELETE FROM search_words"))
            while True:
                params = {"after": after, "size": REINDEX_BATCH, "version": version}
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
        corrections: dict[int, list[str]] = {}
        if exact_count < MAX_HITS and any(allowed_typos(t) for t in tokens):
            # Typo matches rank after every match as typed: with MAX_HITS of those,
            # no typo match could ever be served, so they are not even looked up.
            corrections = _corrections(await self.refresh_lexicon(conn), tokens)
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


def _corrections(lexicon: TypoLexicon, tokens: list[str]) -> dict[int, list[str]]:
    """Spellings within each query word's typo budget (the last word's as prefixes), by position."""
    found: dict[int, list[str]] = {}
    for position, token in enumerate(tokens):
        prefix = position == len(tokens) - 1
        options = lexicon.corrections(token, prefix=prefix, limit=MAX_CORRECTIONS)
        if options:
            found[position] = options
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


def _tsqueries(tokens: list[str], corrections: dict[int, list[str]]) -> tuple[str, str]:
    """(exact, loose) tsquery texts: all words must match; the last one also as a prefix."""
    exact_terms: list[str] = []
    loose_terms: list[str] = []
    for position, token in enumerate(tokens):
        prefix = position == len(tokens) - 1 and len(token) >= MIN_PREFIX_CHARS
        exact_terms.append(tsquery_lexeme(token, prefix=prefix))
        options = [token, *corrections.get(position, [])]
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
