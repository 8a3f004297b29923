"""Audit finding 12: no input may produce a 500, and logs never carry secrets.

NUL characters (which PostgreSQL cannot store in text) and numbers beyond what
a column or an OFFSET takes used to reach the database and come back as 500s,
each logging a long traceback with the SQL parameters — passwords included.
Now both are refused with a 422 naming the field, and the engine hides SQL
parameters from every error it raises. A walk over the OpenAPI document with
hypothesis sends hostile values to every operation and accepts any status but
a 5xx.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import orjson
import pytest
import sqlalchemy
from aiohttp import ClientSession
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classquiz.db.engine import database
from tests.support.quizzes import sample_quiz
from tests.support.users import ApiUser, register_user

QUIZZES = "/api/v1/quizzes"
SECRET = "Pa55-secret-do-not-log"


@pytest.fixture(scope="module")
async def carol(base_url: str) -> AsyncIterator[ApiUser]:
    async with ClientSession(base_url) as session:
        yield await register_user(session, password=SECRET)


@pytest.fixture
def captured() -> Iterator[list[logging.LogRecord]]:
    """Every log record written while the test runs, at any level, from any logger."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def log_text(records: list[logging.LogRecord]) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in records)


async def send(
    http: ClientSession, method: str, path: str, headers: dict[str, str], **kwargs: Any
) -> tuple[int, Any]:
    async with http.request(method, path, headers=headers, **kwargs) as resp:
        raw = await resp.read()
        if resp.content_type == "application/json":
            return resp.status, orjson.loads(raw)
        return resp.status, raw


def assert_refused(status: int, body: Any, field: str) -> None:
    assert status == 422, body
    assert body["error"]["code"] == "validation_error", body
    fields = [item.get("field") for item in body["error"].get("details", [])]
    assert field in fields, body
    named = [part for part in field.split(".") if not part.isdigit()][-1]
    assert named in body["error"]["message"], body


NUL_BODIES = [
    ("POST", "/api/v1/users/login", {"login": "ad\x00min", "password": SECRET}, "login"),
    ("POST", "/api/v1/users/login", {"login": "admin", "password": "a\x00b"}, "password"),
    (
        "POST",
        "/api/v1/users/register",
        {"email": "x@example.org", "username": "nul_user", "password": "pass\x00word"},
        "password",
    ),
    ("POST", QUIZZES, sample_quiz(title="Quiz\x00"), "title"),
    ("POST", QUIZZES, sample_quiz(description="a\x00b"), "description"),
    ("POST", QUIZZES, sample_quiz(tags=["ok", "t\x00g"]), "tags.1"),
    ("POST", "/api/v1/users/api-keys", {"name": "key\x00"}, "name"),
]


@pytest.mark.parametrize(
    ("method", "path", "payload", "field"),
    NUL_BODIES,
    ids=["login", "password", "register", "title", "description", "tag", "api_key_name"],
)
async def test_nul_in_a_body_is_a_422_naming_the_field(
    http: ClientSession, carol: ApiUser, method: str, path: str, payload: Any, field: str
) -> None:
    status, body = await send(http, method, path, carol.headers, json=payload)
    assert_refused(status, body, field)


async def test_nul_in_a_question_names_the_question(http: ClientSession, carol: ApiUser) -> None:
    quiz = sample_quiz()
    quiz["questions"][1]["choices"][2]["text"] = "\x00"
    status, body = await send(http, "POST", QUIZZES, carol.headers, json=quiz)
    assert_refused(status, body, "questions.1.choices.2.text")
    assert body["error"]["details"][0]["question_index"] == 1


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"{QUIZZES}?offset={10**30}", "offset"),
        ("/api/v1/results?offset=" + "9" * 40, "offset"),
        (f"/api/v1/search?offset={10**30}", "offset"),
        (f"/api/v1/search?q={quote(chr(0))}", "q"),
        (f"/api/v1/search?tags=a,{quote('b' + chr(0))}", "tags.1"),
    ],
)
async def test_hostile_query_parameters_are_a_422(
    http: ClientSession, carol: ApiUser, path: str, field: str
) -> None:
    status, body = await send(http, "GET", path, carol.headers)
    assert_refused(status, body, field)


