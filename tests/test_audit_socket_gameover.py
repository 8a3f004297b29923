"""Audit finding 5: sockets of a game that is over must not reach the next game on its PIN
(docs/security.md §9.5).

PINs are reused. Before the fix, host commands and Socket.IO rooms used only the PIN, and
sockets stayed connected after their game ended, so an old host socket steered (and
listened to) whatever game drew the same PIN next. Now every host command checks the game
id its token names, and each process disconnects the sockets of finished games after a
short grace, and those of expired or replaced games at once.

Runs against its own app with a 1 s grace. "The next game on the same PIN" is made with
real Redis keys: the old game's keys are deleted (as their TTL would), and a game created
through the API is renamed onto the freed PIN (a new game drawing that PIN at random).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from classquiz.errors import Refusal
from classquiz.runtime import SERVICES
from tests.support.apps import separate_app
from tests.support.live import SocketGroup, create_game
from tests.support.sockets import Recorder
from tests.support.users import ApiUser, register_user

GRACE_S = 1.0


class Room:
    def __init__(self, server: TestServer, http: ClientSession, owner: ApiUser) -> None:
        self.server = server
        self.http = http
        self.owner = owner
        self.sockets = SocketGroup(str(server.make_url("")).rstrip("/"))
        self.prefix: str = server.app[SERVICES].settings.redis_prefix
        self.redis: Redis = server.app[SERVICES].redis

    async def game(self, questions: int = 1) -> dict[str, Any]:
        return await create_game(self.owner, title="Game over", first=questions)

    async def connect(self, auth: dict[str, Any]) -> Recorder:
        return await self.sockets.connect(auth)

    async def game_keys(self, pin: str) -> list[bytes]:
        return [key async for key in self.redis.scan_iter(match=f"{self.prefix}:game:{{{pin}}}*")]

    async def expire(self, pin: str) -> None:
        """What the game's TTL does: every key of the PIN goes."""
        keys = await self.game_keys(pin)
        assert keys
        await self.redis.delete(*keys)

    async def move(self, from_pin: str, to_pin: str) -> None:
        """Put the game of `from_pin` on `to_pin`, as if it had drawn that PIN."""
        old = f"{self.prefix}:game:{{{from_pin}}}".encode()
        new = f"{self.prefix}:game:{{{to_pin}}}".encode()
        for key in await self.game_keys(from_pin):
            await self.redis.rename(key, new + key[len(old) :])
        await self.redis.hset(new.decode(), "pin", to_pin)


@pytest.fixture
async def room(server: TestServer, storage: dict[str, str]) -> AsyncIterator[Room]:
    async with separate_app(
        storage, redis_prefix=storage["redis_prefix"] + "gameover", game_over_grace_s=GRACE_S
    ) as test_server:
        async with ClientSession(str(test_server.make_url("")).rstrip("/")) as http:
            kit = Room(test_server, http, await register_user(http))
            async with kit.sockets:
                yield kit


