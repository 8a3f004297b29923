"""SearchIndexer: after-commit syncing with retries, and never a failed save because of search."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from classquiz.contracts.search import SearchQuery, SearchResultOut
from classquiz.db.models import Quiz
from classquiz.runtime import SERVICES, Services
from classquiz.search.listener import SearchIndexer
from classquiz.search.text import allowed_typos, edit_distance, is_typo_of, tokenize
from tests.support.quizzes import sample_quiz
from tests.support.users import ApiUser, register_user


class RecordingIndex:
    """A SearchIndex that records calls and fails the first `failures` of them."""

    name = "recording"

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[tuple[str, uuid.UUID]] = []

    async def _call(self, kind: str, quiz_id: uuid.UUID) -> None:
        self.calls.append((kind, quiz_id))
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("search engine down")

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def index(self, quiz: Quiz) -> None:
        await self._call("index", quiz.id)

    async def remove(self, quiz_id: uuid.UUID) -> None:
        await self._call("remove", quiz_id)

    async def search(self, query: SearchQuery) -> SearchResultOut:
        return SearchResultOut(hits=[], total=0, query=query.q)

    async def reindex_all(self, progress: Any = None) -> int:
        return 0


@pytest.fixture(scope="module")
async def author(base_url: str) -> AsyncIterator[ApiUser]:
    async with ClientSession(base_url) as http:
        yield await register_user(http)


async def make_quiz(user: ApiUser, **overrides: Any) -> Quiz:
    status, out = await user.request("POST", "/api/v1/quizzes", json=sample_quiz(**overrides))
    assert status == 201, out
    return await Quiz.objects.get(id=out["id"])


async def test_a_failure_is_retried_with_backoff(server: TestServer) -> None:
    index = RecordingIndex(failures=2)
    indexer = SearchIndexer(index, base_delay_s=0.01, max_delay_s=0.05)
    indexer.start()
    gone = uuid.uuid4()  # not in the database: synced as a removal
    await indexer.quiz_deleted(gone)
    await indexer.drain()
    assert index.calls == [("remove", gone)] * 3
    await indexer.close()


async def test_it_gives_up_after_max_attempts_and_says_so(
    server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    index = RecordingIndex(failures=100)
    indexer = SearchIndexer(index, max_attempts=3, base_delay_s=0.01, max_delay_s=0.02)
    indexer.start()
    with caplog.at_level(logging.WARNING, logger="classquiz.search.listener"):
        await indexer.quiz_deleted(uuid.uuid4())
        await indexer.drain()
    assert len(index.calls) == 3
    assert any("gave up" in r.getMessage() and "reindex" in r.getMessage() for r in caplog.records)
    await indexer.close()


async def test_the_latest_committed_state_wins(server: TestServer, author: ApiUser) -> None:
    """Saved public, then made private before the sync ran: only a removal is sent."""
    index = RecordingIndex()
    indexer = SearchIndexer(index)
    quiz = await make_quiz(author, public=True)
    await indexer.quiz_saved(quiz)
    await indexer.quiz_saved(quiz)  # noted twice while queued: synced once
    await Quiz.objects.filter(id=quiz.id).update(public=False)
    indexer.start()
    await indexer.drain()
    assert index.calls == [("remove", quiz.id)]
    await Quiz.objects.filter(id=quiz.id).update(public=True)
    await indexer.quiz_saved(quiz)
    await indexer.drain()
    assert index.calls[-1] == ("index", quiz.id)
    await indexer.close()


async def test_a_full_queue_drops_instead_of_blocking(caplog: pytest.LogCaptureFixture) -> None:
    indexer = SearchIndexer(RecordingIndex(), max_pending=1)
    with caplog.at_level(logging.WARNING, logger="classquiz.search.listener"):
        await indexer.quiz_deleted(uuid.uuid4())
        await indexer.quiz_deleted(uuid.uuid4())  # no worker running: the queue is full
    assert any("queue full" in r.getMessage() for r in caplog.records)


async def test_saves_succeed_while_search_is_down(server: TestServer, author: ApiUser) -> None:
    services: Services = server.app[SERVICES]
    indexer = services.search_indexer
    assert indexer is not None
    original = indexer.index
    broken = RecordingIndex(failures=1_000)
    saved = (indexer.base_delay_s, indexer.max_attempts)
    indexer.index, indexer.base_delay_s, indexer.max_attempts = broken, 0.01, 2
    try:
        body = sample_quiz(public=True)
        status, out = await author.request("POST", "/api/v1/quizzes", json=body)
        assert status == 201
        status, _ = await author.request("PUT", f"/api/v1/quizzes/{out['id']}", json=body)
        assert status == 200
        status, _ = await author.request("DELETE", f"/api/v1/quizzes/{out['id']}")
        assert status == 204
        await indexer.drain()
        assert broken.calls  # it was tried, and failed, out of the request's way
    finally:
        indexer.index = original
        indexer.base_delay_s, indexer.max_attempts = saved


# ---------------------------------------------------------------- pure text rules


def test_tokenize_keeps_words_and_drops_syntax() -> None:
    assert tokenize("  Pythön & C++ 'loops':* | !x_y ") == ["pythön", "c", "loops", "x", "y"]
    assert tokenize("&|!:*") == []
    assert len(tokenize(" ".join(["w"] * 50))) == 8


def test_typo_budget_matches_meilisearch_defaults() -> None:
    assert [allowed_typos(w) for w in ("four", "fives", "eightchr", "ninechars")] == [0, 1, 1, 2]
    assert allowed_typos("123456789") == 0


def test_edit_distance_counts_a_swap_as_one() -> None:
    assert edit_distance("python", "pyhton", 2) == 1
    assert edit_distance("python", "pythn", 2) == 1
    assert edit_distance("python", "jython", 2) == 1
    assert edit_distance("python", "pxthxn", 2) == 2
    assert edit_distance("python", "java", 2) == 3  # capped at limit + 1


def test_is_typo_of() -> None:
    assert is_typo_of("pythn", "python", prefix=False)
    assert not is_typo_of("pythn", "pythonic", prefix=False)
    assert is_typo_of("pythn", "pythonic", prefix=True)  # still typing the last word
    assert not is_typo_of("lops", "loops", prefix=False)  # 4 letters: no typo allowed
    assert not is_typo_of("python", "python", prefix=False)  # the same word is not a typo


def test_first_letter_typos_are_not_corrected() -> None:
    assert not is_typo_of("bython", "python", prefix=False)
    assert not is_typo_of("ython", "python", prefix=True)
