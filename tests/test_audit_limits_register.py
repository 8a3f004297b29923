"""Audit 9.3: registrations are limited per address, and a flood of them (each an Argon2id
hash of 64 MiB and ~0.2 s) queues instead of starving logins.

Each test runs its own app (own port, own Redis prefix) trusting 127.0.0.1 as a proxy,
so each request speaks from the address it puts in X-Forwarded-For.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession, TCPConnector
from aiohttp.test_utils import TestServer

from classquiz.config import Settings
from tests.support.apps import separate_app
from tests.support.limits import new_address

REGISTRATIONS = 3


def register_body() -> dict[str, str]:
    name = "r" + uuid.uuid4().hex[:10]
    return {"email": f"{name}@example.org", "username": name, "password": "a long password"}


@pytest.fixture
async def app_url(
    request: pytest.FixtureRequest, server: TestServer, storage: dict[str, str]
) -> AsyncIterator[str]:
    overrides: dict[str, Any] = {
        "redis_prefix": storage["redis_prefix"] + "reg" + uuid.uuid4().hex[:6],
        "trusted_proxies": ["127.0.0.1/32"],
        **getattr(request, "param", {}),
    }
    async with separate_app(storage, **overrides) as test_server:
        yield str(test_server.make_url("")).rstrip("/")


def test_registration_settings_have_safe_defaults() -> None:
    defaults = Settings(_env_file=None)
    assert defaults.register_rate_limit == 10
    assert defaults.register_rate_limit_window_s == 3600
    assert defaults.password_hash_concurrency == 1
    assert defaults.password_verify_concurrency == 2


@pytest.mark.parametrize(
    "app_url",
    [{"register_rate_limit": REGISTRATIONS, "register_rate_limit_window_s": 60}],
    indirect=True,
)
async def test_forty_concurrent_registrations_are_cut_at_the_limit(app_url: str) -> None:
    flooder, teacher = new_address(), new_address()
    async with ClientSession(app_url, connector=TCPConnector(limit=0)) as http:

        async def register(body: dict[str, str], address: str) -> int:
            async with http.post(
                "/api/v1/users/register", json=body, headers={"X-Forwarded-For": address}
            ) as resp:
                if resp.status == 429:
                    assert (await resp.json())["error"]["code"] == "rate_limited"
                    retry_after = resp.headers.get("Retry-After", "")
                    assert retry_after.isdigit() and 1 <= int(retry_after) <= 60
                return resp.status

        statuses = Counter(
            await asyncio.gather(*(register(register_body(), flooder) for _ in range(40)))
        )
        assert statuses == {201: REGISTRATIONS, 429: 40 - REGISTRATIONS}, statuses
        # another address registers fine
        assert await register(register_body(), teacher) == 201
        # a body refused as invalid costs nothing: it never reaches the limiter
        async with http.post(
            "/api/v1/users/register",
            json={"email": "not an email", "username": "x", "password": "short"},
            headers={"X-Forwarded-For": new_address()},
        ) as resp:
            assert resp.status == 422


@pytest.mark.parametrize("app_url", [{"register_rate_limit": 10_000}], indirect=True)
async def test_a_login_during_a_registration_flood_is_not_starved(app_url: str) -> None:
    """Order of completion, not wall time: the login must not queue behind the flood."""
    async with ClientSession(app_url, connector=TCPConnector(limit=0)) as http:
        account = register_body()
        async with http.post("/api/v1/users/register", json=account) as resp:
            assert resp.status == 201
        finished: list[str] = []
        first_done = asyncio.Event()

        async def register(body: dict[str, str]) -> None:
            async with http.post(
                "/api/v1/users/register", json=body, headers={"X-Forwarded-For": new_address()}
            ) as resp:
                assert resp.status == 201, await resp.text()
            finished.append("register")
            first_done.set()

        async def login() -> float:
            await first_done.wait()  # the first hash is done: the rest of the flood is queued
            started = time.monotonic()
            async with http.post(
                "/api/v1/users/login",
                json={"login": account["username"], "password": account["password"]},
            ) as resp:
                assert resp.status == 200, await resp.text()
            finished.append("login")
            return time.monotonic() - started

        flood = [register(register_body()) for _ in range(40)]
        *_, login_s = await asyncio.gather(*flood, login())
        registered_first = finished.index("login")
        print(f"login took {login_s:.2f} s; {registered_first} of 40 registrations finished first")
        # 40 hashes at 2 at a time take several seconds; the login needs about one hash,
        # while 2 registrations at a time go on. Before the lanes it came after all 40.
        assert registered_first <= 10, (registered_first, login_s)
