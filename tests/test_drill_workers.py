"""Drill: a worker dies (`kill -9`) mid-question in a 100-player game behind Caddy.

The deployment as shipped: Debian's Caddy with the project's Caddyfile in front of
`serve --workers 2` (tests/support/caddy.py); players on WebSocket through Caddy.
What must hold (tests/support/class_drill.py plays the game and checks it): the dead
worker's players come back through Caddy to the live worker with their token,
score and streak; the question still ends at its deadline (the deadline lease
moves to the survivor); every acknowledged answer is stored exactly once in
`game_answers`, and nothing else is. Here on top: the supervisor restarts the
worker, and it serves the game again. What the class saw is printed for
docs/operations.md ("What each failure costs a running class").
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from tests.support.caddy import caddy_in_front
from tests.support.class_drill import Strike, struck_game
from tests.support.drill import DrillClient, socket_count, wait_url_ready, workers_by_port

# A 100-player game, a worker's restart (seconds of Python imports) and Caddy, on a
# shared 2-core machine: more than the suite's default 120 s when the machine is busy.
pytestmark = pytest.mark.timeout(240)


async def wait_restarted(supervisor_pid: int, port: int, old_pid: int, timeout: float = 40) -> int:
    """The supervisor's new worker on `port` (a pid other than `old_pid`), once it is ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = workers_by_port(supervisor_pid).get(port)
        if pid is not None and pid != old_pid:
            await wait_url_ready(f"http://127.0.0.1:{port}", timeout=deadline - time.monotonic())
            return pid
        await asyncio.sleep(0.1)
    raise AssertionError(f"worker on port {port} not restarted")


async def test_a_worker_killed_mid_question_loses_nothing(
    storage: dict[str, str], tmp_path: Path
) -> None:
    async with caddy_in_front(storage, tmp_path) as front:
        supervisor_pid = front.supervisor.proc.pid
        restarted: dict[str, float] = {}

        async def restarted_and_serving(
            strike: Strike, players: list[DrillClient], results: dict[str, dict[str, Any]]
        ) -> None:
            # Through Caddy, the whole class is on the surviving worker now.
            assert await socket_count(strike.survivor_url) == len(players) + 1
            await wait_restarted(supervisor_pid, strike.victim_port, strike.victim_pid)
            restarted["ready_s"] = time.monotonic() - strike.struck_at
            pin = players[0].auth["pin"]
            async with ClientSession(strike.victim_url) as http:
                async with http.get(f"/api/v1/games/{pin}") as resp:
                    assert resp.status == 200, await resp.text()
            # A player moves onto the restarted worker and plays the last question there.
            mover = players[1]
            await mover.move_to(strike.victim_url)
            assert mover.welcomes[-1]["player"]["score"] == results[mover.name]["score"]
            assert await socket_count(strike.victim_url) == 1

        strike = await struck_game(
            front, storage["database_url"], signal.SIGKILL, restarted_and_serving
        )
        assert strike.exited_after_s is not None
        print(f"\n{strike.summary('worker-kill')} restart_ready_s={restarted['ready_s']:.1f}")
