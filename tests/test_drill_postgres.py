"""Drill: PostgreSQL restarts as a game ends (issue 14); results are stored once.

Not a swapped URL: a real PostgreSQL server of its own (tests/support/postgres_server.py,
`initdb` + `pg_ctl` on a free port), migrated, with a real `python -m classquiz
serve` process on it. The game is played over real sockets; PostgreSQL is shut
down (`pg_ctl stop -m fast`: the server's pooled connections die with it) just
before the host ends the game. The end is not held up: the host's `end_game` is
acknowledged and every player gets `final_result`; the results wait in Redis, the
results API says 503 `service_unavailable`. When PostgreSQL is started again the
server's retry pass (every 5 s) stores them, once: the rows stay exactly one game,
its players and its answers, through later passes.

(tests/test_results_outage.py checks the same path in-process, with the database
pointed at an unreachable address; this drill restarts the server for real.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiohttp import ClientSession

from classquiz.db.migrate import upgrade_database
from tests.support.database import stored_rows
from tests.support.live import create_game
from tests.support.postgres_server import PrivatePostgres, private_postgres
from tests.support.processes import ServerProcess, start_server, wait_ready
from tests.support.quizzes import single_choice
from tests.support.sockets import Recorder
from tests.support.users import register_user

PLAYERS = 4
QUESTIONS = [single_choice("Before", time_limit_s=60), single_choice("Last", time_limit_s=60)]


@pytest.fixture
async def postgres() -> AsyncIterator[tuple[PrivatePostgres, str]]:
    """A private PostgreSQL server and a migrated database on it."""
    with private_postgres() as server:
        url = server.create_database("cqdrill")
        await asyncio.to_thread(upgrade_database, url)
        yield server, url


async def test_postgres_restart_at_game_end_stores_results_once(
    postgres: tuple[PrivatePostgres, str], storage: dict[str, str], tmp_path: Path
) -> None:
    pg, database_url = postgres
    prefix = f"{storage['redis_prefix']}pgdrill"  # removed with the run's keys
    server: ServerProcess = start_server(
        "pg-drill",
        storage,
        tmp_path,
        env_overrides={"DATABASE_URL": database_url, "REDIS_PREFIX": prefix},
    )
    redis = aioredis.Redis.from_url(storage["redis_url"])
    clients: list[Recorder] = []
    try:
        await wait_ready(server, 90)
        async with ClientSession(server.url) as http:
            user = await register_user(http)
            game = await create_game(user, QUESTIONS, settings={"auto_end_question": True})
            game_id = game["game_id"]
            host = await Recorder(server.url).connect({"host_token": game["host_token"]})
            clients.append(host)
            for i in range(PLAYERS):
                clients.append(
                    await Recorder(server.url).connect({"pin": game["pin"], "nickname": f"P{i}"})
                )
            players = clients[1:]
            await host.wait("player_joined", count=PLAYERS)
            assert (await host.call("start_game"))["ok"]
            for qi in range(len(QUESTIONS)):
                for p in players:
                    await p.wait("question_started", count=qi + 1)
                acks = await asyncio.gather(
                    *(
                        p.call("submit_answer", {"question_index": qi, "answer": i % 3})
                        for i, p in enumerate(players)
                    )
                )
                assert all(a["ok"] for a in acks), acks
                await host.wait("question_ended", count=qi + 1)
                if qi + 1 < len(QUESTIONS):
                    assert (await host.call("next_question"))["ok"]

            pg.stop()  # PostgreSQL goes down just before the end
            assert await host.call("end_game") == {"ok": True, "game_id": game_id}
            finals = [await p.wait("final_result") for p in players]
            assert len(finals) == PLAYERS

            pending = f"{prefix}:results:pending"
            for _ in range(100):
                if await redis.hexists(pending, game_id):
                    break
                await asyncio.sleep(0.1)
            assert await redis.hexists(pending, game_id), "the results are not parked"
            status, body = await user.request("GET", f"/api/v1/results/{game_id}")
            assert status == 503 and body["error"]["code"] == "service_unavailable", body
            assert server.proc.poll() is None, server.log_tail()

            pg.start()  # the same cluster: the server's dead connections must be replaced
            deadline = time.monotonic() + 30
            while await redis.hexists(pending, game_id):
                assert time.monotonic() < deadline, f"never stored:\n{server.log_tail()}"
                await asyncio.sleep(0.2)
            assert stored_rows(database_url, game_id) == (1, PLAYERS, PLAYERS * 2)

            status, stored = await user.request("GET", f"/api/v1/results/{game_id}")
            assert status == 200, stored
            assert sorted(p["score"] for p in stored["players"]) == sorted(
                f["score"] for f in finals
            )
            # Exactly once: a later retry pass (every 5 s) finds nothing to do.
            await asyncio.sleep(6)
            assert stored_rows(database_url, game_id) == (1, PLAYERS, PLAYERS * 2)
            assert not await redis.exists(f"{prefix}:results:dead")
    finally:
        for client in clients:
            await client.close()
        await redis.aclose()
        server.stop()
