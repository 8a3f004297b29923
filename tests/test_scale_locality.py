"""A game lives on the process that holds its sockets (issue 13, docs/scaling.md).

Two real server processes share Redis. A pattern subscription on the processes'
prefix sees every pub/sub message they send each other, so the tests count what
crosses: a game whose sockets are all on one process sends nothing, a game that
spans both sends its broadcasts to the other process only, and in both every
player gets every broadcast exactly once. A deadline is fired by the process that
holds the game even while another process holds the deadline lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.support.play import answer_of, create_game, play, stored_once
from tests.support.processes import ServerProcess, process_prefix, running_servers
from tests.support.quizzes import sample_quiz
from tests.support.sockets import Recorder
from tests.support.users import register_user


@pytest.fixture(scope="module")
async def pair(
    storage: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    """Two server processes (A and B) for the whole module: each test plays its own
    games (own PINs), so they need no fresh processes, and starting them is most of
    the time."""
    async with running_servers(storage, tmp_path_factory.mktemp("scale"), "A", "B") as (a, b):
        yield a, b


class Crossings:
    """Every pub/sub message published under the processes' prefix, as (channel, text)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def about(self, pin: str) -> list[tuple[str, str]]:
        return [(ch, data) for ch, data in self.seen if pin in data]


@contextlib.asynccontextmanager
async def watching(redis_url: str, prefix: str) -> AsyncIterator[Crossings]:
    crossings = Crossings()
    client = Redis.from_url(redis_url, decode_responses=True)
    pubsub = client.pubsub()
    await pubsub.psubscribe(f"{prefix}:*")

    async def listen() -> None:
        async for message in pubsub.listen():
            if message["type"] == "pmessage":
                crossings.seen.append((message["channel"], message["data"]))

    task = asyncio.create_task(listen())
    try:
        yield crossings
    finally:
        await asyncio.sleep(0.3)  # the last messages in flight
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()


async def test_a_game_local_to_one_process_publishes_nothing(
    pair: tuple[ServerProcess, ServerProcess],
    storage: dict[str, str],
) -> None:
    a, b = pair
    assert a.http is not None
    owner = await register_user(a.http)
    prefix = process_prefix(storage)
    async with watching(storage["redis_url"], prefix) as crossings:
        game, _, _ = await play(a.url, [a.url] * 6, owner)
    assert crossings.about(game["pin"]) == [], crossings.about(game["pin"])[:5]
    await stored_once(owner, storage, game["game_id"], 6)

    # The probe is live: the same game on two processes is seen crossing.
    async with watching(storage["redis_url"], prefix) as crossings:
        spanning, _, _ = await play(a.url, [a.url, b.url], owner)
    assert crossings.about(spanning["pin"]), "a game on two processes published nothing"


async def test_a_game_that_spans_two_processes_reaches_everyone_once(
    pair: tuple[ServerProcess, ServerProcess],
    storage: dict[str, str],
    redis_client: Redis,
) -> None:
    a, b = pair
    assert a.http is not None
    owner = await register_user(a.http)
    prefix = process_prefix(storage)
    async with watching(storage["redis_url"], prefix) as crossings:
        game, _, _ = await play(a.url, [a.url, b.url, a.url, b.url, b.url], owner, questions=3)
    about = crossings.about(game["pin"])
    channels = {channel for channel, _ in about}
    # Only the processes' own channels carry the game (never the shared one), and
    # every kind of message crossed: the broadcasts and the per-reveal fan-out.
    assert channels and all(
        ch.startswith((f"{prefix}:socketio:", f"{prefix}:fanout:")) for ch in channels
    ), channels
    kinds = {ch.split(":")[-2] for ch in channels}
    assert kinds == {"socketio", "fanout"}, channels
    # Each reveal crossed once per question, in one message (not one per player).
    reveals = [d for ch, d in about if ch.startswith(f"{prefix}:fanout:") and '"reveal"' in d]
    assert len(reveals) == 3, reveals
    await stored_once(owner, storage, game["game_id"], 5)
    # Everyone is gone: no process holds the game any more.
    procs = f"{prefix}:game:{{{game['pin']}}}:procs"
    for _ in range(50):
        if await redis_client.scard(procs) == 0:
            break
        await asyncio.sleep(0.1)
    assert await redis_client.scard(procs) == 0


