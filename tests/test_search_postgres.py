"""The embedded PostgreSQL search backend, against the real per-run database.

Other tests of the run create public quizzes too, so every quiz here carries a
tag made for this module (`TAG`) and every query filters on it, unless the
point is that an unfiltered query must not find something.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import string
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg2
import pytest
import sqlalchemy
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from ormar.databases.connection import DatabaseConnection

from classquiz.config import to_driver_url
from classquiz.contracts.search import SearchQuery
from classquiz.db.migrate import upgrade_database
from classquiz.runtime import SERVICES, Services
from classquiz.search.postgres import PostgresSearchIndex
from tests.support.apps import admin_url
from tests.support.quizzes import sample_quiz
from tests.support.users import ApiUser, register_user

TAG = "srch" + uuid.uuid4().hex[:8]


def word(n: int = 9) -> str:
    """A made-up word no other test uses (letters only, so typo rules apply)."""
    return "".join(random.choices(string.ascii_lowercase, k=n))


def quiz(title: str, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"title": title, "public": True, "tags": [TAG], "description": ""}
    values.update(overrides)
    return sample_quiz(**values)


async def create(user: ApiUser, body: dict[str, Any]) -> str:
    status, out = await user.request("POST", "/api/v1/quizzes", json=body)
    assert status == 201, out
    return str(out["id"])


async def search(http: ClientSession, **params: Any) -> dict[str, Any]:
    query: list[tuple[str, str]] = []
    for key, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            query.append((key, str(item)))
    async with http.get("/api/v1/search", params=query) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


def ids(result: dict[str, Any]) -> list[str]:
    return [hit["id"] for hit in result["hits"]]


def app_services(server: TestServer) -> Services:
    return server.app[SERVICES]


@pytest.fixture(scope="module")
async def user(base_url: str) -> AsyncIterator[ApiUser]:
    """One author for the whole module (registering costs a password hash)."""
    async with ClientSession(base_url) as http:
        yield await register_user(http)


@pytest.fixture
async def synced(server: TestServer) -> AsyncIterator[Any]:
    """Call it to wait until the search indexer has applied every change so far."""

    async def wait() -> None:
        indexer = app_services(server).search_indexer
        assert indexer is not None
        await indexer.drain()

    yield wait


def one_swap(text: str, at: int) -> str:
    """`text` with the letters at `at` and `at + 1` swapped (one typo)."""
    return text[:at] + text[at + 1] + text[at] + text[at + 2 :]


def swappable_word(n: int = 10) -> str:
    """A made-up word whose letters 3 and 4 differ, so swapping them is a real typo."""
    while True:
        made = word(n)
        if made[3] != made[4]:
            return made


async def test_backend_is_postgres(server: TestServer) -> None:
    assert isinstance(app_services(server).search, PostgresSearchIndex)


async def test_new_words_reach_every_process(
    server: TestServer, user: ApiUser, synced: Any
) -> None:
    """Another process's copy of the lexicon learns a new quiz's words, and forgets deleted ones.

    `other` is what a second server process holds: its own in-memory lexicon,
    loaded before the quiz existed, over the same database.
    """
    from classquiz.db.engine import database

    other = PostgresSearchIndex(database)
    await other.start()
    unique = swappable_word()
    quiz_id = await create(user, quiz(f"{unique} kaleidoscope"))
    await synced()  # this process's indexer added the words (and bumped the version)
    typo = one_swap(unique, 3)
    found = await other.search(SearchQuery(q=typo, tags=[TAG]))
    assert [str(h.id) for h in found.hits] == [quiz_id]
    assert unique in other.lexicon

    status, _ = await user.request("DELETE", f"/api/v1/quizzes/{quiz_id}")
    assert status == 204
    own = app_services(server).search
    assert isinstance(own, PostgresSearchIndex)
    await own.reindex_all()  # a new generation: every copy reloads whole
    assert (await other.search(SearchQuery(q=typo, tags=[TAG]))).total == 0
    assert unique not in other.lexicon


async def test_response_shape(http: ClientSession, user: ApiUser, synced: Any) -> None:
    unique = word()
    quiz_id = await create(
        user, quiz(f"{unique} shape", description="about shapes", language="de", tags=[TAG, "X"])
    )
    result = await search(http, q=unique, tags=TAG)
    assert result["total"] == 1
    assert result["query"] == unique
    assert result["hits"] == [
        {
            "id": quiz_id,
            "title": f"{unique} shape",
            "description": "about shapes",
            "question_count": len(sample_quiz()["questions"]),
            "language": "de",
            "tags": [TAG, "X"],
            "author": user.username,
        }
    ]


async def test_title_match_ranks_above_description_and_questions(
    http: ClientSession, user: ApiUser
) -> None:
    unique = word()
    questions = sample_quiz()["questions"]
    in_question = [{**questions[0], "text": f"What is {unique}?"}, *questions[1:]]
    q_id = await create(user, quiz("Question match", questions=in_question))
    d_id = await create(
        user, quiz("Description match", description=f"{unique} {unique} and more {unique}")
    )
    t_id = await create(user, quiz(f"All about {unique}"))
    result = await search(http, q=unique, tags=TAG)
    assert ids(result) == [t_id, d_id, q_id]
    assert result["total"] == 3


async def test_typos_are_tolerated(http: ClientSession, user: ApiUser, synced: Any) -> None:
    unique = word()
    python_id = await create(user, quiz(f"Python loops {unique}"))
    await synced()
    typos = ("pythn", "pyhton", "pytohn", "pythan", "pythoon", "PYTHN", "loosp", "pyhto")
    for typo in (*typos, f"pythn loops {unique}", f"pythn loosp {unique}", f"{unique} loosp"):
        result = await search(http, q=typo, tags=TAG)
        assert python_id in ids(result), typo
    # Meilisearch's budget: no typo below 5 letters, one below 9.
    assert python_id not in ids(await search(http, q="lops", tags=TAG))
    assert python_id not in ids(await search(http, q="pxthxn", tags=TAG))


async def test_exact_spelling_ranks_above_a_typo_match(
    http: ClientSession, user: ApiUser, synced: Any
) -> None:
    unique = word()
    near = await create(user, quiz(f"{unique} planet"))  # "planet" is one typo from "planes"
    exact = await create(user, quiz(f"{unique} planes"))
    await synced()
    assert ids(await search(http, q=f"{unique} planes", tags=TAG)) == [exact, near]


async def test_prefixes_of_the_last_word(http: ClientSession, user: ApiUser) -> None:
    unique = word()
    quiz_id = await create(user, quiz(f"{unique} Photosynthesis"))
    assert ids(await search(http, q="photosyn", tags=TAG)) == [quiz_id]
    assert ids(await search(http, q=f"{unique} pho", tags=TAG)) == [quiz_id]
    assert ids(await search(http, q=unique[:4], tags=TAG)) == [quiz_id]
    # Only the last word is a prefix (the words before it are complete).
    assert ids(await search(http, q=f"photo {unique}", tags=TAG)) == []


async def test_all_words_must_match(http: ClientSession, user: ApiUser) -> None:
    unique = word()
    both = await create(user, quiz(f"{unique} volcano", description="lava"))
    await create(user, quiz(f"{unique} glacier"))
    assert ids(await search(http, q=f"{unique} lava", tags=TAG)) == [both]


async def test_filters(http: ClientSession, user: ApiUser) -> None:
    unique = word()
    extra = "f" + uuid.uuid4().hex[:6]
    en = await create(user, quiz(f"{unique} one", language="en", tags=[TAG, extra, "Maths"]))
    de = await create(user, quiz(f"{unique} two", language="de", tags=[TAG, extra]))
    none = await create(user, quiz(f"{unique} three", language=None, tags=[TAG, extra, "maths"]))

    assert set(ids(await search(http, q=unique, tags=extra))) == {en, de, none}
    assert ids(await search(http, q=unique, tags=extra, language="en")) == [en]
    assert ids(await search(http, q=unique, tags=extra, language="fr")) == []
    # Tags compare case-insensitively, and every listed tag is required.
    assert set(ids(await search(http, q=unique, tags=[extra, "MATHS"]))) == {en, none}
    assert set(ids(await search(http, q=unique, tags=f"{extra},maths"))) == {en, none}
    assert ids(await search(http, q=unique, tags=[extra, "maths"], language="en")) == [en]
    # Filters without words: browse, most recently updated first.
    assert ids(await search(http, tags=extra)) == [none, de, en]
    assert ids(await search(http, tags=extra, language="de")) == [de]


async def test_pagination(http: ClientSession, user: ApiUser) -> None:
    unique = word()
    made = [await create(user, quiz(f"{unique} part {i}")) for i in range(5)]
    pages = [await search(http, q=unique, tags=TAG, limit=2, offset=o) for o in (0, 2, 4)]
    assert [len(p["hits"]) for p in pages] == [2, 2, 1]
    assert all(p["total"] == 5 for p in pages)
    seen = [quiz_id for page in pages for quiz_id in ids(page)]
    assert sorted(seen) == sorted(made)
    past_end = await search(http, q=unique, tags=TAG, limit=2, offset=10)
    assert past_end["hits"] == [] and past_end["total"] == 5
    browse_past_end = await search(http, tags=TAG, language="xx", offset=10)
    assert browse_past_end == {"hits": [], "total": 0, "query": ""}


async def test_private_quizzes_are_never_found(
    http: ClientSession, user: ApiUser, synced: Any
) -> None:
    unique = word()
    await create(user, quiz(f"{unique} secret", public=False))
    await synced()
    for q in (unique, unique[:5], unique[:4] + unique[5:]):  # word, prefix, typo
        assert (await search(http, q=q))["total"] == 0
    assert (await search(http, q=unique, tags=TAG))["total"] == 0


async def test_a_quiz_made_private_disappears(
    http: ClientSession, user: ApiUser, synced: Any
) -> None:
    unique = word()
    body = quiz(f"{unique} soon private")
    quiz_id = await create(user, body)
    assert ids(await search(http, q=unique)) == [quiz_id]
    await synced()  # its words are in the lexicon now, and stay there
    status, _ = await user.request(
        "PUT", f"/api/v1/quizzes/{quiz_id}", json={**body, "public": False}
    )
    assert status == 200
    assert ids(await search(http, q=unique)) == []  # at once: no index lag in this backend
    await synced()
    typo = unique[:4] + unique[5:]
    for q in (unique, unique[:5], typo, f"{typo} soon", f"soon {typo}"):
        assert ids(await search(http, q=q)) == [], q
    status, _ = await user.request("PUT", f"/api/v1/quizzes/{quiz_id}", json=body)
    assert ids(await search(http, q=unique)) == [quiz_id]


async def test_updates_and_deletes_are_reflected(
    http: ClientSession, user: ApiUser, synced: Any
) -> None:
    old, new = word(), word()
    body = quiz(f"{old} title")
    quiz_id = await create(user, body)
    assert ids(await search(http, q=old)) == [quiz_id]
    await user.request("PUT", f"/api/v1/quizzes/{quiz_id}", json={**body, "title": f"{new} x"})
    assert ids(await search(http, q=old)) == []
    assert ids(await search(http, q=new)) == [quiz_id]
    status, _ = await user.request("DELETE", f"/api/v1/quizzes/{quiz_id}")
    assert status == 204
    assert ids(await search(http, q=new)) == []
    await synced()
    assert ids(await search(http, q=new)) == []


async def test_query_validation(http: ClientSession) -> None:
    for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"q": "x" * 201}):
        async with http.get("/api/v1/search", params=params) as resp:
            assert resp.status == 422
            assert (await resp.json())["error"]["code"] == "validation_error"
    # Punctuation only: no words, so it browses instead of failing.
    assert (await search(http, q="&|!:*()'\"", tags=TAG, limit=1))["query"] == "&|!:*()'\""


async def test_openapi_documents_search(http: ClientSession) -> None:
    async with http.get("/api/openapi.json") as resp:
        spec = await resp.json()
    operation = spec["paths"]["/api/v1/search"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {
        "q",
        "limit",
        "offset",
        "language",
        "tags",
    }
    assert "SearchResultOut" in spec["components"]["schemas"]


async def test_reindex_rebuilds_the_lexicon(server: TestServer, user: ApiUser) -> None:
    index = app_services(server).search
    assert isinstance(index, PostgresSearchIndex)
    gone, kept = word(12), word(12)
    status, out = await user.request("POST", "/api/v1/quizzes", json=quiz(f"{gone} {kept}"))
    assert status == 201
    await app_services(server).search_indexer.drain()  # type: ignore[union-attr]
    await user.request("DELETE", f"/api/v1/quizzes/{out['id']}")
    await create(user, quiz(f"{kept} again"))

    calls: list[tuple[int, int]] = []
    count = await index.reindex_all(lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, count) and calls[-1] == (count, count)
    from classquiz.db.engine import database

    async with database.connection() as conn:
        words = set(
            (
                await conn.execute(
                    sqlalchemy.text("SELECT word FROM search_words WHERE word IN (:a, :b)"),
                    {"a": gone, "b": kept},
                )
            ).scalars()
        )
    assert words == {kept}


# ---------------------------------------------------------------- without pg_trgm


@pytest.fixture
def database_without_trigram(storage: dict[str, str]) -> Iterator[str]:
    """A database migrated by a role that may not install extensions.

    That is how the migration meets the embedded PostgreSQL (no pg_trgm at
    all): CREATE EXTENSION fails, and the migration must go on without it.
    """
    suffix = uuid.uuid4().hex[:10]
    role, name = f"cqnotrgm_{suffix}", f"cqnotrgm_{suffix}"
    admin = psycopg2.connect(storage["admin_url"])
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE ROLE "{role}" LOGIN')
        cur.execute(f'CREATE DATABASE "{name}"')
    owner_url = admin_url(storage["admin_url"], name)
    conn = psycopg2.connect(owner_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'GRANT CREATE ON SCHEMA public TO "{role}"')
    conn.close()
    base, _, rest = owner_url.partition("://")
    _, _, host = rest.partition("@")
    url = f"{base}://{role}@{host}"
    try:
        yield url
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'DROP ROLE IF EXISTS "{role}"')
        admin.close()


QUIZ_ROW = (
    "INSERT INTO quizzes (id, owner_id, title, description, public, tags, questions,"
    " question_count) VALUES (%s, %s, %s, '', %s, '[\"code\"]',"
    ' \'[{"text": "What is a list comprehension?"}]\', 1)'
)


async def check_search_without_trigram(url: str) -> None:
    """Migrate `url` (a database that cannot get pg_trgm), fill it, search it: typos too."""
    await asyncio.to_thread(upgrade_database, url)  # must not abort on the missing extension
    conn = psycopg2.connect(url)
    conn.autocommit = True
    user_id, quiz_id, secret_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cur.fetchone() == (0,)
        cur.execute(
            "INSERT INTO users (id, email, username, password_hash) VALUES (%s, %s, %s, 'x')",
            (user_id, "a@example.org", "ada"),
        )
        cur.execute(QUIZ_ROW, (quiz_id, user_id, "Python loops", True))
        # Private, and every word of it is in the lexicon (from the public quiz) or near one.
        cur.execute(QUIZ_ROW, (secret_id, user_id, "Python loops kangaroos", False))

    database = DatabaseConnection(to_driver_url(url, "asyncpg"), pool_size=2)
    await database.connect()
    try:
        index = PostgresSearchIndex(database)
        await index.start()
        assert await index.reindex_all() == 1

        async def found(q: str) -> list[str]:
            return [str(h.id) for h in (await index.search(SearchQuery(q=q))).hits]

        for q in ("python", "Python loops", "pyth", "comprehension", "code"):
            assert await found(q) == [quiz_id], q
        # Substitution, insertion, deletion, swap; in the first, last and only word;
        # the last word also as a prefix with a typo.
        typos = ["pythan", "pythoon", "pythn", "pyhton", "pyhton loops", "python loosp"]
        typos += ["loosp pyhton", "comprehensoin", "what comprehensoin", "comprehesn", "pyhto"]
        for q in typos:
            assert await found(q) == [quiz_id], q
        # Four letters get no typo; the first letter is not corrected; two typos in six letters.
        for q in ("lops", "python lops", "bython", "pxthxn", "kangaroos", "kangaroo", "kangroos"):
            assert await found(q) == [], q

        # A word added later reaches a process that loaded the lexicon before.
        other = PostgresSearchIndex(database)
        await other.start()
        later = str(uuid.uuid4())
        with psycopg2.connect(url) as added, added.cursor() as cur:
            cur.execute(QUIZ_ROW, (later, user_id, "Mitochondria", True))
        assert await other.reindex_all() == 2
        assert [str(h.id) for h in (await index.search(SearchQuery(q="mitochondira"))).hits] == [
            later
        ]
    finally:
        await database.disconnect()


async def test_without_permission_for_pg_trgm_search_is_typo_tolerant(
    database_without_trigram: str,
) -> None:
    await check_search_without_trigram(database_without_trigram)


async def test_on_the_embedded_postgres_search_is_typo_tolerant() -> None:
    """The zero-configuration start's PostgreSQL (pgserver) ships no pg_trgm at all."""
    pgserver = pytest.importorskip("pgserver")
    data = tempfile.mkdtemp(prefix="cqpg")  # short: the socket lives there
    server = await asyncio.to_thread(pgserver.get_server, data, cleanup_mode="delete")
    try:
        await check_search_without_trigram(server.get_uri())
    finally:
        await asyncio.to_thread(server.cleanup)
        shutil.rmtree(data, ignore_errors=True)


async def test_served_hits_and_exact_totals_are_bounded(
    http: ClientSession, user: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most MAX_HITS hits are served; totals above COUNT_CAP are estimates (never below)."""
    import classquiz.search.postgres as backend

    monkeypatch.setattr(backend, "MAX_HITS", 3)
    monkeypatch.setattr(backend, "COUNT_CAP", 2)
    unique = word()
    made = {await create(user, quiz(f"{unique} bounded {i}")) for i in range(5)}

    first = await search(http, q=unique, tags=TAG, limit=2)
    second = await search(http, q=unique, tags=TAG, limit=2, offset=2)
    beyond = await search(http, q=unique, tags=TAG, limit=2, offset=3)
    assert len(first["hits"]) == 2 and len(second["hits"]) == 1 and beyond["hits"] == []
    served = ids(first) + ids(second)
    assert len(set(served)) == 3 and set(served) <= made
    assert all(page["total"] >= 3 for page in (first, second, beyond))
    assert (await search(http, tags=TAG, limit=1))["total"] >= 3  # browsing, estimated too
