"""The database is unreachable when a game ends (SPEC §6), played over real sockets.

The results stay parked in Redis, are written once the database is back, and
exactly once: a retry or a second `finish` changes nothing.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from aiohttp.test_utils import TestServer

from classquiz.config import Settings
from classquiz.db.engine import connect_database, database
from classquiz.db.models import Game, GameAnswer, GamePlayer
from classquiz.game.final import FinishedGame
from classquiz.runtime import SERVICES
from tests.support.quizzes import sample_quiz
from tests.support.sockets import Recorder
from tests.support.users import ApiUser

UNREACHABLE = "postgresql+asyncpg://postgres@127.0.0.1:1/x"


async def _row_counts(game_id: str) -> tuple[int, int, int]:
    gid = uuid.UUID(game_id)
    return (
        await Game.objects.filter(id=gid).count(),
        await GamePlayer.objects.filter(game__id=gid).count(),
        await GameAnswer.objects.filter(game__id=gid).count(),
    )


async def test_results_wait_in_redis_while_the_database_is_down(
    user: ApiUser, base_url: str, server: TestServer, settings: Settings
) -> None:
    results = server.app[SERVICES].results
    redis = server.app[SERVICES].redis
    pending_key = f"{settings.redis_prefix}:results:pending"

    quiz = sample_quiz()
    quiz["questions"] = quiz["questions"][:2]
    status, created = await user.request("POST", "/api/v1/quizzes", json=quiz)
    assert status == 201, created
    status, game = await user.request("POST", "/api/v1/games", json={"quiz_id": created["id"]})
    assert status == 201, game
    game_id = game["game_id"]
    answers = [[1, 0, 1], [[0, 1], [0], [0, 1]]]  # question 0 (single), question 1 (multiple)

    clients: list[Recorder] = []
    restored = False
    try:
        host = await Recorder(base_url).connect({"host_token": game["host_token"]})
        clients.append(host)
        players = []
        for i in range(3):
            players.append(
                await Recorder(base_url).connect({"pin": game["pin"], "nickname": f"O{i}"})
            )
            clients.append(players[-1])
        await host.wait("player_joined", count=3)
        assert (await host.call("start_game"))["ok"]
        for qi, given in enumerate(answers):
            for p in players:
                await p.wait("question_started", count=qi + 1)
            acks = await asyncio.gather(
                *(
                    p.call("submit_answer", {"question_index": qi, "answer": a})
                    for p, a in zip(players, given, strict=True)
                )
            )
            assert all(ack["ok"] for ack in acks), acks
            await host.wait("question_ended", count=qi + 1)
            for p in players:
                await p.wait("your_result", count=qi + 1)
            if qi == 0:
                assert await host.call("next_question") == {"ok": True, "question_index": 1}

        # The database goes away just before the end.
        await connect_database(UNREACHABLE)
        ack = await host.call("end_game")
        assert ack == {"ok": True, "game_id": game_id}, ack
        finals = [await p.wait("final_result") for p in players]
        for p in players:
            await p.wait("game_finished")

        raw = None
        for _ in range(50):
            raw = await redis.hget(pending_key, game_id)
            if raw is not None:
                break
            await asyncio.sleep(0.1)
        assert raw is not None, "the results are not parked in Redis"
        parked = FinishedGame.model_validate_json(raw)
        assert str(parked.game_id) == game_id
        assert len(parked.players) == 3 and len(parked.answers) == 6
        assert sorted(p.score for p in parked.players) == sorted(f["score"] for f in finals)

        status, body = await user.request("GET", f"/api/v1/results/{game_id}")
        assert status == 503 and body["error"]["code"] == "service_unavailable", (status, body)
        assert await results.retry_pending() == 0  # still down: stays parked
        assert await redis.hexists(pending_key, game_id)

        # The database is back: the retry pass stores the parked snapshot.
        await connect_database(settings.database_url_asyncpg)
        restored = True
        deadline = time.monotonic() + 15
        while await redis.hexists(pending_key, game_id):
            assert time.monotonic() < deadline, "the parked results were never stored"
            await results.retry_pending()  # 0 when the background loop holds the lease
            await asyncio.sleep(0.1)
        assert await _row_counts(game_id) == (1, 3, 6)

        status, stored = await user.request("GET", f"/api/v1/results/{game_id}")
        assert status == 200, stored
        assert sorted(p["score"] for p in stored["players"]) == sorted(f["score"] for f in finals)
        assert [q["answered"] for q in stored["questions"]] == [3, 3]

        # Exactly once: neither another retry pass nor another finish writes anything.
        assert await results.retry_pending() == 0
        assert await results.finish(parked) is True
        assert await _row_counts(game_id) == (1, 3, 6)
        assert not await redis.hexists(pending_key, game_id)
        status, again = await user.request("GET", f"/api/v1/results/{game_id}")
        assert status == 200 and again == stored
    finally:
        if not restored or database.url != settings.database_url_asyncpg:
            await connect_database(settings.database_url_asyncpg)
        for client in clients:
            await client.close()
