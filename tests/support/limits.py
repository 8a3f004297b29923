"""A rate-limited app for tests of the abuse limits, and made-up client addresses.

The apps trust 127.0.0.1 as a proxy, so each test speaks from its own address in
X-Forwarded-For and blocking one never blocks another test (or the shared server).
The `limited` and `http` fixtures are module-scoped: a module that wants them binds
them to its own names (`limited = limits.limited`).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession, TCPConnector
from aiohttp.test_utils import TestServer

import classquiz
from classquiz.config import Settings
from tests.support.apps import separate_app
from tests.support.quizzes import sample_quiz
from tests.support.sockets import Recorder
from tests.support.users import register_user

# A long window, so a burst judged slowly on a busy machine still adds up to a block; a short
# block, so the tests that wait for the release stay quick.
FAILURES, WINDOW_S, BLOCK_S = 5, 30, 2
# The block for tests that count a whole burst: a burst still being judged when a 2-s block
# ends is rightly allowed another FAILURES attempts, so the block must outlast the burst.
BURST_BLOCK_S = 120
_addresses = itertools.count(random.randrange(1, 200) * 10_000)


def new_address() -> str:
    """A made-up client address never used before in this run (sent as X-Forwarded-For)."""
    n = next(_addresses)
    return f"172.{16 + ((n >> 16) & 15)}.{(n >> 8) & 255}.{n & 255}"


def unknown_pin() -> str:
    """A random PIN, almost surely of no game."""
    return f"{random.randrange(0, 10**6):06d}"


def limited_settings(storage: dict[str, str], **extra: Any) -> dict[str, Any]:
    """Settings of an app with small limits that trusts 127.0.0.1 as a proxy."""
    return {
        "redis_prefix": storage["redis_prefix"] + "rl",
        "trusted_proxies": ["127.0.0.1/32"],
        "rate_limit_failures": FAILURES,
        "rate_limit_window_s": WINDOW_S,
        "rate_limit_block_s": BLOCK_S,
        "login_rate_limit_failures": FAILURES,
        "handshake_timeout_s": 1.0,
        **extra,
    }


class Limited:
    """The rate-limited app, a user on it, and helpers speaking from chosen addresses."""

    def __init__(self, test_server: TestServer, token: str) -> None:
        self.server = test_server
        self.url = str(test_server.make_url("")).rstrip("/")
        self.token = token
        self.settings: Settings = test_server.app[classquiz.SERVICES].settings

    async def game(self, http: ClientSession, **settings: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}", "X-Forwarded-For": new_address()}
        quiz = sample_quiz(title="Limits")
        quiz["questions"] = quiz["questions"][:1]
        async with http.post("/api/v1/quizzes", json=quiz, headers=headers) as resp:
            quiz_id = (await resp.json())["id"]
        body = {"quiz_id": quiz_id, "settings": settings}
        async with http.post("/api/v1/games", json=body, headers=headers) as resp:
            assert resp.status == 201
            return await resp.json()

    async def lookup(self, http: ClientSession, pin: str, address: str) -> tuple[int, Any]:
        async with http.get(f"/api/v1/games/{pin}", headers={"X-Forwarded-For": address}) as resp:
            return resp.status, await resp.json()

    async def handshake(self, auth: Any, address: str) -> tuple[Recorder, Any]:
        """(recorder, connect_error data or None if admitted)."""
        recorder = Recorder(self.url, headers={"X-Forwarded-For": address})
        return recorder, await recorder.try_connect(auth)


async def register_token(url: str) -> str:
    async with ClientSession(url) as http:
        return (await register_user(http)).token


def limited_app(**extra: Any) -> Any:
    """A module-scoped `limited` fixture: the rate-limited app with `extra` settings."""

    @pytest.fixture(scope="module")
    async def limited(server: TestServer, storage: dict[str, str]) -> AsyncIterator[Limited]:
        async with separate_app(storage, **limited_settings(storage, **extra)) as test_server:
            url = str(test_server.make_url("")).rstrip("/")
            yield Limited(test_server, await register_token(url))

    return limited


limited = limited_app()


@pytest.fixture
async def http(limited: Limited) -> AsyncIterator[ClientSession]:
    async with ClientSession(limited.url, connector=TCPConnector(limit=0)) as session:
        yield session
