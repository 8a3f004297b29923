"""The Meilisearch backend at the HTTP level, against a fake Meilisearch.

No Meilisearch runs on the machine these tests were written on, so a small
aiohttp server on a real local port stands in for it: it answers with the
documented response bodies in tests/fixtures/meilisearch/ and records every
request, and the tests check what the backend sends (index creation, settings,
documents added and deleted, search bodies with filters, offset and limit) and
how it maps the answers. This verifies our side of the protocol, not
Meilisearch's ranking or typo tolerance.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from classquiz.contracts.search import SearchQuery
from classquiz.db.engine import database
from classquiz.db.models import Quiz
from classquiz.runtime import SERVICES, Services
from classquiz.search.base import SearchUnavailable
from classquiz.search.meili import HIT_FIELDS, MeiliSearchIndex, filter_expression
from tests.support.quizzes import sample_quiz
from tests.support.users import ApiUser, register_user

FIXTURES = Path(__file__).parent / "fixtures" / "meilisearch"
API_KEY = "test-master-key"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


class FakeMeilisearch:
    """Just enough of Meilisearch's HTTP API for the backend, answering with fixtures."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.indexes: dict[str, dict[str, dict[str, Any]]] = {}
        self.tasks: dict[int, dict[str, Any]] = {}
        self.search_status = 200
        self.search_fixture = "search_response"
        app = web.Application()
        app.router.add_get("/indexes/{uid}", self.get_index)
        app.router.add_post("/indexes", self.create_index)
        app.router.add_delete("/indexes/{uid}", self.delete_index)
        app.router.add_patch("/indexes/{uid}/settings", self.update_settings)
        app.router.add_post("/indexes/{uid}/documents", self.add_documents)
        app.router.add_delete("/indexes/{uid}/documents/{doc}", self.delete_document)
        app.router.add_post("/indexes/{uid}/search", self.search)
        app.router.add_post("/swap-indexes", self.swap_indexes)
        app.router.add_get("/tasks/{task}", self.get_task)
        self.app = app

    async def _record(self, request: web.Request) -> Any:
        body = await request.json() if request.can_read_body else None
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "body": body,
                "authorization": request.headers.get("Authorization"),
            }
        )
        return body

    def _enqueue(self, uid: str | None, kind: str, failed: bool = False) -> web.Response:
        task_uid = len(self.tasks)
        summary = fixture("task_enqueued")
        summary.update(taskUid=task_uid, indexUid=uid, type=kind)
        if failed:
            result = fixture("task_failed_index_not_found")
            result["error"]["message"] = f"Index `{uid}` not found."
        else:
            result = fixture("task_succeeded")
        result.update(uid=task_uid, batchUid=task_uid, indexUid=uid, type=kind)
        self.tasks[task_uid] = result
        return web.json_response(summary, status=202)

    async def get_index(self, request: web.Request) -> web.Response:
        await self._record(request)
        uid = request.match_info["uid"]
        if uid not in self.indexes:
            body = fixture("index_not_found")
            body["message"] = f"Index `{uid}` not found."
            return web.json_response(body, status=404)
        return web.json_response({**fixture("get_index"), "uid": uid})

    async def create_index(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        self.indexes.setdefault(body["uid"], {})
        return self._enqueue(body["uid"], "indexCreation")

    async def delete_index(self, request: web.Request) -> web.Response:
        await self._record(request)
        uid = request.match_info["uid"]
        existed = self.indexes.pop(uid, None) is not None
        return self._enqueue(uid, "indexDeletion", failed=not existed)

    async def update_settings(self, request: web.Request) -> web.Response:
        await self._record(request)
        self.indexes.setdefault(request.match_info["uid"], {})
        return self._enqueue(request.match_info["uid"], "settingsUpdate")

    async def add_documents(self, request: web.Request) -> web.Response:
        docs = await self._record(request)
        store = self.indexes.setdefault(request.match_info["uid"], {})
        for doc in docs:
            store[doc["id"]] = doc
        return self._enqueue(request.match_info["uid"], "documentAdditionOrUpdate")

    async def delete_document(self, request: web.Request) -> web.Response:
        await self._record(request)
        self.indexes.get(request.match_info["uid"], {}).pop(request.match_info["doc"], None)
        return self._enqueue(request.match_info["uid"], "documentDeletion")

    async def search(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response(fixture(self.search_fixture), status=self.search_status)

    async def swap_indexes(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        for swap in body:
            a, b = swap["indexes"]
            self.indexes[a], self.indexes[b] = self.indexes[b], self.indexes[a]
        return self._enqueue(None, "indexSwap")

    async def get_task(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response(self.tasks[int(request.match_info["task"])])

    def sent(self, method: str, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == method and r["path"] == path]


@pytest.fixture
async def meili() -> AsyncIterator[FakeMeilisearch]:
    fake = FakeMeilisearch()
    server = TestServer(fake.app, host="127.0.0.1")
    await server.start_server()
    fake.url = str(server.make_url("")).rstrip("/")  # type: ignore[attr-defined]
    yield fake
    await server.close()


@pytest.fixture
async def backend(meili: FakeMeilisearch, server: TestServer) -> AsyncIterator[MeiliSearchIndex]:
    """The backend pointed at the fake; `server` makes sure the test database is connected."""
    index = MeiliSearchIndex(meili.url, API_KEY)  # type: ignore[attr-defined]
    yield index
    await index.close()


@pytest.fixture(scope="module")
async def author(base_url: str) -> AsyncIterator[ApiUser]:
    async with ClientSession(base_url) as http:
        yield await register_user(http)


async def make_quiz(user: ApiUser, **overrides: Any) -> Quiz:
    status, out = await user.request("POST", "/api/v1/quizzes", json=sample_quiz(**overrides))
    assert status == 201, out
    return await Quiz.objects.get(id=out["id"])


# ---------------------------------------------------------------- start and settings


async def test_start_creates_the_index_and_configures_it(
    backend: MeiliSearchIndex, meili: FakeMeilisearch
) -> None:
    await backend.start()
    assert [(r["method"], r["path"]) for r in meili.requests] == [
        ("GET", "/indexes/quizzes"),  # 404: not there yet
        ("POST", "/indexes"),
        ("GET", "/tasks/0"),
        ("GET", "/indexes/quizzes"),
        ("PATCH", "/indexes/quizzes/settings"),
    ]
    assert all(r["authorization"] == f"Bearer {API_KEY}" for r in meili.requests)
    assert meili.requests[1]["body"] == {"uid": "quizzes", "primaryKey": "id"}
    settings = meili.requests[-1]["body"]
    assert settings["searchableAttributes"] == [
        "title",
        "description",
        "tags",
        "questions",
        "author",
    ]
    assert settings["filterableAttributes"] == ["language", "tag_keys", "author"]
    assert settings["sortableAttributes"] == ["updated_at_ms", "created_at_ms", "question_count"]
    assert settings["displayedAttributes"] == HIT_FIELDS
    assert settings["typoTolerance"]["enabled"] is True

    await backend.start()  # configured once per process
    assert len(meili.requests) == 5


async def test_start_survives_a_meilisearch_that_is_down(server: TestServer) -> None:
    index = MeiliSearchIndex("http://127.0.0.1:9", API_KEY, timeout_s=2)
    try:
        await index.start()  # logs, does not raise: the app still starts
        with pytest.raises(Exception):  # noqa: B017 - any failure; the indexer retries it
            await index.remove(uuid.uuid4())
        with pytest.raises(SearchUnavailable):
            await index.search(SearchQuery(q="python"))
    finally:
        await index.close()


# ---------------------------------------------------------------- documents


async def test_a_public_quiz_is_sent_as_one_document(
    backend: MeiliSearchIndex, meili: FakeMeilisearch, author: ApiUser
) -> None:
    quiz = await make_quiz(author, title="Python loops", public=True, tags=["Code", "Maths"])
    await backend.index(quiz)
    [added] = meili.sent("POST", "/indexes/quizzes/documents")
    assert added["query"] == {"primaryKey": "id"}
    [doc] = added["body"]
    assert doc == {
        "id": str(quiz.id),
        "title": "Python loops",
        "description": "Every question type once",
        "tags": ["Code", "Maths"],
        "tag_keys": ["code", "maths"],
        "language": "en",
        "author": author.username,
        "question_count": 7,
        "questions": [q["text"] for q in sample_quiz()["questions"]],
        "created_at_ms": int(quiz.created_at.timestamp() * 1000),
        "updated_at_ms": int(quiz.updated_at.timestamp() * 1000),
    }
    assert meili.indexes["quizzes"][str(quiz.id)] == doc


async def test_a_private_quiz_is_deleted_not_sent(
    backend: MeiliSearchIndex, meili: FakeMeilisearch, author: ApiUser
) -> None:
    quiz = await make_quiz(author, public=False)
    await backend.index(quiz)
    assert meili.sent("POST", "/indexes/quizzes/documents") == []
    assert len(meili.sent("DELETE", f"/indexes/quizzes/documents/{quiz.id}")) == 1

    other = uuid.uuid4()
    await backend.remove(other)
    assert len(meili.sent("DELETE", f"/indexes/quizzes/documents/{other}")) == 1


# ---------------------------------------------------------------- search


async def test_search_request_and_response_mapping(
    backend: MeiliSearchIndex, meili: FakeMeilisearch
) -> None:
    query = SearchQuery(q="pythn", limit=5, offset=10, language="en", tags=["Code", "MATHS"])
    result = await backend.search(query)
    [sent] = meili.sent("POST", "/indexes/quizzes/search")
    body = sent["body"]
    assert body["q"] == "pythn"
    assert (body["offset"], body["limit"]) == (10, 5)
    assert body["filter"] == 'language = "en" AND tag_keys = "code" AND tag_keys = "maths"'
    assert body["attributesToRetrieve"] == HIT_FIELDS
    assert body["sort"] is None  # relevance decides when there are words

    recorded = fixture("search_response")
    assert result.total == recorded["estimatedTotalHits"] == 12
    assert result.query == "pythn"
    assert [h.model_dump(mode="json") for h in result.hits] == recorded["hits"]


async def test_browsing_without_words_sorts_by_last_change(
    backend: MeiliSearchIndex, meili: FakeMeilisearch
) -> None:
    await backend.search(SearchQuery())
    [sent] = meili.sent("POST", "/indexes/quizzes/search")
    assert sent["body"]["q"] == ""
    assert sent["body"]["filter"] is None
    assert sent["body"]["sort"] == ["updated_at_ms:desc"]
    assert (sent["body"]["offset"], sent["body"]["limit"]) == (0, 20)


def test_filter_values_are_quoted_and_escaped() -> None:
    query = SearchQuery(language="en-GB", tags=['say "hi"', "back\\slash"])
    assert filter_expression(query) == (
        'language = "en-GB" AND tag_keys = "say \\"hi\\"" AND tag_keys = "back\\\\slash"'
    )
    assert filter_expression(SearchQuery(q="x")) is None


async def test_a_meilisearch_error_becomes_search_unavailable(
    backend: MeiliSearchIndex, meili: FakeMeilisearch
) -> None:
    meili.search_status, meili.search_fixture = 400, "invalid_search_filter"
    with pytest.raises(SearchUnavailable):
        await backend.search(SearchQuery(q="x", tags=["code"]))


# ---------------------------------------------------------------- rebuild


async def test_reindex_fills_a_fresh_index_and_swaps_it_in(
    backend: MeiliSearchIndex, meili: FakeMeilisearch, author: ApiUser
) -> None:
    await make_quiz(author, title="Reindexed public", public=True)
    private = await make_quiz(author, title="Reindexed private", public=False)
    calls: list[tuple[int, int]] = []

    count = await backend.reindex_all(lambda done, total: calls.append((done, total)))

    async with database.connection() as conn:
        rows = await conn.execute(sqlalchemy.text("SELECT id FROM quizzes WHERE public"))
        public_ids = {row[0].strip() for row in rows}
    assert count == len(public_ids)
    assert calls[0] == (0, count) and calls[-1] == (count, count)
    paths = [(r["method"], r["path"]) for r in meili.requests if r["path"].startswith("/index")]
    assert paths[:5] == [
        ("DELETE", "/indexes/quizzes_reindex"),  # leftover of an interrupted run, if any
        ("POST", "/indexes"),
        ("GET", "/indexes/quizzes_reindex"),
        ("PATCH", "/indexes/quizzes_reindex/settings"),
        ("POST", "/indexes/quizzes_reindex/documents"),
    ]
    assert meili.sent("POST", "/swap-indexes")[0]["body"] == [
        {"indexes": ["quizzes", "quizzes_reindex"]}
    ]
    assert paths[-1] == ("DELETE", "/indexes/quizzes_reindex")
    # After the swap the live index holds exactly the public quizzes.
    assert set(meili.indexes["quizzes"]) == public_ids
    assert str(private.id) not in meili.indexes["quizzes"]
    assert "quizzes_reindex" not in meili.indexes


# ---------------------------------------------------------------- through the app


async def test_the_app_with_meilisearch_end_to_end(
    server: TestServer, meili: FakeMeilisearch, http: ClientSession, author: ApiUser
) -> None:
    """Quiz saves reach Meilisearch after the commit; GET /search answers from it."""
    services: Services = server.app[SERVICES]
    assert services.search is not None and services.search_indexer is not None
    original = services.search
    meili_index = MeiliSearchIndex(meili.url, API_KEY)  # type: ignore[attr-defined]
    services.search = services.search_indexer.index = meili_index
    try:
        body = sample_quiz(title="Through the app", public=True)
        status, out = await author.request("POST", "/api/v1/quizzes", json=body)
        assert status == 201
        await services.search_indexer.drain()
        assert out["id"] in meili.indexes["quizzes"]

        status, _ = await author.request(
            "PUT", f"/api/v1/quizzes/{out['id']}", json={**body, "public": False}
        )
        assert status == 200
        await services.search_indexer.drain()
        assert out["id"] not in meili.indexes["quizzes"]

        async with http.get("/api/v1/search", params=[("q", "pythn"), ("tags", "a,b")]) as resp:
            assert resp.status == 200
            answer = await resp.json()
        expected = copy.deepcopy(fixture("search_response"))
        assert answer == {"hits": expected["hits"], "total": 12, "query": "pythn"}
        assert meili.sent("POST", "/indexes/quizzes/search")[-1]["body"]["filter"] == (
            'tag_keys = "a" AND tag_keys = "b"'
        )

        meili.search_status, meili.search_fixture = 400, "invalid_search_filter"
        async with http.get("/api/v1/search", params={"q": "x"}) as resp:
            assert resp.status == 503
            assert (await resp.json())["error"]["code"] == "search_unavailable"
    finally:
        services.search = services.search_indexer.index = original
        await meili_index.close()
