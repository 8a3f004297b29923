"""The Meilisearch backend, used when `MEILISEARCH_URL` is set.

One Meilisearch index (`quizzes` by default) holds one document per public
quiz; private quizzes are never sent, and a quiz that stops being public is
deleted from it. Meilisearch brings its own typo tolerance, prefix search and
ranking (words, typo, proximity, attribute, sort, exactness); the searchable
attributes are listed in order of importance, so a title match ranks above a
description match, as in the PostgreSQL backend.

Meilisearch applies writes asynchronously (it answers with a task); `index`
and `remove` do not wait for those tasks, only `reindex_all` does, because it
must know the new index is complete before swapping it in.

Verified only against recorded fixtures of Meilisearch's documented API
(tests/test_search_meili.py), not against a running Meilisearch.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx2
import orjson
import sqlalchemy
from meilisearch_python_sdk import AsyncClient
from meilisearch_python_sdk.errors import MeilisearchError
from meilisearch_python_sdk.models.settings import MeilisearchSettings, TypoTolerance

from classquiz.contracts.search import SearchHitOut, SearchQuery, SearchResultOut, tag_key
from classquiz.search.base import Progress, SearchUnavailable, question_texts

if TYPE_CHECKING:
    from ormar.databases.connection import DatabaseConnection

    from classquiz.db.models import Quiz

log = logging.getLogger(__name__)

REINDEX_BATCH = 1000
TASK_TIMEOUT_MS = 120_000
HIT_FIELDS = ["id", "title", "description", "question_count", "language", "tags", "author"]

# Searchable attributes in order of importance: Meilisearch's `attribute` rule uses it.
SETTINGS = MeilisearchSettings(
    searchable_attributes=["title", "description", "tags", "questions", "author"],
    filterable_attributes=["language", "tag_keys", "author"],
    sortable_attributes=["updated_at_ms", "created_at_ms", "question_count"],
    displayed_attributes=HIT_FIELDS,
    typo_tolerance=TypoTolerance(enabled=True),
)

_PUBLIC_BATCH = """
SELECT q.id, q.title, q.description, q.question_count, q.language,
       CAST(q.tags AS text) AS tags, CAST(q.questions AS text) AS questions,
       q.created_at, q.updated_at, u.username AS author
