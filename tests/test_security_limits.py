"""Abuse limits (SPEC §5): failures per client address in Redis, events per socket, idle
handshakes, and whose address counts at all.

Everything that blocks an address runs against separate apps (own port, own Redis prefix)
with small limits: 5 failures within 2 s block an address for 2 s, the handshake timeout
is 1 s. They trust 127.0.0.1 as a proxy, so each test speaks from its own made-up address
in X-Forwarded-For and the shared server of the run is never blocked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
import uuid
from typing import Any

import pytest
from aiohttp import ClientSession, WSMsgType
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

import classquiz
from classquiz.config import Settings
from classquiz.services.ratelimit import EventRate, client_address
from tests.support import limits
from tests.support.apps import separate_app
from tests.support.limits import (
    BLOCK_S,
    FAILURES,
    Limited,
    limited_settings,
    new_address,
    unknown_pin,
)

# -- client_address: whose address counts ---------------------------------------------------------

TRUSTED = [ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8")]


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.7", None, TRUSTED, "203.0.113.7"),
        # an untrusted peer cannot choose its address with the header
        ("203.0.113.7", "198.51.100.1", TRUSTED, "203.0.113.7"),
        ("203.0.113.7", "198.51.100.1", [], "203.0.113.7"),
        ("127.0.0.1", "198.51.100.1", [], "127.0.0.1"),
        # a trusted proxy's header is honoured, read from the right
        ("127.0.0.1", "198.51.100.1", TRUSTED, "198.51.100.1"),
        ("127.0.0.1", "198.51.100.1, 10.1.2.3", TRUSTED, "198.51.100.1"),
        # what the client put in front of the real hops is ignored
        ("127.0.0.1", "6.6.6.6, 198.51.100.1", TRUSTED, "198.51.100.1"),
        ("127.0.0.1", " 6.6.6.6 ,198.51.100.1 , 10.9.9.9 ", TRUSTED, "198.51.100.1"),
        ("127.0.0.1", "not-an-ip", TRUSTED, "not-an-ip"),
        ("127.0.0.1", "", TRUSTED, "127.0.0.1"),
        ("::1", "198.51.100.1", TRUSTED, "::1"),
        ("::1", "2001:db8::5", [ipaddress.ip_network("::1/128")], "2001:db8::5"),
        (None, None, TRUSTED, "unknown"),
    ],
)
def test_client_address(
    peer: str | None, forwarded: str | None, trusted: list[Any], expected: str
) -> None:
    assert client_address(peer, forwarded, trusted) == expected


def test_default_limits_follow_the_spec() -> None:
    defaults = Settings(_env_file=None)
    assert defaults.rate_limit_failures == 20
    assert defaults.rate_limit_window_s == 60 and defaults.rate_limit_block_s == 60
    assert defaults.socket_events_per_s == 10 and defaults.socket_events_drop_per_s == 50
    assert defaults.trusted_proxies == []
    # a PIN guesser gets 20 tries a minute: about 10 years for the million PINs, per address
    minutes = 10**6 / defaults.rate_limit_failures
    assert minutes / (60 * 24 * 365) > 0.09


def test_event_rate_window() -> None:
    rate = EventRate(soft_limit=10, hard_limit=50)
    verdicts = [rate.hit() for _ in range(51)]
    assert verdicts[:10] == ["ok"] * 10
    assert verdicts[10:50] == ["limited"] * 40
    assert verdicts[50] == "drop"
    rate.window_start -= 1.0  # a second later
    assert rate.hit() == "ok"


# -- separate apps --------------------------------------------------------------------------------


# The rate-limited app and a client on it (tests/support/limits.py), module-scoped here.
limited = limits.limited
http = limits.http


def assert_rate_limited(status: int, body: Any) -> None:
    assert status == 429, (status, body)
    assert body["error"]["code"] == "rate_limited" and body["error"]["message"]


# -- failures per address -------------------------------------------------------------------------


async def test_cycling_pins_over_rest_is_blocked_then_released(
    limited: Limited, http: ClientSession
) -> None:
    game = await limited.game(http)
    guesser, teacher = new_address(), new_address()
    tried = 0
    for _ in range(FAILURES):
        status, body = await limited.lookup(http, unknown_pin(), guesser)
        assert status == 404 and body["error"]["code"] == "game_not_found"
        tried += 1
    # a handful of tries, then every look-up is refused, the real PIN included
    for pin in (unknown_pin(), game["pin"]):
        assert_rate_limited(*await limited.lookup(http, pin, guesser))
    assert tried == FAILURES
    # the block is per address: someone else looks the game up fine
    status, info = await limited.lookup(http, game["pin"], teacher)
    assert status == 200 and info["pin"] == game["pin"]
    # and the block is in Redis, with an expiry of rate_limit_block_s
    redis = Redis.from_url(limited.settings.require_redis_url())
    try:
        ttl = await redis.ttl(f"{limited.settings.redis_prefix}:rl:join:block:{guesser}")
        assert 0 < ttl <= BLOCK_S
    finally:
        await redis.aclose()
    await asyncio.sleep(BLOCK_S + 0.2)
    status, _ = await limited.lookup(http, game["pin"], guesser)
    assert status == 200


async def test_guessing_passwords_is_blocked_per_address_then_released(
    limited: Limited, http: ClientSession
) -> None:
    name = "g" + uuid.uuid4().hex[:10]
    async with http.post(
        "/api/v1/users/register",
        json={"email": f"{name}@example.org", "username": name, "password": "right-password"},
        headers={"X-Forwarded-For": new_address()},
    ) as resp:
        assert resp.status == 201

    async def login(password: str, address: str) -> tuple[int, Any]:
        async with http.post(
            "/api/v1/users/login",
            json={"login": name, "password": password},
            headers={"X-Forwarded-For": address},
        ) as resp:
            return resp.status, await resp.json()

    guesser, owner = new_address(), new_address()
    for attempt in range(FAILURES):
        status, body = await login(f"guess-{attempt}", guesser)
        assert status == 401 and body["error"]["code"] == "invalid_credentials"
    # blocked: even the right password is refused from that address for a while
    assert_rate_limited(*await login("right-password", guesser))
    # the owner, from elsewhere, logs in fine
    status, body = await login("right-password", owner)
    assert status == 200 and body["access_token"]
    await asyncio.sleep(BLOCK_S + 0.2)
    status, _ = await login("right-password", guesser)
    assert status == 200


async def test_cycling_pins_over_socket_handshakes_is_blocked(
    limited: Limited, http: ClientSession
) -> None:
    game = await limited.game(http)
    guesser = new_address()
    host, refused = await limited.handshake({"host_token": game["host_token"]}, guesser)
    assert refused is None
    player, refused = await limited.handshake({"pin": game["pin"], "nickname": "Ada"}, guesser)
    assert refused is None
    token = (await player.wait("welcome"))["player"]["player_token"]
    await player.close()
    for _ in range(FAILURES):
        _, error = await limited.handshake({"pin": unknown_pin(), "nickname": "G"}, guesser)
        assert error["code"] == "game_not_found"
    started = time.monotonic()
    for auth in ({"pin": unknown_pin(), "nickname": "G"}, {"pin": game["pin"], "nickname": "Bo"}):
        _, error = await limited.handshake(auth, guesser)
        assert error["code"] == "rate_limited", error
        assert "wait" in error["message"]
    # REST look-ups from that address are blocked too: one limiter
    assert_rate_limited(*await limited.lookup(http, game["pin"], guesser))
    # returning players and the host, with their tokens, always get in
    back, refused = await limited.handshake({"player_token": token}, guesser)
    assert refused is None and (await back.wait("welcome"))["player"]["nickname"] == "Ada"
    await host.close()
    host_again, refused = await limited.handshake({"host_token": game["host_token"]}, guesser)
    assert refused is None
    await asyncio.sleep(max(0.0, BLOCK_S + 0.2 - (time.monotonic() - started)))
    late, refused = await limited.handshake({"pin": game["pin"], "nickname": "Bo"}, guesser)
    assert refused is None
    for client in (back, host_again, late):
        await client.close()


async def test_wrong_passwords_and_bad_tokens_count_nickname_clashes_do_not(
    limited: Limited, http: ClientSession
) -> None:
    game = await limited.game(http, password="sesame")
    pin = game["pin"]
    classroom = new_address()
    ada, refused = await limited.handshake(
        {"pin": pin, "nickname": "Ada", "password": "sesame"}, classroom
    )
    assert refused is None
    # pupils picking a taken name or a bad one, again and again: never blocked
    for _ in range(FAILURES * 3):
        for nickname, expected in (("ada", "nickname_taken"), ("A\u200bda", "nickname_invalid")):
            auth = {"pin": pin, "nickname": nickname, "password": "sesame"}
            _, error = await limited.handshake(auth, classroom)
            assert error["code"] == expected
    bo, refused = await limited.handshake(
        {"pin": pin, "nickname": "Bo", "password": "sesame"}, classroom
    )
    assert refused is None
    # wrong passwords and forged tokens count
    guesser = new_address()
    attempts = [{"pin": pin, "nickname": "X", "password": f"guess{i}"} for i in range(3)]
    attempts += [{"player_token": "forged"}, {"host_token": "forged"}]
    for auth in attempts:
        _, error = await limited.handshake(auth, guesser)
        assert error["code"] == ("wrong_password" if "pin" in auth else "invalid_token"), auth
    _, error = await limited.handshake({"pin": pin, "nickname": "Y", "password": "sesame"}, guesser)
    assert error["code"] == "rate_limited"
    await asyncio.gather(ada.close(), bo.close())


async def test_two_hundred_joins_from_one_address_are_never_blocked(
    limited: Limited, http: ClientSession
) -> None:
    game = await limited.game(http)
    classroom = new_address()
    # a few typos first, just under the limit
    for _ in range(FAILURES - 1):
        status, _ = await limited.lookup(http, unknown_pin(), classroom)
        assert status == 404
    sockets: list[Any] = []

    async def join(i: int) -> str:
        ws = await http.ws_connect(
            "/socket.io/?EIO=4&transport=websocket", headers={"X-Forwarded-For": classroom}
        )
        sockets.append(ws)
        assert (await ws.receive_str(timeout=10)).startswith("0{")
        await ws.send_str("40" + json.dumps({"pin": game["pin"], "nickname": f"Pupil {i}"}))
        reply = await ws.receive_str(timeout=10)
        return reply[:3]

    started = time.monotonic()
    try:
        replies = await asyncio.gather(*(join(i) for i in range(200)))
        elapsed = time.monotonic() - started
        assert replies.count("40{") == 200, {r for r in replies}
        assert elapsed < 10, elapsed
        status, info = await limited.lookup(http, game["pin"], classroom)
        assert status == 200, info
        host, refused = await limited.handshake({"host_token": game["host_token"]}, classroom)
        assert refused is None
        assert (await host.wait("welcome"))["game"]["players_count"] == 200
        await host.close()
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


async def test_the_block_holds_across_processes(
    limited: Limited, http: ClientSession, storage: dict[str, str]
) -> None:
    """A second app on the same Redis (another process in production) enforces the block."""
    game = await limited.game(http)
    guesser = new_address()
    for _ in range(FAILURES):
        await limited.lookup(http, unknown_pin(), guesser)
    async with separate_app(storage, **limited_settings(storage)) as twin:
        async with ClientSession(str(twin.make_url("")).rstrip("/")) as other:
            async with other.get(
                f"/api/v1/games/{game['pin']}", headers={"X-Forwarded-For": guesser}
            ) as resp:
                assert_rate_limited(resp.status, await resp.json())
            async with other.get(
                f"/api/v1/games/{game['pin']}", headers={"X-Forwarded-For": new_address()}
            ) as resp:
                assert resp.status == 200


async def test_forwarded_for_is_ignored_without_trusted_proxies(
    server: TestServer, storage: dict[str, str]
) -> None:
    """With no TRUSTED_PROXIES every made-up X-Forwarded-For is the same peer: 127.0.0.1."""
    overrides = limited_settings(storage, trusted_proxies=[])
    overrides["redis_prefix"] = storage["redis_prefix"] + "rlnoproxy"
    async with separate_app(storage, **overrides) as plain:
        async with ClientSession(str(plain.make_url("")).rstrip("/")) as http:
            for _ in range(FAILURES):
                async with http.get(
                    f"/api/v1/games/{unknown_pin()}", headers={"X-Forwarded-For": new_address()}
                ) as resp:
                    assert resp.status == 404
            async with http.get(
                f"/api/v1/games/{unknown_pin()}", headers={"X-Forwarded-For": new_address()}
            ) as resp:
                assert_rate_limited(resp.status, await resp.json())


# -- events per socket ----------------------------------------------------------------------------


async def test_events_per_socket_are_limited_then_dropped(
    limited: Limited, http: ClientSession
) -> None:
    game = await limited.game(http)
    address = new_address()
    host, _ = await limited.handshake({"host_token": game["host_token"]}, address)
    await host.wait("welcome")
    player, _ = await limited.handshake({"pin": game["pin"], "nickname": "Ada"}, address)
    token = (await player.wait("welcome"))["player"]["player_token"]
    answer = {"question_index": 0, "answer": 1}

    # 15 answers within a second: 10 are judged (wrong_state in the lobby), 5 rate_limited
    acks = await asyncio.gather(*(player.call("submit_answer", answer) for _ in range(15)))
    codes = [ack["error"]["code"] for ack in acks]
    assert codes.count("wrong_state") == 10 and codes.count("rate_limited") == 5, codes
    # host commands too
    acks = await asyncio.gather(*(host.call("get_leaderboard") for _ in range(12)))
    assert [a["ok"] for a in acks].count(True) == 10
    assert [a["error"]["code"] for a in acks if not a["ok"]] == ["rate_limited"] * 2
    # the limit releases after the second
    await asyncio.sleep(1.05)
    ack = await player.call("submit_answer", answer)
    assert ack["error"]["code"] == "wrong_state"
    assert (await host.call("get_leaderboard"))["ok"]
    # a flood of more than 50 a second drops the socket, and only that one
    for _ in range(60):
        await player.client.emit("submit_answer", answer)
    for _ in range(100):
        if not player.client.connected:
            break
        await asyncio.sleep(0.02)
    assert not player.client.connected
    assert host.client.connected and (await host.call("get_leaderboard"))["total"] == 1
    # the flood counts nothing against the address: the player is back with its token
    back, refused = await limited.handshake({"player_token": token}, address)
    assert refused is None and (await back.wait("welcome"))["player"]["nickname"] == "Ada"
    await asyncio.gather(back.close(), host.close())


# -- handshakes -----------------------------------------------------------------------------------


async def _raw(http: ClientSession, address: str) -> tuple[Any, str]:
    """An Engine.IO WebSocket that never sends a Socket.IO CONNECT; (ws, engine.io sid)."""
    ws = await http.ws_connect(
        "/socket.io/?EIO=4&transport=websocket", headers={"X-Forwarded-For": address}
    )
    opened = await ws.receive_str(timeout=5)
    assert opened.startswith("0{")
    return ws, json.loads(opened[1:])["sid"]


async def _next_event(ws: Any, limit_s: float) -> tuple[float, str]:
    """(seconds, what) until the server sends an Engine.IO close packet or closes the socket."""
    started = time.monotonic()
    async with asyncio.timeout(limit_s):
        while True:
            msg = await ws.receive()
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
                return time.monotonic() - started, "closed"
            if msg.type == WSMsgType.ERROR:
                return time.monotonic() - started, "closed"
            if msg.type == WSMsgType.TEXT and msg.data == "1":
                return time.monotonic() - started, "close packet"


async def test_a_connection_without_a_handshake_is_dropped_fast(
    limited: Limited, http: ClientSession
) -> None:
    sio = limited.server.app[classquiz.SIO]
    assert limited.settings.handshake_timeout_s == 1.0 and sio.handshake_timeout_s == 1.0
    idle, idle_sid = await _raw(http, new_address())
    refused, refused_sid = await _raw(http, new_address())
    await refused.send_str("40{}")  # no usable auth: refused, then left open by the client
    assert (await refused.receive_str(timeout=5)).startswith("44{")
    assert idle_sid in sio.eio.sockets and refused_sid in sio.eio.sockets
    events = await asyncio.gather(_next_event(idle, 4), _next_event(refused, 4))
    for seconds, what in events:
        assert 0.5 < seconds < 3 and what in ("close packet", "closed"), events
    # the server forgot both sessions: a polite client closes on the close packet
    assert idle_sid not in sio.eio.sockets and refused_sid not in sio.eio.sockets
    await asyncio.gather(idle.close(), refused.close())
    # an accepted connection is not touched by the timeout
    game = await limited.game(http)
    host, error = await limited.handshake({"host_token": game["host_token"]}, new_address())
    assert error is None
    await asyncio.sleep(1.5)
    assert host.client.connected and (await host.call("get_leaderboard"))["ok"]
    await host.close()


async def test_a_client_ignoring_the_close_packet_is_cut_off(
    limited: Limited, http: ClientSession
) -> None:
    idle, _ = await _raw(http, new_address())
    try:
        _, what = await _next_event(idle, 3)
        assert what == "close packet"
        _, what = await _next_event(idle, 1.5)  # the server should cut the transport now
        assert what == "closed"
    finally:
        await idle.close()
