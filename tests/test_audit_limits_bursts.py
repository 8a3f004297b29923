"""Audit 9.2: failure limits hold under concurrent bursts, group IPv6 by /64, count bad
host tokens, and every REST 429 says when to come back (`Retry-After`).

Runs against the rate-limited app of test_security_limits with a longer block: 5 failures
within 30 s block an address for 120 s, longer than any burst takes on a busy machine (a
burst outlasting a 2-s block would rightly be judged 5 more times). 127.0.0.1 is a trusted
proxy, so each test speaks from its own address.
A burst is fired with asyncio.gather over real HTTP and Socket.IO connections, and the
answers are counted exactly: the limit is 5, so exactly 5 attempts may be judged.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections import Counter
from typing import Any

import pytest
from aiohttp import ClientSession
from redis.asyncio import Redis

from classquiz.services.ratelimit import FailureLimiter, RateLimited, address_group
from tests.support import limits
from tests.support.limits import BURST_BLOCK_S, FAILURES, Limited, new_address, unknown_pin

# The rate-limited app (with a block that outlasts any burst) and a client on it.
limited = limits.limited_app(rate_limit_block_s=BURST_BLOCK_S)
http = limits.http

_v6_networks = itertools.count(random.randrange(1, 60_000))


def new_v6_network() -> str:
    """A fresh 2001:db8:x:y::/64 prefix (without the host part)."""
    n = next(_v6_networks)
    return f"2001:db8:{n >> 16:x}:{n & 0xFFFF:x}"


def assert_retry_after(headers: Any) -> None:
    value = headers.get("Retry-After")
    assert value is not None and value.isdigit() and int(value) >= 1, value


def test_ipv6_addresses_are_grouped_by_64() -> None:
    assert address_group("2001:db8:1:2::1") == address_group("2001:db8:1:2:ffff:1:2:3")
    assert address_group("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert address_group("2001:db8:1:3::1") != address_group("2001:db8:1:2::1")
    assert address_group("203.0.113.7") == "203.0.113.7"
    assert address_group("::ffff:203.0.113.7") == "203.0.113.7"
    assert address_group("unknown") == "unknown"


async def _register(http: ClientSession, password: str) -> str:
    name = "b" + uuid.uuid4().hex[:10]
    async with http.post(
        "/api/v1/users/register",
        json={"email": f"{name}@example.org", "username": name, "password": password},
        headers={"X-Forwarded-For": new_address()},
    ) as resp:
        assert resp.status == 201, await resp.text()
    return name


async def test_a_burst_of_wrong_logins_is_cut_at_the_limit(
    limited: Limited, http: ClientSession
) -> None:
    name = await _register(http, "right-password")
    guesser = new_address()

    async def login(i: int) -> int:
        async with http.post(
            "/api/v1/users/login",
            json={"login": name, "password": f"guess-{i}"},
            headers={"X-Forwarded-For": guesser},
        ) as resp:
            body = await resp.json()
            if resp.status == 429:
                assert body["error"]["code"] == "rate_limited"
                assert_retry_after(resp.headers)
            return resp.status

    statuses = Counter(await asyncio.gather(*(login(i) for i in range(60))))
    assert statuses == {401: FAILURES, 429: 60 - FAILURES}, statuses


async def test_a_burst_of_pin_guesses_is_cut_at_the_limit(
    limited: Limited, http: ClientSession
) -> None:
    guesser = new_address()

    async def lookup() -> int:
        async with http.get(
            f"/api/v1/games/{unknown_pin()}", headers={"X-Forwarded-For": guesser}
        ) as resp:
            if resp.status == 429:
                assert_retry_after(resp.headers)
            return resp.status

    statuses = Counter(await asyncio.gather(*(lookup() for _ in range(200))))
    assert statuses == {404: FAILURES, 429: 200 - FAILURES}, statuses


async def test_a_burst_of_socket_pin_guesses_is_cut_at_the_limit(limited: Limited) -> None:
    guesser = new_address()
    results = await asyncio.gather(
        *(limited.handshake({"pin": unknown_pin(), "nickname": "G"}, guesser) for _ in range(30))
    )
    codes = Counter(error["code"] for _, error in results)
    assert codes == {"game_not_found": FAILURES, "rate_limited": 30 - FAILURES}, codes


async def test_bad_host_tokens_are_limited_but_the_real_host_gets_in(
    limited: Limited, http: ClientSession
) -> None:
    game = await limited.game(http)
    attacker = new_address()
    forged = [{"host_token": f"forged-{i}"} for i in range(30)]
    results = await asyncio.gather(*(limited.handshake(auth, attacker) for auth in forged))
    codes = Counter(error["code"] for _, error in results)
    assert codes == {"invalid_token": FAILURES, "rate_limited": 30 - FAILURES}, codes
    # one after the other as well: the block holds
    _, error = await limited.handshake({"host_token": "forged-again"}, attacker)
    assert error["code"] == "rate_limited"
    # a genuine token from the blocked address is never limited (SPEC §5)
    host, refused = await limited.handshake({"host_token": game["host_token"]}, attacker)
    assert refused is None
    await host.close()


async def test_one_ipv6_64_is_one_address(limited: Limited, http: ClientSession) -> None:
    network, neighbour = new_v6_network(), new_v6_network()
    for i in range(FAILURES):
        async with http.get(
            f"/api/v1/games/{unknown_pin()}", headers={"X-Forwarded-For": f"{network}::{i + 1:x}"}
        ) as resp:
            assert resp.status == 404
    # another host in the same /64 is blocked, with Retry-After
    async with http.get(
        f"/api/v1/games/{unknown_pin()}", headers={"X-Forwarded-For": f"{network}:1:2:3:4"}
    ) as resp:
        assert resp.status == 429
        assert_retry_after(resp.headers)
    # the neighbouring /64 is not
    async with http.get(
        f"/api/v1/games/{unknown_pin()}", headers={"X-Forwarded-For": f"{neighbour}::1"}
    ) as resp:
        assert resp.status == 404


# -- the limiter itself, on the real Redis ---------------------------------------------------------


async def test_reservations_successes_and_abandoned_attempts(storage: dict[str, str]) -> None:
    """Successes give their slot back; a reservation never settled (its process died)
    frees itself after hold_s; the limit counts attempts in flight."""
    redis = Redis.from_url(storage["redis_url"])
    prefix = storage["redis_prefix"] + "unit" + uuid.uuid4().hex[:6]
    limiter = FailureLimiter(redis, prefix, 2, 10, 10, scope="t", queue_s=0.2, hold_s=0.5)
    try:
        subject = new_address()
        for _ in range(5):  # successes never use up the budget
            await limiter.settle(subject, await limiter.reserve(subject), failed=False)
        first = await limiter.reserve(subject)
        await limiter.reserve(subject)  # two in flight: the limit
        with pytest.raises(RateLimited) as refused:
            await limiter.reserve(subject)  # waits queue_s for a slot, then gives up
        assert refused.value.retry_after_s == 1
        await limiter.settle(subject, first, failed=False)
        third = await limiter.reserve(subject)  # the slot given back
        await asyncio.sleep(0.6)  # the two unsettled reservations are abandoned
        fourth = await limiter.reserve(subject)
        await limiter.settle(subject, fourth, failed=False)
        await limiter.settle(subject, third, failed=True)  # late, but still a failure
        assert await limiter.settle(subject, await limiter.reserve(subject), failed=True)
        with pytest.raises(RateLimited) as blocked:
            await limiter.reserve(subject)
        assert 1 <= blocked.value.retry_after_s <= 10
    finally:
        await redis.aclose()


async def test_the_api_document_declares_429_with_retry_after(
    limited: Limited, http: ClientSession
) -> None:
    async with http.get("/api/openapi.json") as resp:
        assert resp.status == 200
        document = await resp.json()
    limited_ops = {
        ("post", "/api/v1/users/login"),
        ("post", "/api/v1/users/register"),
        ("get", "/api/v1/games/{pin}"),
        ("post", "/api/v1/users/totp/enable"),
        ("post", "/api/v1/users/totp/disable"),
        ("post", "/api/v1/users/totp/backup-codes"),
    }
    declared = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            refusal = operation.get("responses", {}).get("429")
            if refusal is not None:
                declared.add((method, path))
                assert "Retry-After" in refusal.get("headers", {}), (method, path)
    assert limited_ops <= declared, limited_ops - declared
