"""Audit finding 7 (a): a game whose host walks away is finished and stored anyway.

Real server apps (each with its own Redis prefix and short auto-finish settings),
real Socket.IO clients over real sockets, the real PostgreSQL. Nobody sends
`end_game` or the last `next_question`: the server finishes the game on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from classquiz.game.keys import GameKeys
from classquiz.runtime import SERVICES
from tests.support.apps import separate_app
from tests.support.database import stored_rows
from tests.support.live import SocketGroup, create_game
from tests.support.quizzes import TRUE_FALSE
from tests.support.sockets import Recorder
from tests.support.users import ApiUser, register_user


class Table:
    """One game on `app`: a host and two players, played question by question."""

    def __init__(self, app: TestServer, owner: ApiUser, game: dict[str, Any]) -> None:
        self.owner = owner
        self.game = game
        self.sockets = SocketGroup(str(app.make_url("")).rstrip("/"))
        self.host: Recorder | None = None
        self.players: list[Recorder] = []

    async def seat(self) -> None:
        self.host = await self.connect_host()
        for name in ("Ada", "Bob"):
            self.players.append(await self.sockets.player(self.game, name))
        await self.host.wait("player_joined", count=2)

    async def connect_host(self) -> Recorder:
        return await self.sockets.host(self.game)

    async def play(self, qi: int) -> None:
        """Both players answer question `qi`; it ends at once (everyone answered)."""
        assert self.host is not None
        for p in self.players:
            await p.wait("question_started", count=qi + 1)
        acks = await asyncio.gather(
            *(
                p.call("submit_answer", {"question_index": qi, "answer": k})
                for k, p in enumerate(self.players)
            )
        )
        assert all(ack["ok"] for ack in acks), acks
        await self.host.wait("question_ended", count=qi + 1)

    async def close(self) -> None:
        await self.sockets.close()


async def open_table(app: TestServer, http: ClientSession, questions: int) -> Table:
    owner = await register_user(http)
    game = await create_game(owner, [TRUE_FALSE] * questions, title="Walk-away quiz")
    table = Table(app, owner, game)
    await table.seat()
    return table


Started = tuple[TestServer, ClientSession, "Table"]
GameFactory = Callable[..., AbstractAsyncContextManager[Started]]


@pytest.fixture
def started_game(storage: dict[str, str], server: TestServer) -> GameFactory:
    """A started game of `questions` true/false questions (host and two players seated)
    on an app of its own with the given settings: its own Redis prefix, so no other app
    fires its timers; `server` owns the run's database connection the app shares."""

    @contextlib.asynccontextmanager
    async def make(questions: int, **settings: Any) -> AsyncIterator[Started]:
        prefix = f"{storage['redis_prefix']}af{uuid.uuid4().hex[:6]}"
        async with (
            separate_app(storage, redis_prefix=prefix, **settings) as app,
            ClientSession(app.make_url("")) as http,
        ):
            table = await open_table(app, http, questions)
            try:
                assert table.host is not None
                assert (await table.host.call("start_game"))["ok"]
                yield app, http, table
            finally:
                await table.close()

    return make


async def table_rows(storage: dict[str, str], table: Table) -> tuple[int, int, int]:
    return await asyncio.to_thread(stored_rows, storage["database_url"], table.game["game_id"])


