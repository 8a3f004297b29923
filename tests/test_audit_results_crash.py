"""Audit finding 7 (b): a process killed between finishing a game and parking its results.

Process A runs with the test-only fault `CLASSQUIZ_FAULT=crash_after_finish`: it
dies (os._exit, no cleanup) right after `finish_game.lua` marked the game
finished, before the results are parked. Two fresh processes then share the
Redis and database; the leased sweeper of one of them stores the game, once.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiohttp import ClientSession
from redis.asyncio import Redis

from classquiz.game.keys import GameKeys
from tests.support.database import stored_rows
from tests.support.processes import ServerProcess, process_prefix, start_server, wait_ready
from tests.support.quizzes import TRUE_FALSE
from tests.support.sockets import Recorder
from tests.support.users import register_user

SWEPT_LOG = "were never parked"


async def test_results_survive_a_crash_between_finish_and_parking(
    storage: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    redis_client: Redis,
) -> None:
    prefix = process_prefix(storage)
    servers: list[ServerProcess] = []
    clients: list[Recorder] = []
    try:
        monkeypatch.setenv("CLASSQUIZ_FAULT", "crash_after_finish")
        a = start_server("A", storage, tmp_path)
        servers.append(a)
        monkeypatch.delenv("CLASSQUIZ_FAULT")
        await wait_ready(a)

        async with ClientSession(a.url) as http:
            owner = await register_user(http)
            quiz = {"title": "Crash quiz", "questions": [TRUE_FALSE, TRUE_FALSE]}
            status, created = await owner.request("POST", "/api/v1/quizzes", json=quiz)
            assert status == 201, created
            status, game = await owner.request(
                "POST", "/api/v1/games", json={"quiz_id": created["id"]}
            )
            assert status == 201, game
        game_id, pin = game["game_id"], game["pin"]

        host = await Recorder(a.url).connect({"host_token": game["host_token"]})
        clients.append(host)
        players = []
        for name in ("Ada", "Bob"):
            players.append(await Recorder(a.url).connect({"pin": pin, "nickname": name}))
            clients.append(players[-1])
        await host.wait("player_joined", count=2)
        assert (await host.call("start_game"))["ok"]
        for qi in range(2):
            for p in players:
                await p.wait("question_started", count=qi + 1)
            acks = await asyncio.gather(
                *(
                    p.call("submit_answer", {"question_index": qi, "answer": k})
                    for k, p in enumerate(players)
                )
            )
            assert all(ack["ok"] for ack in acks), acks
            await host.wait("question_ended", count=qi + 1)
            if qi == 0:
                assert (await host.call("next_question"))["ok"]

        # The last next_question finishes the game: A dies right after finish_game.lua.
        with pytest.raises(Exception):  # noqa: B017 - the ack never comes, however it fails
            await host.call("next_question", timeout=5)
        assert a.proc.wait(timeout=10) != 0
        assert "crash_after_finish" in a.log_path.read_text(errors="replace")

        keys = GameKeys(prefix, pin)
        assert await redis_client.hget(keys.game, "status") == b"finished"
        assert not await redis_client.hexists(f"{prefix}:results:pending", game_id)
        assert await asyncio.to_thread(stored_rows, storage["database_url"], game_id) == (0, 0, 0)

        # Two survivors: the leased sweeper of one of them stores the game, once.
        b = start_server("B", storage, tmp_path)
        c = start_server("C", storage, tmp_path)
        servers += [b, c]
        await asyncio.gather(wait_ready(b), wait_ready(c))
        deadline = time.monotonic() + 30
        while True:
            rows = await asyncio.to_thread(stored_rows, storage["database_url"], game_id)
            if rows != (0, 0, 0):
                break
            assert time.monotonic() < deadline, b.log_tail() + c.log_tail()
            await asyncio.sleep(0.25)
        assert rows == (1, 2, 4), rows
        await asyncio.sleep(3)  # several more sweeper ticks on both processes
        assert await asyncio.to_thread(stored_rows, storage["database_url"], game_id) == (1, 2, 4)
        assert not await redis_client.hexists(f"{prefix}:results:pending", game_id)
        assert await redis_client.zcard(f"{prefix}:results:unparked") == 0
        logs = [s.log_path.read_text(errors="replace") for s in (b, c)]
        assert sum(text.count(SWEPT_LOG) for text in logs) == 1, logs

        # The stored results are the game as played, readable by its host.
        async with ClientSession(b.url) as http:
            async with http.get(f"/api/v1/results/{game_id}", headers=owner.headers) as resp:
                assert resp.status == 200, await resp.text()
                stored = await resp.json()
        assert [q["answered"] for q in stored["questions"]] == [2, 2]
        assert {p["nickname"] for p in stored["players"]} == {"Ada", "Bob"}
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        for server in servers:
            server.stop()