async def test_a_game_stops_publishing_once_it_is_local_again(
    pair: tuple[ServerProcess, ServerProcess],
    storage: dict[str, str],
    redis_client: Redis,
) -> None:
    """A player on B leaves: from then on the game is A's alone and sends nothing."""
    a, b = pair
    assert a.http is not None
    owner = await register_user(a.http)
    prefix = process_prefix(storage)
    game = await create_game(owner, [sample_quiz()["questions"][0]] * 2)
    pin = game["pin"]
    procs = f"{prefix}:game:{{{pin}}}:procs"
    host = await Recorder(a.url).connect({"host_token": game["host_token"]})
    here = await Recorder(a.url).connect({"pin": pin, "nickname": "Here"})
    away = await Recorder(b.url).connect({"pin": pin, "nickname": "Away"})
    try:
        await here.wait("welcome")
        await away.wait("welcome")
        await host.wait("player_joined", count=2)
        assert await redis_client.scard(procs) == 2
        await away.close()
        await host.wait("player_status")
        for _ in range(50):
            if await redis_client.scard(procs) == 1:
                break
            await asyncio.sleep(0.1)
        assert await redis_client.scard(procs) == 1
        async with watching(storage["redis_url"], prefix) as crossings:
            assert (await host.call("start_game"))["ok"]
            started = await here.wait("question_started")
            ack = await here.call(
                "submit_answer", {"question_index": 0, "answer": answer_of(started["question"], 0)}
            )
            assert ack["ok"], ack  # everyone still here answered: the question ends
            await host.wait("question_ended")
            await here.wait("your_result")
        assert crossings.about(pin) == [], crossings.about(pin)[:5]
    finally:
        await asyncio.gather(*(c.close() for c in (host, here, away)), return_exceptions=True)


async def test_a_deadline_is_fired_where_its_game_lives(
    pair: tuple[ServerProcess, ServerProcess],
    storage: dict[str, str],
    redis_client: Redis,
) -> None:
    """The game lives on B while A holds the deadline lease and is frozen: B ends the
    question itself, before A's lease has lapsed (so not as the lease's new holder)."""
    a, b = pair
    assert b.http is not None
    owner = await register_user(b.http)
    lease_key = f"{process_prefix(storage)}:lease:deadlines"
    game = await create_game(owner, [{**sample_quiz()["questions"][0], "time_limit_s": 5}])
    host = await Recorder(b.url).connect({"host_token": game["host_token"]})
    player = await Recorder(b.url).connect({"pin": game["pin"], "nickname": "Bee"})
    try:
        await player.wait("welcome")
        await host.wait("player_joined")
        # A takes the lease while B is frozen.
        b.proc.send_signal(signal.SIGSTOP)
        try:
            await asyncio.sleep(2.0)
            owner_a = await redis_client.get(lease_key)
        finally:
            b.proc.send_signal(signal.SIGCONT)
        assert owner_a is not None
        assert (await host.call("start_game"))["ok"]
        started = await player.wait("question_started")
        # Freeze A (lease and all) just before the deadline, until the question ended.
        wait_s = (started["deadline_at_ms"] - time.time() * 1000) / 1000 - 0.3
        await asyncio.sleep(max(wait_s, 0))
        a.proc.send_signal(signal.SIGSTOP)
        try:
            ended = await player.wait("question_ended", timeout=10)
            holder = await redis_client.get(lease_key)
        finally:
            a.proc.send_signal(signal.SIGCONT)
        assert ended["question_index"] == 0 and ended["answered"] == 0, ended
        assert holder == owner_a, "the question was ended by the lease's next holder, not by B"
        assert (await player.wait("your_result"))["answered"] is False
    finally:
        await asyncio.gather(*(c.close() for c in (host, player)), return_exceptions=True)
