"""The one small interface every search backend implements, and its data shapes.

The quiz service, the REST endpoint and the `reindex` command only ever see
`SearchIndex`; which engine answers (Meilisearch or the embedded PostgreSQL
one) is decided once, in `classquiz.search.factory`. Both backends return the
same `SearchResultOut`, so clients cannot tell them apart except by quality.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field, field_validator

if TYPE_CHECKING:
    from classquiz.db.models import Quiz

# Called by `reindex_all` as work advances: (documents done, documents in total).
Progress = Callable[[int, int], None]

MAX_QUERY_CHARS = 200
MAX_FILTER_TAGS = 10
_SPACES = re.compile(r"\s+")


class SearchUnavailable(Exception):
    """The search engine could not answer (down, misconfigured); the endpoint says 503."""


class SearchQuery(BaseModel):
    """`GET /api/v1/search` parameters (SPEC §3); unknown parameters are ignored.

    `tags` narrows: a hit carries every tag listed (compared case-insensitively,
    as tags are unique case-insensitively per quiz).
    """

    q: str = Field(default="", max_length=MAX_QUERY_CHARS)
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=10_000)
    language: str | None = Field(default=None, max_length=16)
    tags: list[str] = Field(default_factory=list, max_length=MAX_FILTER_TAGS)

    @field_validator("q")
    @classmethod
    def _collapse(cls, value: str) -> str:
        return _SPACES.sub(" ", value).strip()

    @field_validator("language")
    @classmethod
    def _blank_language(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip() or None

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, tags: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for tag in tags:
            clean = tag.strip()
            if clean:
                seen.setdefault(clean.casefold(), clean)
        return list(seen.values())

    @property
    def tag_keys(self) -> list[str]:
        """The tags as both backends compare them."""
        return [tag_key(tag) for tag in self.tags]


class SearchHitOut(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    question_count: int
    language: str | None
    tags: list[str]
    author: str | None


class SearchResultOut(BaseModel):
    hits: list[SearchHitOut]
    total: int
    query: str


def tag_key(tag: str) -> str:
    """The case-insensitive form of a tag (`lower`, which PostgreSQL applies the same way)."""
    return tag.strip().lower()


@runtime_checkable
class SearchIndex(Protocol):
    """A search index of the public quizzes.

    `index` and `remove` are called after the database commit (by
    `classquiz.search.listener.SearchIndexer`, which retries them), so they may
    raise: a failure there never reaches a quiz save. `index` is also given
    private quizzes, which it must remove, so a quiz made private disappears.
    """

    name: str

    async def start(self) -> None:
        """Prepare the engine (settings, capabilities); must not fail the app's start."""

    async def close(self) -> None:
        """Release connections."""

    async def index(self, quiz: Quiz) -> None:
        """Add or refresh one quiz (remove it when it is not public)."""

    async def remove(self, quiz_id: uuid.UUID) -> None:
        """Forget one quiz; forgetting an unknown one is fine."""

    async def search(self, query: SearchQuery) -> SearchResultOut:
        """Public quizzes matching `query`, best first; raises `SearchUnavailable`."""
        ...

    async def reindex_all(self, progress: Progress | None = None) -> int:
        """Rebuild the whole index from the database; returns the number of public quizzes."""
        ...


def question_texts(questions: Any) -> list[str]:
    """The `text` of every question of a quiz's JSON `questions` column."""
    if not isinstance(questions, list):
        return []
    return [
        str(q["text"]) for q in questions if isinstance(q, dict) and isinstance(q.get("text"), str)
    ]
