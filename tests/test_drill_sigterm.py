"""Drill: SIGTERM during a game, behind Caddy on `serve --workers 2`.

A worker told to stop drains (classquiz/socket_server/drain.py): it stops
accepting, lets the events it is handling finish (their acks go out), closes
every socket at the Engine.IO level so clients reconnect elsewhere, stores what
is left, and exits. The contract is 10 s from the signal to the exit; the drain
time is measured and checked against it here, not as a benchmark.

1. A worker gets SIGTERM mid-question in a 100-player game, with answers in
   flight: the same promises as the kill drill (tests/support/class_drill.py),
   plus the drain time; the supervisor starts the worker again.
2. The supervisor gets SIGTERM right after the last question's results were
   sent for storing: every worker drains, the supervisor exits 0, and the
   results are in PostgreSQL exactly once (none left parked in Redis).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import ClientSession

from classquiz.socket_server.drain import InFlight
from tests.support.caddy import CaddyFront, caddy_in_front
from tests.support.class_drill import (
    PLAYERS,
    Strike,
    correct_choice,
    game_url,
    play_question,
    stored_answers,
    struck_game,
)
from tests.support.database import stored_rows
from tests.support.drill import (
    DrillClient,
    join_class,
    socket_count,
    wait_url_ready,
    workers_by_port,
)
from tests.support.live import create_game
from tests.support.processes import process_prefix
from tests.support.quizzes import single_choice
from tests.support.users import register_user

# A 100-player game, a worker's restart (seconds of Python imports) and Caddy, on a
# shared 2-core machine: more than the suite's default 120 s when the machine is busy.
pytestmark = pytest.mark.timeout(240)

DRAIN_CONTRACT_S = 10.0


@pytest.fixture(scope="module")
async def front(
    storage: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[CaddyFront]:
    """One deployment for both drills; the second ends it (it stops the supervisor)."""
    async with caddy_in_front(storage, tmp_path_factory.mktemp("sigterm")) as started:
        yield started


async def test_a_worker_stopped_mid_question_drains_in_time_and_loses_nothing(
    front: CaddyFront, storage: dict[str, str]
) -> None:
    supervisor_pid = front.supervisor.proc.pid

    async def back_again(
        strike: Strike, players: list[DrillClient], results: dict[str, dict[str, Any]]
    ) -> None:
        # A worker that exits on its own (not by the supervisor's stop) is started again.
        for _ in range(400):
            pid = workers_by_port(supervisor_pid).get(strike.victim_port)
            if pid is not None and pid != strike.victim_pid:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the stopped worker was not started again")

    strike = await struck_game(front, storage["database_url"], signal.SIGTERM, back_again)
    assert strike.exited_after_s is not None and strike.exited_after_s < DRAIN_CONTRACT_S
    # A drained socket was closed, not cut: every one of its people came back.
    assert all(c.outages and c.outages[-1].back_at is not None for c in strike.on_victim)
    print(f"\n{strike.summary('worker-sigterm')}")


async def test_stopping_the_supervisor_stores_the_results_it_was_writing(
    front: CaddyFront, storage: dict[str, str]
) -> None:
    async with ClientSession(front.url) as http:
        owner = await register_user(http)
        game = await create_game(owner, [single_choice("Only", time_limit_s=30)])
    entry = [game_url(front.url, game["pin"])]
    # The first drill's worker was started again: wait until both serve.
    await asyncio.gather(*(wait_url_ready(url) for url in front.worker_urls))
    host = await DrillClient("host", entry, {"host_token": game["host_token"]}).connect()
    players = await join_class(entry, game["pin"], PLAYERS)
    everyone = [host, *players]
    try:
        await host.wait_for("player_joined", {"players_count": PLAYERS})
        assert (await host.call("start_game", {}) or {}).get("ok")
        started = await players[0].wait_for("question_started", {"question_index": 0})
        assert correct_choice(started["question"]) >= 0
        await play_question(host, players, 0)
        for c in everyone:
            c.closing = True  # nobody to reconnect to once the supervisor is gone
        counts = [await socket_count(url) for url in front.worker_urls]
        # The last next_question ends the game: the results go to storage in the background.
        done = await host.call("next_question", {})
        assert done == {"ok": True, "finished": True}, done
        stopped_at = time.monotonic()
        front.supervisor.proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(front.supervisor.proc.wait, 30)
        drain_s = time.monotonic() - stopped_at
    except subprocess.TimeoutExpired:
        raise AssertionError("the supervisor did not exit within 30 s") from None
    finally:
        await asyncio.gather(*(c.close() for c in everyone))
    assert code == 0
    assert drain_s < DRAIN_CONTRACT_S, drain_s
    assert workers_by_port(front.supervisor.proc.pid) == {}
    assert all(not c.connected for c in everyone)

    rows = await asyncio.to_thread(stored_rows, storage["database_url"], game["game_id"])
    assert rows == (1, PLAYERS, PLAYERS), rows
    answers = await asyncio.to_thread(stored_answers, storage["database_url"], game["game_id"])
    assert len(set(answers)) == PLAYERS
    client = aioredis.Redis.from_url(storage["redis_url"])
    try:
        pending = f"{process_prefix(storage)}:results:pending"
        assert not await client.hexists(pending, game["game_id"])
    finally:
        await client.aclose()
    print(
        f"\nDRILL supervisor-sigterm: sockets_per_worker={counts} "
        f"all_workers_exited_s={drain_s:.2f} exit_code={code}"
    )


async def test_the_drain_waits_for_a_quiet_moment_before_closing() -> None:
    """`InFlight.quiet`: not while events keep coming, and at once after they stop."""
    in_flight = InFlight()
    handled: list[int] = []

    async def event(i: int) -> None:
        with in_flight.track():
            await asyncio.sleep(0.01)
            handled.append(i)

    events: list[asyncio.Future[None]] = []

    async def stream() -> None:
        for i in range(10):  # an event every 20 ms: never half a second of quiet
            events.append(asyncio.ensure_future(event(i)))
            await asyncio.sleep(0.02)

    feeding = asyncio.ensure_future(stream())
    await asyncio.sleep(0.01)
    assert await in_flight.quiet(0.5, timeout_s=5.0) is True
    assert feeding.done() and sorted(handled) == list(range(10))
    # Events that never let up: it gives up when its time is over.
    endless = asyncio.ensure_future(_endless(in_flight))
    try:
        assert await in_flight.quiet(0.5, timeout_s=1.2) is False
    finally:
        endless.cancel()


async def _endless(in_flight: InFlight) -> None:
    while True:
        with in_flight.track():
            await asyncio.sleep(0.03)
        await asyncio.sleep(0.03)