async def test_huge_numbers_in_a_body_are_a_422(http: ClientSession, carol: ApiUser) -> None:
    status, quiz = await send(http, "POST", QUIZZES, carol.headers, json=sample_quiz())
    assert status == 201, quiz
    for number in ("1" + "0" * 30, str(2**63), "1e30", str(-(2**64))):
        raw = b'{"quiz_id": "%s", "settings": {"max_players": %s}}' % (
            quiz["id"].encode(),
            number.encode(),
        )
        headers = {**carol.headers, "Content-Type": "application/json"}
        status, body = await send(http, "POST", "/api/v1/games", headers, data=raw)
        assert_refused(status, body, "settings.max_players")


@pytest.mark.parametrize("depth", [900, 1024, 1025])
async def test_deeply_nested_bodies_are_refused_cleanly(
    http: ClientSession, carol: ApiUser, depth: int
) -> None:
    """As deep as the JSON parser allows (1,024), and one level past it."""
    raw = b'{"title": ' + b"[" * (depth - 1) + b'"\\u0000"' + b"]" * (depth - 1) + b"}"
    headers = {**carol.headers, "Content-Type": "application/json"}
    status, body = await send(http, "POST", QUIZZES, headers, data=raw)
    assert status == (422 if depth <= 1024 else 400), body
    if depth <= 1024:
        assert body["error"]["details"][0]["code"] == "nul_character", body
    else:
        assert body["error"]["code"] == "invalid_json", body


async def test_the_engine_hides_sql_parameters(server: Any) -> None:
    """A failing statement's error names the SQL but not the values bound to it."""
    with pytest.raises(sqlalchemy.exc.DBAPIError) as failure:
        async with database.connection() as conn:
            await conn.execute(
                sqlalchemy.text("SELECT 1 / (:secret - :secret)"), {"secret": 424242}
            )
    assert "424242" not in str(failure.value)


async def test_hostile_input_logs_no_secret_and_no_sql_parameters(
    http: ClientSession, carol: ApiUser, captured: list[logging.LogRecord]
) -> None:
    for method, path, payload, _ in NUL_BODIES:
        await send(http, method, path, carol.headers, json=payload)
    await send(http, "POST", "/api/v1/users/login", {}, json={"login": "x", "password": SECRET})
    await send(http, "GET", f"{QUIZZES}?offset={10**30}", carol.headers)
    text = log_text(captured)
    assert SECRET not in text and carol.token not in text
    assert "[parameters:" not in text and "Traceback" not in text
    assert not [r for r in captured if r.levelno >= logging.ERROR], text


# ---------------------------------------------------------------- the walk over OpenAPI

HOSTILE_STRINGS = st.one_of(
    st.text(max_size=30).map(lambda s: s + "\x00"),
    st.just("\x00"),
    st.just("1" + "0" * 30),
    st.just("-" + "9" * 25),
    st.just("x" * 1500),
    st.text(max_size=40),
)
HOSTILE_NUMBERS = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([2**31, 2**63, -(2**63) - 1, 2**64, 10**30]),
    st.floats(allow_nan=False, allow_infinity=False),
)
HOSTILE_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), HOSTILE_NUMBERS, HOSTILE_STRINGS),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(HOSTILE_STRINGS, inner, max_size=4)
    ),
    max_leaves=12,
)


# The documented 503 of a service this test server has not configured (no SMTP).
UNAVAILABLE = re.compile(r'"code":\s*"mail_unavailable"')


