"""Audit finding 10: cross-site request forgery against cookie sessions.

A page on a sibling subdomain (`https://evil.school.example`) can make the
browser send the session cookie along with a `text/plain` "simple" request, so
the old server created a quiz for the victim (201). Now JSON endpoints want
`Content-Type: application/json` (415 otherwise) and an unsafe request that is
authenticated by the cookie must come from an allowed origin (403 otherwise).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import ClientSession

from tests.support.apps import separate_app
from tests.support.quizzes import sample_quiz
from tests.support.users import ApiUser, register_user

QUIZZES = "/api/v1/quizzes"
EVIL = "https://evil.school.example"
LISTED = "https://app.school.example"


@pytest.fixture(scope="module")
async def victim(base_url: str) -> AsyncIterator[ApiUser]:
    async with ClientSession(base_url) as session:
        yield await register_user(session)


async def call(
    base_url: str, method: str, path: str, *, headers: dict[str, str], **kwargs: Any
) -> tuple[int, Any]:
    async with ClientSession(base_url) as session:
        async with session.request(method, path, headers=headers, **kwargs) as resp:
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.read()


async def quiz_count(base_url: str, user: ApiUser) -> int:
    status, page = await call(base_url, "GET", QUIZZES, headers=user.headers)
    assert status == 200, page
    return page["total"]


def cookie_of(user: ApiUser) -> dict[str, str]:
    return {"Cookie": f"access_token={user.token}"}


QUIZ_BYTES = orjson.dumps(sample_quiz())


async def test_the_audit_probe_is_refused_and_creates_nothing(
    base_url: str, victim: ApiUser
) -> None:
    """text/plain JSON + cookie + a sibling subdomain's Origin was 201 before."""
    before = await quiz_count(base_url, victim)
    headers = {**cookie_of(victim), "Content-Type": "text/plain", "Origin": EVIL}
    status, body = await call(base_url, "POST", QUIZZES, headers=headers, data=QUIZ_BYTES)
    assert status == 403, body
    assert body["error"]["code"] == "origin_not_allowed"
    assert await quiz_count(base_url, victim) == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_json_endpoints_want_application_json(
    base_url: str, victim: ApiUser, content_type: str
) -> None:
    before = await quiz_count(base_url, victim)
    headers = {**victim.headers, "Content-Type": content_type}
    status, body = await call(base_url, "POST", QUIZZES, headers=headers, data=QUIZ_BYTES)
    assert status == 415, body
    assert body["error"]["code"] == "unsupported_media_type"
    assert "application/json" in body["error"]["message"]
    assert await quiz_count(base_url, victim) == before


async def test_json_with_a_charset_is_accepted(base_url: str, victim: ApiUser) -> None:
    headers = {**victim.headers, "Content-Type": "application/json; charset=utf-8"}
    status, body = await call(base_url, "POST", QUIZZES, headers=headers, data=QUIZ_BYTES)
    assert status == 201, body


@pytest.mark.parametrize(
    "origin_headers",
    [{"Origin": EVIL}, {"Referer": f"{EVIL}/page"}, {}, {"Origin": "null"}],
    ids=["foreign_origin", "foreign_referer", "no_origin", "null_origin"],
)
async def test_cookie_writes_from_elsewhere_are_forbidden(
    base_url: str, victim: ApiUser, origin_headers: dict[str, str]
) -> None:
    status, quiz = await victim.request("POST", QUIZZES, json=sample_quiz())
    assert status == 201, quiz
    before = await quiz_count(base_url, victim)
    headers = {**cookie_of(victim), **origin_headers}
    status, body = await call(base_url, "POST", QUIZZES, headers=headers, json=sample_quiz())
    assert status == 403, body
    assert body["error"]["code"] == "origin_not_allowed"
    status, body = await call(base_url, "DELETE", f"{QUIZZES}/{quiz['id']}", headers=headers)
    assert status == 403, body
    status, body = await call(base_url, "POST", "/api/v1/users/api-keys", headers=headers, json={})
    assert status == 403, body
    assert await quiz_count(base_url, victim) == before
    # reading with the cookie from anywhere stays possible (CORS decides who sees it)
    status, body = await call(base_url, "GET", "/api/v1/users/me", headers=headers)
    assert status == 200, body


async def test_cookie_writes_from_the_own_origin_are_allowed(
    base_url: str, victim: ApiUser
) -> None:
    for origin_headers in ({"Origin": base_url}, {"Referer": f"{base_url}/quizzes/new"}):
        headers = {**cookie_of(victim), **origin_headers}
        status, body = await call(base_url, "POST", QUIZZES, headers=headers, json=sample_quiz())
        assert status == 201, (origin_headers, body)


async def test_bearer_writes_need_no_origin(base_url: str, victim: ApiUser) -> None:
    """A bearer token is never sent by the browser on its own: no CSRF to defend."""
    headers = {**victim.headers, **cookie_of(victim), "Origin": EVIL}
    status, body = await call(base_url, "POST", QUIZZES, headers=headers, json=sample_quiz())
    assert status == 201, body


async def test_cookie_writes_from_a_listed_cors_origin_are_allowed(
    storage: dict[str, str], victim: ApiUser
) -> None:
    async with separate_app(storage, cors_origins=["*", LISTED]) as server:
        url = str(server.make_url("")).rstrip("/")
        headers = {**cookie_of(victim), "Origin": LISTED}
        status, body = await call(url, "POST", QUIZZES, headers=headers, json=sample_quiz())
        assert status == 201, body
        headers = {**cookie_of(victim), "Origin": EVIL}
        status, body = await call(url, "POST", QUIZZES, headers=headers, json=sample_quiz())
        assert status == 403, body
