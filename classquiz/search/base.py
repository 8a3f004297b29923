"""The one small interface every search backend implements.

The quiz service, the REST endpoint and the `reindex` command only ever see
`SearchIndex`; which engine answers (Meilisearch or the embedded PostgreSQL
one) is decided once, in `classquiz.search.factory`. Both backends return the
same `SearchResultOut` (classquiz.contracts.search), so clients cannot tell them
apart except by quality.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from classquiz.contracts.search import SearchQuery, SearchResultOut

if TYPE_CHECKING:
    from classquiz.db.models import Quiz

# Called by `reindex_all` as work advances: (documents done, documents in total).
Progress = Callable[[int, int], None]


class SearchUnavailable(Exception):
    """The search engine could not answer (down, misconfigured); the endpoint says 503."""


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