def valid_bodies(quiz_id: str) -> dict[str, Any]:
    """A valid example of every request body, by schema name, to be mutated."""
    return {
        "RegisterIn": {"email": "fz@example.org", "username": "fuzzer", "password": "x" * 12},
        "LoginIn": {"login": "fuzzer", "password": "x" * 12, "totp": "123456"},
        "QuizIn": sample_quiz(),
        "QuizDocument": {"format": "classquiz-quiz", "version": 1, "quiz": sample_quiz()},
        "QuizVisibilityIn": {"public": True},
        "ApiKeyIn": {"name": "fuzz", "scope": "read", "expires_in_days": 30},
        "GameCreateIn": {
            "quiz_id": quiz_id,
            "settings": {
                "max_players": 5,
                "password": "pw",
                "nicknames": {"mode": "roster", "roster": ["Ann"], "blocklist": ["x"]},
            },
        },
        "TotpCodeIn": {"code": "123456"},
        "EmailTokenIn": {"token": "t" * 43},
        "PasswordResetIn": {"email": "fz@example.org"},
        "PasswordResetConfirmIn": {"token": "t" * 43, "password": "y" * 12, "totp": None},
        "PasswordChangeIn": {"current_password": "x" * 12, "new_password": "y" * 12},
        # never the walker's own name, so no mutation of it can delete the walker
        "AccountDeleteIn": {"confirm_username": "fuzzer", "password": "x" * 12, "totp": "123456"},
        "PasskeyRegisterIn": {"ceremony_id": "c" * 22, "name": "fuzz", "credential": {"id": "a"}},
        "PasskeySignInIn": {
            "ceremony_id": "c" * 22,
            "credential": {"id": "a", "type": "public-key"},
        },
    }


def leaf_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document (containers included) that a mutation may replace."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += leaf_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += leaf_paths(item, (*prefix, index))
    return out


def replaced(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = orjson.loads(orjson.dumps(document))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copy


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        # these would end the walker's own session
        if path not in ("/api/v1/users/logout", "/api/v1/account/sign-out-everywhere")
    ]


async def test_no_operation_answers_hostile_input_with_a_5xx(
    base_url: str, carol: ApiUser, captured: list[logging.LogRecord]
) -> None:
    async with ClientSession(base_url) as http:
        async with http.get("/api/openapi.json") as resp:
            spec = await resp.json()
        status, quiz = await send(http, "POST", QUIZZES, carol.headers, json=sample_quiz())
        assert status == 201, quiz
        bodies = valid_bodies(quiz["id"])
        ops = operations(spec)
        path_values = st.one_of(
            st.just(quiz["id"]), st.uuids().map(str), HOSTILE_STRINGS.filter(bool)
        )
        loop = asyncio.get_running_loop()
        seen: list[tuple[str, str, int]] = []

        def build(
            method: str, path: str, op: dict[str, Any], data: st.DataObject
        ) -> tuple[str, dict[str, Any]]:
            """The hostile request for one operation (drawn in hypothesis' own thread)."""
            for name in (p["name"] for p in op.get("parameters", []) if p["in"] == "path"):
                path = path.replace("{" + name + "}", quote(data.draw(path_values), safe=""))
            query = {
                p["name"]: data.draw(HOSTILE_STRINGS)
                for p in op.get("parameters", [])
                if p["in"] == "query" and data.draw(st.booleans())
            }
            kwargs: dict[str, Any] = {"params": query, "headers": carol.headers}
            body_schema = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body_schema:
                valid = bodies[body_schema["schema"]["$ref"].rsplit("/", 1)[-1]]
                where = data.draw(st.sampled_from(leaf_paths(valid)))
                body = replaced(valid, where, data.draw(HOSTILE_VALUES))
                kwargs["data"] = json.dumps(body)  # orjson cannot write integers past 64 bits
                kwargs["headers"] = {**carol.headers, "Content-Type": "application/json"}
            return path, kwargs

        async def call(method: str, path: str, kwargs: dict[str, Any]) -> None:
            async with http.request(method, path, **kwargs) as resp:
                text = await resp.text()
                seen.append((method, path, resp.status))
                if resp.status == 503 and UNAVAILABLE.search(text):
                    return  # a feature this server has not set up (mail) says so: no crash
                assert resp.status < 500, (method, path, kwargs, resp.status, text)

        @settings(
            max_examples=1000,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(st.sampled_from(ops), st.data())
        def walk(operation: tuple[str, str, dict[str, Any]], data: st.DataObject) -> None:
            method, template, op = operation
            path, kwargs = build(method, template, op, data)
            future = asyncio.run_coroutine_threadsafe(call(method, path, kwargs), loop)
            future.result(timeout=30)

        await asyncio.to_thread(walk)
        assert len({(m, p.split("?")[0]) for m, p, _ in seen}) > len(ops) // 2
        assert any(status == 422 for _, _, status in seen)
    text = log_text(captured)
    assert "[parameters:" not in text and SECRET not in text and carol.token not in text
    errors = [r for r in captured if r.levelno >= logging.ERROR]
    assert not errors, text[-5000:]
