"""Drill: Redis goes away in the middle of a game, then comes back (issue 14).

A private redis-server (`appendonly yes`, `appendfsync everysec`, its own port and
directory: tests/support/redis_server.py) and a real `python -m classquiz serve`
process on it, played with real Socket.IO clients. Three ways Redis can fail:

* a restart (SIGTERM, then a new redis-server on the same AOF) mid-question;
* a crash (SIGKILL) while 40 players submit at once;
* a hang (SIGSTOP) during a submit, longer than the server's REDIS_TIMEOUT_S.

What must hold each time: while Redis is away, clients get `service_unavailable`
(commands and handshakes alike) and the server process stays up; no answer is
acknowledged `ok` unless Redis took it, so every `ok` is in PostgreSQL exactly
once at the end; after Redis is back the same game goes on to its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientSession

from tests.support.database import stored_rows
from tests.support.live import create_game
from tests.support.processes import ServerProcess, start_server, wait_ready
from tests.support.quizzes import single_choice
from tests.support.redis_server import PrivateRedis
from tests.support.sockets import Recorder
from tests.support.users import ApiUser, register_user

# Long questions: a deadline must not end a question while Redis is away on purpose.
QUESTIONS = [single_choice("Drill one", time_limit_s=120), single_choice("Drill two", 120)]
UNAVAILABLE = "service_unavailable"


@dataclass
class Drill:
    redis: PrivateRedis
    server: ServerProcess
    user: ApiUser
    database_url: str
    clients: list[Recorder]

    async def game(self, players: int) -> tuple[dict[str, Any], Recorder, list[Recorder]]:
        """A game in the lobby with its host and `players` players connected."""
        game = await create_game(self.user, QUESTIONS, settings={"auto_end_question": True})
        host = await self.connect({"host_token": game["host_token"]})
        crowd = await asyncio.gather(
            *(self.connect({"pin": game["pin"], "nickname": f"R{i}"}) for i in range(players))
        )
        await host.wait("player_joined", count=players)
        return game, host, list(crowd)

    async def connect(self, auth: dict[str, Any]) -> Recorder:
        client = Recorder(self.server.url)
        self.clients.append(client)
        return await client.connect(auth)

    async def wait_stored(self, game_id: str, rows: tuple[int, int, int]) -> None:
        """Until PostgreSQL holds `rows` (games, players, answers) for the game."""
        for _ in range(150):
            if stored_rows(self.database_url, game_id) == rows:
                return
            await asyncio.sleep(0.1)
        assert stored_rows(self.database_url, game_id) == rows

    async def health(self, path: str) -> int:
        async with ClientSession() as http, http.get(f"{self.server.url}{path}") as resp:
            return resp.status


@pytest.fixture(scope="module")
async def drill_stack(
    storage: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Drill]:
    """A private Redis and a server process on it (and on the run's database), shared
    by the module's drills: each plays its own game and leaves Redis running."""
    tmp_path = tmp_path_factory.mktemp("redis-drill")
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    server = start_server(
        "redis-drill",
        storage,
        tmp_path,
        env_overrides={"REDIS_URL": redis.url, "REDIS_PREFIX": "drill", "REDIS_TIMEOUT_S": "1"},
    )
    try:
        await wait_ready(server, 90)
        async with ClientSession(server.url) as http:
            yield Drill(redis, server, await register_user(http), storage["database_url"], [])
    finally:
        if redis.proc is not None and redis.proc.poll() is None:
            redis.proc.send_signal(signal.SIGCONT)
        server.stop()
        redis.crash()


@pytest.fixture
async def drill(drill_stack: Drill) -> AsyncIterator[Drill]:
    """The shared drill stack, with Redis up and this test's clients closed after it."""
    yield drill_stack
    for client in drill_stack.clients:
        with contextlib.suppress(Exception):
            await client.close()
    drill_stack.clients.clear()
    redis = drill_stack.redis
    if redis.proc is not None and redis.proc.poll() is None:
        redis.proc.send_signal(signal.SIGCONT)
    else:
        redis.start()


def is_ok(ack: Any) -> bool:
    return isinstance(ack, dict) and ack.get("ok") is True


def code_of(ack: Any) -> str | None:
    return ack.get("error", {}).get("code") if isinstance(ack, dict) else None


async def test_redis_restart_mid_question(drill: Drill) -> None:
    game, host, players = await drill.game(6)
    first, second = players[:3], players[3:]
    assert (await host.call("start_game"))["ok"]
    for p in players:
        await p.wait("question_started")
    acks = await asyncio.gather(
        *(p.call("submit_answer", {"question_index": 0, "answer": 0}) for p in first)
    )
    assert all(is_ok(a) for a in acks), acks

    drill.redis.stop()  # a clean shutdown writes and fsyncs the AOF

    # While Redis is away: a plain refusal for every command and handshake, no `ok`.
    acks = await asyncio.gather(
        *(p.call("submit_answer", {"question_index": 0, "answer": 1}) for p in second)
    )
    assert [code_of(a) for a in acks] == [UNAVAILABLE] * 3, acks
    assert code_of(await host.call("end_question")) == UNAVAILABLE
    refused = await Recorder(drill.server.url).try_connect({"pin": game["pin"], "nickname": "Late"})
    assert refused is not None and refused["code"] == UNAVAILABLE, refused
    assert await drill.health("/healthz") == 200
    assert await drill.health("/readyz") == 503
    assert drill.server.proc.poll() is None, drill.server.log_tail()

    drill.redis.start()  # the same port and directory: the AOF is read back
    await wait_ready(drill.server, 60)

    # The answers taken before the restart are still there; the refused ones go in now.
    again = await first[0].call("submit_answer", {"question_index": 0, "answer": 2})
    assert code_of(again) == "already_answered", again
    acks = await asyncio.gather(
        *(p.call("submit_answer", {"question_index": 0, "answer": 1}) for p in second)
    )
    assert all(is_ok(a) for a in acks), acks
    ended = await host.wait("question_ended")  # everyone answered: it closes by itself
    assert ended["question_index"] == 0
    for p in players:
        await p.wait("your_result")

    # The game goes on to its end, and every acknowledged answer is stored once.
    assert await host.call("next_question") == {"ok": True, "question_index": 1}
    for p in players:
        await p.wait("question_started", count=2)
    acks = await asyncio.gather(
        *(p.call("submit_answer", {"question_index": 1, "answer": 0}) for p in players)
    )
    assert all(is_ok(a) for a in acks), acks
    await host.wait("question_ended", count=2)
    assert (await host.call("end_game"))["ok"]
    for p in players:
        await p.wait("final_result")
    await drill.wait_stored(game["game_id"], (1, 6, 12))
    assert drill.server.proc.poll() is None


async def test_redis_crash_while_players_answer(drill: Drill) -> None:
    """SIGKILL while 40 answers are in flight: each either got `ok` (and survives the
    crash: Redis wrote it to the AOF before it replied) or `service_unavailable` (and
    the player sends it again once Redis is back)."""
    game, host, players = await drill.game(40)
    assert (await host.call("start_game"))["ok"]
    for p in players:
        await p.wait("question_started")

    replied: list[Any] = []
    first_replies = asyncio.Event()

    async def answer(p: Recorder, delay: float) -> Any:
        await asyncio.sleep(delay)
        ack = await p.call("submit_answer", {"question_index": 0, "answer": 0})
        replied.append(ack)
        if len(replied) >= 5:
            first_replies.set()
        return ack

    in_flight = [asyncio.create_task(answer(p, i * 0.01)) for i, p in enumerate(players)]
    # Crash once the first few answers were acknowledged (not after a fixed time: a
    # loaded machine may not have sent any yet), with most still to come.
    await asyncio.wait_for(first_replies.wait(), timeout=30)
    drill.redis.crash()
    acks = await asyncio.gather(*in_flight)
    acked = [p for p, a in zip(players, acks, strict=True) if is_ok(a)]
    refused = [p for p, a in zip(players, acks, strict=True) if not is_ok(a)]
    assert all(code_of(a) == UNAVAILABLE for a in acks if not is_ok(a)), acks
    assert acked and refused, acks  # the crash did land in the middle of the burst
    assert drill.server.proc.poll() is None, drill.server.log_tail()

    drill.redis.start()
    await wait_ready(drill.server, 60)
    # Every `ok` survived: its second try is refused as a repeat.
    repeats = await asyncio.gather(
        *(p.call("submit_answer", {"question_index": 0, "answer": 1}) for p in acked)
    )
    assert [code_of(a) for a in repeats] == ["already_answered"] * len(acked), repeats
    # A refused answer may or may not have been taken (the reply, not the command,
    # may be what the crash cut off): its retry says `ok` or `already_answered`.
    retries = await asyncio.gather(
        *(p.call("submit_answer", {"question_index": 0, "answer": 0}) for p in refused)
    )
    assert all(is_ok(a) or code_of(a) == "already_answered" for a in retries), retries

    await host.wait("question_ended")
    assert (await host.call("end_game"))["ok"]
    await drill.wait_stored(game["game_id"], (1, 40, 40))


async def test_redis_hang_during_a_submit(drill: Drill) -> None:
    """A Redis that stops answering (SIGSTOP) costs the submit a `service_unavailable`
    after REDIS_TIMEOUT_S (1 s here), not a hang and never an `ok`; whether the command
    ran once Redis woke up, the retry tells (`ok` or `already_answered`)."""
    game, host, players = await drill.game(2)
    assert (await host.call("start_game"))["ok"]
    for p in players:
        await p.wait("question_started")
    assert drill.redis.proc is not None
    drill.redis.proc.send_signal(signal.SIGSTOP)
    try:
        ack = await players[0].call("submit_answer", {"question_index": 0, "answer": 0})
        assert code_of(ack) == UNAVAILABLE, ack
        assert drill.server.proc.poll() is None
    finally:
        drill.redis.proc.send_signal(signal.SIGCONT)
    await wait_ready(drill.server, 60)
    retry = await players[0].call("submit_answer", {"question_index": 0, "answer": 0})
    assert is_ok(retry) or code_of(retry) == "already_answered", retry
    assert is_ok(await players[1].call("submit_answer", {"question_index": 0, "answer": 1}))
    await host.wait("question_ended")
    assert (await host.call("end_game"))["ok"]
    await drill.wait_stored(game["game_id"], (1, 2, 2))