FROM quizzes q LEFT JOIN users u ON u.id = q.owner_id
WHERE q.public AND q.id > :after {since}
ORDER BY q.id
LIMIT :size
"""

MEILI_ERRORS: tuple[type[BaseException], ...] = (MeilisearchError, httpx2.HTTPError, OSError)


def quiz_document(
    *,
    quiz_id: uuid.UUID | str,
    title: str,
    description: str | None,
    tags: Sequence[str] | None,
    language: str | None,
    author: str | None,
    question_count: int | None,
    questions: Any,
    created_at: datetime | None,
    updated_at: datetime | None,
) -> dict[str, Any]:
    """The Meilisearch document of one public quiz.

    `tag_keys` (lowercased tags) is what the tag filter compares, so filtering
    is case-insensitive whatever Meilisearch's own rules for filter values are.
    Instants are epoch milliseconds, as everywhere on the wire, and sortable.
    """
    tag_list = [str(t) for t in (tags or [])]
    return {
        "id": str(quiz_id).strip(),
        "title": title,
        "description": description or "",
        "tags": tag_list,
        "tag_keys": [tag_key(t) for t in tag_list],
        "language": language,
        "author": author,
        "question_count": int(question_count or 0),
        "questions": question_texts(questions),
        "created_at_ms": _epoch_ms(created_at),
        "updated_at_ms": _epoch_ms(updated_at),
    }


def _epoch_ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


def filter_expression(query: SearchQuery) -> str | None:
    """The Meilisearch `filter` for a query: language and every tag, all required."""
    parts: list[str] = []
    if query.language:
        parts.append(f"language = {_quoted(query.language)}")
    parts.extend(f"tag_keys = {_quoted(key)}" for key in query.tag_keys)
    return " AND ".join(parts) or None


def _quoted(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def hit_from_document(doc: Mapping[str, Any]) -> SearchHitOut:
    return SearchHitOut(
        id=uuid.UUID(str(doc["id"])),
        title=str(doc.get("title") or ""),
        description=str(doc.get("description") or ""),
        question_count=int(doc.get("question_count") or 0),
        language=doc.get("language"),
        tags=[str(t) for t in doc.get("tags") or []],
        author=doc.get("author"),
    )


class MeiliSearchIndex:
    """`SearchIndex` on a Meilisearch server, through `meilisearch_python_sdk.AsyncClient`."""

    name = "meilisearch"

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        index_uid: str = "quizzes",
        timeout_s: int = 10,
        database: DatabaseConnection | None = None,
    ) -> None:
        self.client = AsyncClient(url, api_key, timeout=timeout_s)
        self.index_uid = index_uid
        self._database = database
        self._configured = False
        self._lock = asyncio.Lock()

    @property
    def db(self) -> DatabaseConnection:
        if self._database is None:
            from classquiz.db.engine import database

            self._database = database
        return self._database

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Create the index and apply its settings; if Meilisearch is down, try again later."""
        try:
            await self._ensure_configured()
        except MEILI_ERRORS as exc:
            log.warning("search: Meilisearch not ready at start (%s); will retry on use", exc)

    async def close(self) -> None:
        await self.client.aclose()

    async def _ensure_configured(self) -> None:
        """Idempotent, and retried by every write until it has succeeded once."""
        if not self._configured:
            async with self._lock:
                await self._configure_locked()

    async def _configure_locked(self) -> None:
        """Under `_lock`: the writer that held it before may have configured the index."""
        if self._configured:
            return
        index = await self.client.get_or_create_index(self.index_uid, primary_key="id")
        await index.update_settings(SETTINGS)
        self._configured = True
        log.info("search: Meilisearch index %r configured", self.index_uid)

    # ------------------------------------------------------------ writes

    async def index(self, quiz: Quiz) -> None:
        if not quiz.public:
            await self.remove(quiz.id)
            return
        from classquiz.db.models import User

        owner = await User.objects.get_or_none(id=quiz.owner.id)
        doc = quiz_document(
            quiz_id=quiz.id,
            title=quiz.title,
            description=quiz.description,
            tags=quiz.tags,
            language=quiz.language,
            author=owner.username if owner else None,
            question_count=quiz.question_count,
            questions=quiz.questions,
            created_at=quiz.created_at,
            updated_at=quiz.updated_at,
        )
        await self._ensure_configured()
        await self.client.index(self.index_uid).add_documents([doc], primary_key="id")

    async def remove(self, quiz_id: uuid.UUID) -> None:
        await self._ensure_configured()
        await self.client.index(self.index_uid).delete_document(str(quiz_id))

    # ------------------------------------------------------------ reads

    async def search(self, query: SearchQuery) -> SearchResultOut:
        try:
            # Filters need the settings: if Meilisearch was down at start, apply them now.
            await self._ensure_configured()
            result = await self.client.index(self.index_uid).search(
                query.q,
                offset=query.offset,
                limit=query.limit,
                filter=filter_expression(query),
                # No words: browse, newest change first (as the PostgreSQL backend does).
                sort=None if query.q else ["updated_at_ms:desc"],
                attributes_to_retrieve=HIT_FIELDS,
            )
        except MEILI_ERRORS as exc:
            log.warning("search: Meilisearch query failed: %s", exc)
            raise SearchUnavailable("the search engine did not answer") from exc
        total = result.estimated_total_hits
        if total is None:
            total = result.total_hits if result.total_hits is not None else len(result.hits)
        return SearchResultOut(
            hits=[hit_from_document(doc) for doc in result.hits], total=total, query=query.q
        )

    # ------------------------------------------------------------ rebuild

    async def reindex_all(self, progress: Progress | None = None) -> int:
        """Fill a fresh index, swap it in atomically, drop the old one.

        Searches keep answering from the old index until the swap. Quizzes
        saved while the rebuild ran are re-sent after the swap, so they are
        not lost (a quiz deleted during the rebuild may linger until its next
        change or the next rebuild).
        """
        started = await self._db_now()
        staging = f"{self.index_uid}_reindex"
        await self.client.delete_index_if_exists(staging)  # left over by an interrupted run
        await self.client.create_index(
            staging, primary_key="id", settings=SETTINGS, timeout_in_ms=TASK_TIMEOUT_MS
        )
        async with self.db.connection() as conn:
            total = int(
                await conn.scalar(sqlalchemy.text("SELECT count(*) FROM quizzes WHERE public")) or 0
            )
        if progress:
            progress(0, total)
        done = 0
        tasks: list[int] = []
        async for docs in self._public_documents():
            task = await self.client.index(staging).add_documents(docs, primary_key="id")
            tasks.append(task.task_uid)
            done += len(docs)
            if progress:
                progress(min(done, total), max(total, done))
        for task_uid in tasks:
            await self._wait_uid(task_uid)
        await self.client.get_or_create_index(self.index_uid, primary_key="id")
        await self._wait(await self.client.swap_indexes([(self.index_uid, staging)]))
        await self.client.index(staging).delete()  # now holds the old documents
        self._configured = True
        async for docs in self._public_documents(since=started):
            await self.client.index(self.index_uid).add_documents(docs, primary_key="id")
        return done

    async def _public_documents(
        self, since: datetime | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Documents of public quizzes in id order, a batch at a time (bounded memory)."""
        after = ""
        sql = _PUBLIC_BATCH.format(since="AND q.updated_at >= :since" if since else "")
        while True:
            params: dict[str, Any] = {"after": after, "size": REINDEX_BATCH}
            if since:
                params["since"] = since
            async with self.db.connection() as conn:
                rows = (await conn.execute(sqlalchemy.text(sql), params)).mappings().all()
            if not rows:
                return
            after = rows[-1]["id"]
            yield [
                quiz_document(
                    quiz_id=row["id"],
                    title=row["title"],
                    description=row["description"],
                    tags=orjson.loads(row["tags"]) if row["tags"] else [],
                    language=row["language"],
                    author=row["author"],
                    question_count=row["question_count"],
                    questions=orjson.loads(row["questions"]) if row["questions"] else [],
                    created_at=row["created_at"],
                    updated_at=row["updated_at"],
                )
                for row in rows
            ]

    async def _db_now(self) -> datetime:
        async with self.db.connection() as conn:
            now: datetime = await conn.scalar(sqlalchemy.text("SELECT now()"))
            return now

    async def _wait(self, task: Any) -> None:
        await self._wait_uid(task.task_uid)

    async def _wait_uid(self, task_uid: int) -> None:
        await self.client.wait_for_task(
            task_uid, timeout_in_ms=TASK_TIMEOUT_MS, raise_for_status=True
        )
