"""Audit finding 4: every live key of a game expires, and a reused PIN starts clean.

A key without a TTL outlives its game: Redis fills up over the months, and the
next game that draws the same PIN inherits the old roster, online marks and
answers. These tests walk every key under the game's hash tag (SCAN, so a key
nobody thought of is caught too) at each phase of a real game played over real
sockets, and replay a PIN on purpose.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from classquiz.game.keys import pin_key
from classquiz.game.store import GameStore
from classquiz.runtime import SERVICES
from classquiz.services.room import FINISHED_TTL_S
from tests.support.live import SocketGroup, create_game, paced, stored_results
from tests.support.quizzes import single_choice
from tests.support.users import ApiUser


@pytest.fixture
def store(server: TestServer) -> Iterator[GameStore]:
    """The running app's GameStore; its PIN source is put back after the test."""
    game_store = server.app[SERVICES].games.store
    original = game_store.draw_pin
    try:
        yield game_store
    finally:
        game_store.draw_pin = original


async def key_ttls(redis_client: Redis, prefix: str, pin: str) -> dict[str, int]:
    """Every key under the game's hash tag, by suffix, with its TTL in ms (-1: none)."""
    base = f"{prefix}:game:{{{pin}}}"
    out: dict[str, int] = {}
    async for raw in redis_client.scan_iter(match=f"{base}*", count=1000):
        key = raw.decode()
        out[key[len(base) :] or "<game>"] = await redis_client.pttl(key)
    return out


def assert_all_expire(ttls: dict[str, int], phase: str, at_most_ms: int) -> None:
    missing = {suffix: ttl for suffix, ttl in ttls.items() if not 0 < ttl <= at_most_ms}
    assert not missing, f"{phase}: keys without a proper TTL: {missing}"


async def test_every_key_of_a_game_expires_in_every_phase(
    user: ApiUser,
    sockets: SocketGroup,
    redis_client: Redis,
    storage: dict[str, str],
    store: GameStore,
) -> None:
    prefix = storage["redis_prefix"]
    game = await create_game(user, [single_choice("One"), single_choice("Two")])
    pin = game["pin"]
    host = await sockets.host(game)
    ada = await sockets.player(game, "Ada")
    bob = await sockets.player(game, "Bob")
    troll = await sockets.player(game, "Troll")
    troll_id = troll.events["welcome"][0]["player"]["player_id"]
    assert (await paced(host, "kick_player", {"player_id": troll_id, "ban": True}))["ok"]
    await host.wait("player_left")
    ttl_ms = store.ttl_s * 1000

    lobby = await key_ttls(redis_client, prefix, pin)
    assert {"<game>", ":quiz", ":players", ":nicks", ":scores", ":streaks", ":online"} <= set(
        lobby
    ), lobby
    assert {":banned"} <= set(lobby), lobby
    assert_all_expire(lobby, "lobby", ttl_ms)

    assert (await paced(host, "start_game"))["ok"]
    await ada.wait("question_started")
    assert (await paced(ada, "submit_answer", {"question_index": 0, "answer": 0}))["ok"]
    question = await key_ttls(redis_client, prefix, pin)
    assert {":a:0", ":d:0", ":correct"} <= set(question), question
    assert_all_expire(question, "question", ttl_ms)

    assert (await paced(bob, "submit_answer", {"question_index": 0, "answer": 1}))["ok"]
    await host.wait("question_ended")
    assert_all_expire(await key_ttls(redis_client, prefix, pin), "reveal", ttl_ms)

    assert (await paced(host, "next_question"))["ok"]
    await bob.wait("question_started", count=2)
    assert (await paced(ada, "submit_answer", {"question_index": 1, "answer": 0}))["ok"]
    assert (await paced(bob, "submit_answer", {"question_index": 1, "answer": 0}))["ok"]
    await host.wait("question_ended", count=2)
    assert (await paced(host, "next_question")) == {"ok": True, "finished": True}
    await stored_results(user, game["game_id"])
    finished = await key_ttls(redis_client, prefix, pin)
    assert {":a:1", ":d:1", ":correct", ":players"} <= set(finished), finished
    # shortened with the game hash at the end, the PIN reservation included
    assert_all_expire(finished, "finished", FINISHED_TTL_S * 1000)
    assert 0 < await redis_client.pttl(pin_key(prefix, pin)) <= FINISHED_TTL_S * 1000