async def wait_stored(table: Table, timeout: float) -> dict[str, Any]:
    """The stored results of the table's game, polled over REST until they appear."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = await table.owner.request("GET", f"/api/v1/results/{table.game['game_id']}")
        if status == 200:
            return body
        assert time.monotonic() < deadline, f"results never stored: {status} {body}"
        await asyncio.sleep(0.2)


async def game_status(http: ClientSession, pin: str) -> str:
    async with http.get(f"/api/v1/games/{pin}") as resp:
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["status"])


async def test_host_who_walks_away_after_the_last_reveal(
    started_game: GameFactory, storage: dict[str, str]
) -> None:
    """The teacher closes the tab after the last reveal: finished and stored without them."""
    async with started_game(
        2, auto_finish_without_host_s=1, auto_finish_after_last_reveal_s=3600
    ) as (_app, http, table):
        assert table.host is not None
        await table.play(0)
        assert await table.host.call("next_question") == {"ok": True, "question_index": 1}
        await table.play(1)
        await table.host.close()  # the tab is closed; no next_question ever comes
        for p in table.players:
            finished = await p.wait("game_finished", timeout=8)
            assert finished["game_id"] == table.game["game_id"]
            final = await p.wait("final_result", timeout=5)
            assert final["question_count"] == 2
        stored = await wait_stored(table, timeout=8)
        assert [q["answered"] for q in stored["questions"]] == [2, 2]
        assert {p["nickname"] for p in stored["players"]} == {"Ada", "Bob"}
        rows = await table_rows(storage, table)
        assert rows == (1, 2, 4), rows
        assert await game_status(http, table.game["pin"]) == "finished"


async def test_idle_after_the_last_reveal_finishes_with_the_host_still_there(
    started_game: GameFactory, storage: dict[str, str]
) -> None:
    """A host screen left open after the last reveal: finished after the idle time."""
    async with started_game(
        1, auto_finish_without_host_s=3600, auto_finish_after_last_reveal_s=1
    ) as (_app, _http, table):
        assert table.host is not None
        await table.play(0)
        ended_at = time.monotonic()
        finished = await table.host.wait("game_finished", timeout=8)
        assert time.monotonic() - ended_at >= 0.5, "finished before the idle time"
        assert finished["game_id"] == table.game["game_id"]
        stored = await wait_stored(table, timeout=8)
        assert [q["answered"] for q in stored["questions"]] == [2]
        # The host's late command finds the game over, as after an end_game.
        late = await table.host.call("next_question")
        assert late["ok"] is False and late["error"]["code"] == "wrong_state", late


async def test_host_gone_mid_game_and_back_in_time_keeps_the_game(
    started_game: GameFactory, storage: dict[str, str]
) -> None:
    """Away for less than the setting: nothing happens. Away for longer: finished, stored,
    with the questions never played recorded as such. A reveal that is not the last one
    is never finished for idleness while the host is there."""
    async with started_game(3, auto_finish_without_host_s=2, auto_finish_after_last_reveal_s=1) as (
        _app,
        http,
        table,
    ):
        assert table.host is not None
        await table.play(0)
        await table.host.close()
        await asyncio.sleep(0.5)
        table.host = await table.connect_host()  # back (a page reload)
        await asyncio.sleep(3.0)  # past both settings
        assert await game_status(http, table.game["pin"]) == "reveal"
        assert not any(p.events["game_finished"] for p in table.players)

        await table.host.close()  # gone for good
        left_at = time.monotonic()
        for p in table.players:
            await p.wait("game_finished", timeout=8)
        assert time.monotonic() - left_at >= 1.9, "finished before the host was away long enough"
        stored = await wait_stored(table, timeout=8)
        assert stored["game"]["question_count"] == 3
        assert [q["answered"] for q in stored["questions"]] == [2, 0, 0]
        rows = await table_rows(storage, table)
        assert rows == (1, 2, 2), rows


async def test_a_started_game_is_finished_before_its_keys_expire(
    started_game: GameFactory, storage: dict[str, str], redis_client: Redis
) -> None:
    """The safety net under both settings (here both off): a game nobody finishes, with
    the host still connected (as when the host's process died with its socket), is
    finished before its Redis keys expire. The timer's due instant is checked against
    the keys' real TTL; then it is moved to now, standing in for the hours in between."""
    ttl_s = 3600
    async with started_game(
        2, auto_finish_without_host_s=0, auto_finish_after_last_reveal_s=0, game_ttl_s=ttl_s
    ) as (app, http, table):
        assert table.host is not None
        opened = await table.players[0].wait("question_started")
        await table.play(0)
        prefix = app.app[SERVICES].settings.redis_prefix
        timers = await redis_client.zrange(f"{prefix}:auto-finish", 0, -1, withscores=True)
        member = f"{table.game['pin']}:{table.game['game_id']}:expiring".encode()
        assert [m for m, _ in timers] == [member], timers
        due_ms = int(timers[0][1])
        assert due_ms == opened["opens_at_ms"] + ttl_s * 1000 - ttl_s * 100  # a tenth early
        game_key = GameKeys(prefix, table.game["pin"]).game
        expires_in_ms = await redis_client.pttl(game_key)
        seconds, micros = await redis_client.time()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        assert now_ms + expires_in_ms > due_ms + 300_000, "fires too late to save the game"
        await asyncio.sleep(2)
        assert await game_status(http, table.game["pin"]) == "reveal"

        await redis_client.zadd(f"{prefix}:auto-finish", {member: now_ms})  # hours later
        for p in table.players:
            await p.wait("game_finished", timeout=8)
        stored = await wait_stored(table, timeout=8)
        assert [q["answered"] for q in stored["questions"]] == [2, 0]
        assert await redis_client.zcard(f"{prefix}:auto-finish") == 0