async def _disconnected(client: Recorder, within_s: float) -> float:
    started = time.monotonic()
    while client.client.connected:
        if time.monotonic() - started > within_s:
            raise AssertionError(f"still connected after {within_s} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_sockets_of_a_finished_game_are_closed_after_the_grace(room: Room) -> None:
    game = await room.game()
    host = await room.connect({"host_token": game["host_token"]})
    ada = await room.connect({"pin": game["pin"], "nickname": "Ada"})
    bob = await room.connect({"pin": game["pin"], "nickname": "Bob"})
    assert (await host.call("start_game"))["ok"] is True
    await ada.wait("question_started")
    assert (await ada.call("submit_answer", {"question_index": 0, "answer": 1}))["ok"] is True
    assert (await host.call("end_game"))["ok"] is True
    finished_at = time.monotonic()
    for client in (host, ada, bob):
        assert (await client.wait("game_finished"))["game_id"] == game["game_id"]
    for player in (ada, bob):
        await player.wait("final_result")
    # during the grace: still connected, late commands answered as before
    for event in ("start_game", "end_game", "next_question", "lock_game"):
        payload = {"locked": True} if event == "lock_game" else {}
        ack = await host.call(event, payload)
        assert ack["ok"] is False and ack["error"]["code"] == "wrong_state", (event, ack)
    ack = await ada.call("submit_answer", {"question_index": 0, "answer": 1})
    assert ack["ok"] is False and ack["error"]["code"] == "wrong_state", ack
    assert time.monotonic() - finished_at < GRACE_S
    assert host.client.connected and ada.client.connected and bob.client.connected
    # then every socket of the game is closed, soon after the grace
    for client in (host, ada, bob):
        await _disconnected(client, within_s=GRACE_S + 2)
    assert time.monotonic() - finished_at >= GRACE_S * 0.9
    assert await room.sockets.refused({"host_token": game["host_token"]}) == "game_over"


async def test_an_old_host_socket_does_not_reach_the_next_game_on_its_pin(room: Room) -> None:
    old = await room.game()
    old_host = await room.connect({"host_token": old["host_token"]})
    old_player = await room.connect({"pin": old["pin"], "nickname": "Ada"})
    await room.expire(old["pin"])
    following = await room.game()
    await room.move(following["pin"], old["pin"])
    # both sockets of the expired game are closed at once (no grace: the game is gone)
    await _disconnected(old_host, within_s=2)
    await _disconnected(old_player, within_s=2)
    # a player joining the next game is not announced to the old host
    newcomer = await room.connect({"pin": old["pin"], "nickname": "Zed"})
    assert newcomer.events["welcome"][0]["game"]["game_id"] == following["game_id"]
    await asyncio.sleep(0.3)
    heard = [e["player"]["nickname"] for e in old_host.events["player_joined"]]
    assert heard == ["Ada"], heard  # its own game's player only


async def test_every_host_command_checks_the_game_its_token_names(room: Room) -> None:
    """The service refuses a host command for a game that no longer owns the PIN."""
    games = room.server.app[SERVICES].room
    old = await room.game()
    await room.expire(old["pin"])
    following = await room.game(questions=2)
    await room.move(following["pin"], old["pin"])
    pin, old_id = old["pin"], old["game_id"]
    player = await room.connect({"pin": pin, "nickname": "Ada"})
    player_id = player.events["welcome"][0]["player"]["player_id"]
    commands = [
        games.start_game(pin, old_id),
        games.end_question(pin, old_id),
        games.next_question(pin, old_id),
        games.end_game(pin, old_id),
        games.lock_game(pin, old_id, True),
        games.kick_player(pin, old_id, player_id, True),
        games.leaderboard(pin, old_id, 0, 10),
    ]
    for command in commands:
        with pytest.raises(Refusal) as refused:
            await command
        assert refused.value.code == "game_not_found"
    state = await games.store.state(pin)
    assert state is not None
    assert (state.game_id, state.status, state.locked) == (following["game_id"], "lobby", False)
    assert player.client.connected
    # the same commands with the right game id work
    assert (await games.leaderboard(pin, following["game_id"], 0, 10))["total"] == 1
    assert await games.start_game(pin, following["game_id"]) == {"question_index": 0}


async def test_the_game_id_is_checked_in_the_same_step_as_the_write(room: Room) -> None:
    """No window between the game-id check and the write that acts by PIN.

    `GameService` checks that the token's game owns the PIN, then runs a script
    that acts by PIN. If the PIN passed to another game in between (the old one
    expired at that moment), a script without the game id would start, finish or
    lock the new game, close its question, or make the old host its host. Here
    the PIN has already passed when the scripts run, which is what that
    interleaving leaves them with: each must refuse and change nothing.
    """
    store = room.server.app[SERVICES].games.store
    old = await room.game()
    new = await room.game()
    await room.expire(old["pin"])
    await room.move(new["pin"], old["pin"])
    pin, stale = old["pin"], old["game_id"]
    before = await store.meta(pin)
    assert before is not None and before["id"] == new["game_id"]

    assert (await store.finish(pin, stale)).code == "game_not_found"
    move = {
        "expected_status": "lobby",
        "expected_qi": -1,
        "new_qi": 0,
        "time_limit_ms": 10_000,
        "grace_ms": 500,
        "lock": False,
    }
    opened = await store.open_question(pin, game_id=stale, **move)
    assert opened.code == "game_not_found"
    assert (await store.close_question(pin, 0, True, stale)).code == "game_not_found"
    assert await store.lock(pin, stale, True) is False
    assert await store.set_host(pin, stale, "old-host-sid") is None
    assert await store.meta(pin) == before  # nothing was written
    # with the owning game's id the same writes go through
    assert await store.lock(pin, new["game_id"], True) is True
    new_id = new["game_id"]
    assert (await store.open_question(pin, game_id=new_id, **move)).ok
    assert (await store.close_question(pin, 0, True, new_id)).ok
    assert (await store.finish(pin, new["game_id"])).ok