async def let_time_pass(redis_client: Redis, prefix: str, pin: str) -> None:
    """What hours of waiting would do: every key of the PIN that has a TTL expires now."""
    keys = [
        f"{prefix}:game:{{{pin}}}{suffix}" for suffix in await key_ttls(redis_client, prefix, pin)
    ]
    keys = [k.replace("<game>", "") for k in keys] + [pin_key(prefix, pin)]
    for key in keys:
        if await redis_client.pttl(key) > 0:
            await redis_client.pexpire(key, 1)
    await asyncio.sleep(0.05)


async def plant_leftovers(redis_client: Redis, prefix: str, pin: str) -> None:
    """Keys an older server version left behind without a TTL (the state before the fix)."""
    base = f"{prefix}:game:{{{pin}}}"
    ghost = "00000000-0000-4000-8000-000000000001"
    await redis_client.hset(f"{base}:players", ghost, '{"n":"Ghost","k":"ghost","j":1}')
    await redis_client.hset(f"{base}:nicks", "ghost", ghost)
    await redis_client.hset(f"{base}:online", ghost, "gone-socket")
    await redis_client.hset(f"{base}:gone", ghost, "left")
    await redis_client.zadd(f"{base}:scores", {ghost: 5000})
    await redis_client.hset(f"{base}:correct", ghost, 7)
    await redis_client.hset(f"{base}:a:0", ghost, '{"a":0,"c":1,"p":900,"e":1,"t":1,"s":0}')
    await redis_client.hset(f"{base}:d:0", "0", 41)
    await redis_client.sadd(f"{base}:banned", "carol")


async def test_a_reused_pin_sees_nothing_of_the_game_before(
    user: ApiUser,
    sockets: SocketGroup,
    redis_client: Redis,
    storage: dict[str, str],
    store: GameStore,
) -> None:
    prefix = storage["redis_prefix"]
    first = await create_game(user, [single_choice("One")])
    pin = first["pin"]
    store.draw_pin = lambda: pin

    # Game A: a lobby and one answered question, then the teacher walks away.
    host = await sockets.host(first)
    ada = await sockets.player(first, "Ada")
    await sockets.player(first, "Bob")
    assert (await paced(host, "start_game"))["ok"]
    await ada.wait("question_started")
    assert (await paced(ada, "submit_answer", {"question_index": 0, "answer": 0}))["ok"]
    assert (await paced(host, "end_question"))["ok"]
    await ada.wait("question_ended")
    await sockets.close()
    sockets.clients.clear()
    await let_time_pass(redis_client, prefix, pin)
    await plant_leftovers(redis_client, prefix, pin)

    # Game B draws the same PIN.
    second = await create_game(user, [single_choice("Again")])
    assert second["pin"] == pin
    host = await sockets.host(second)
    state = host.events["welcome"][0]["game"]
    assert state["players"] == [] and state["players_count"] == 0, state
    async with user.http.get(f"/api/v1/games/{pin}") as resp:
        assert (await resp.json())["accepting_players"] is True
    # the old nicknames (and the planted ban) are free again
    carol = await sockets.player(second, "Carol")
    ada = await sockets.player(second, "Ada")
    ghost = await sockets.player(second, "Ghost")
    joined = await host.wait("player_joined", count=3)
    assert joined["players_count"] == 3
    assert (await paced(host, "start_game"))["ok"]
    await ada.wait("question_started")
    assert (await paced(ada, "submit_answer", {"question_index": 0, "answer": 1}))["ok"]
    assert (await paced(ghost, "submit_answer", {"question_index": 0, "answer": 1}))["ok"]
    # Carol has not answered: the question must not end on stale online marks
    await asyncio.sleep(0.3)
    assert "question_ended" not in host.events
    assert (await paced(carol, "submit_answer", {"question_index": 0, "answer": 0}))["ok"]
    ended = await host.wait("question_ended")
    assert ended["answered"] == 3 and ended["distribution"] == {"0": 1, "1": 2}, ended
    ack = await paced(host, "next_question")
    assert ack == {"ok": True, "finished": True}
    results = await stored_results(user, second["game_id"])
    assert sorted(p["nickname"] for p in results["players"]) == ["Ada", "Carol", "Ghost"]
    assert max(p["score"] for p in results["players"]) < 1000, results["players"]
