"""Finished games: stored exactly once (also across a database outage), read back as stats,
exported, and shown to each player, against the real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from datetime import timedelta

import openpyxl
import sqlalchemy as sa
from ormar.databases.connection import DatabaseConnection

from classquiz.config import Settings
from classquiz.db.engine import database
from classquiz.db.models import Game, GameAnswer, GamePlayer, User
from classquiz.game.final import FinalAnswer, FinalPlayer, FinalQuestion, FinishedGame
from classquiz.runtime import Services
from classquiz.services.results import ResultService
from classquiz.services.results_store import ANSWERS, GAMES
from classquiz.services.tokens import ACCESS, PLAYER
from tests.support.results import BASE, PLAN, count_rows, finished_game
from tests.support.users import ApiUser, user_id

# ---------------------------------------------------------------- storing


async def test_finish_stores_once_even_when_repeated(
    user: ApiUser, private_results: ResultService
) -> None:
    final = finished_game(await user_id(user))
    assert await private_results.finish(final) is True
    assert await private_results.finish(final) is True  # already there: nothing new
    assert await private_results.pending_ids() == []
    # A crash between commit and HDEL leaves the snapshot parked: the retry adds nothing.
    await private_results.redis.hset(
        private_results.pending_key, str(final.game_id), final.model_dump_json()
    )
    assert await private_results.retry_pending() == 0
    assert await private_results.pending_ids() == []
    assert await count_rows(final.game_id) == (1, 5, len(PLAN))


async def test_json_columns_come_back_as_json(
    user: ApiUser, private_results: ResultService
) -> None:
    final = finished_game(await user_id(user))
    await private_results.finish(final)
    game = await Game.objects.get(id=final.game_id)
    assert isinstance(game.questions, list) and isinstance(game.questions[0], dict)
    assert game.questions[1]["correct"] == [0, 1]
    assert game.questions[0]["distribution"] == {"0": 1, "1": 3}
    answers = await GameAnswer.objects.filter(game__id=final.game_id).all()
    by_key = {(a.player_id, a.question_index): a.answer for a in answers}
    assert by_key[(final.players[0].player_id, 1)] == {"value": [0, 1]}
    assert by_key[(final.players[0].player_id, 0)] == {"value": 1}
    assert by_key[(final.players[2].player_id, 3)] == {"value": "42"}  # stays a string
    player = await GamePlayer.objects.get(id=final.players[2].player_id)
    assert player.game.id == final.game_id and player.rank == 2
    async with database.connection() as conn:
        row = (await conn.execute(sa.select(GAMES).where(GAMES.c.id == final.game_id))).one()
        texts = (
            await conn.execute(
                sa.select(ANSWERS.c.answer).where(
                    ANSWERS.c.game_id == final.game_id, ANSWERS.c.question_index == 3
                )
            )
        ).scalars()
        values = sorted(t["value"] for t in texts)
        assert values == sorted(["Lyon", "Paris", "42", "=1+1", "paris "])
    assert isinstance(row.questions, list) and row.questions[3]["distribution"]["42"] == 1


async def test_database_down_keeps_results_pending_then_stores_once(
    user: ApiUser, private_results: ResultService, settings: Settings
) -> None:
    final = finished_game(await user_id(user))
    down = DatabaseConnection("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere", pool_size=1)
    await down.connect()
    private_results.db = down
    try:
        assert await private_results.finish(final) is False  # no exception for the caller
        assert await private_results.pending_ids() == [str(final.game_id)]
        assert await private_results.retry_pending() == 0
        assert await private_results.pending_ids() == [str(final.game_id)]
        assert await count_rows(final.game_id) == (0, 0, 0)
        # The database comes back.
        await down.disconnect()
        down._url = settings.database_url_asyncpg
        await down.connect()
        assert await private_results.retry_pending() == 1
        assert await private_results.pending_ids() == []
        assert await private_results.retry_pending() == 0
        assert await count_rows(final.game_id) == (1, 5, len(PLAN))
    finally:
        await down.disconnect()


async def test_retry_lease_lets_one_process_work(
    user: ApiUser, private_results: ResultService
) -> None:
    final = finished_game(await user_id(user))
    await private_results.redis.hset(
        private_results.pending_key, str(final.game_id), final.model_dump_json()
    )
    await private_results.redis.set(private_results.lease_key, "someone-else", px=10_000)
    assert await private_results.retry_pending() == 0  # another process holds the lease
    assert await count_rows(final.game_id) == (0, 0, 0)
    await private_results.redis.delete(private_results.lease_key)
    assert await private_results.retry_pending() == 1
    assert await private_results.redis.get(private_results.lease_key) is None  # released


async def test_background_loop_stores_parked_results(
    user: ApiUser, private_results: ResultService
) -> None:
    final = finished_game(await user_id(user))
    await private_results.redis.hset(
        private_results.pending_key, str(final.game_id), final.model_dump_json()
    )
    private_results.start(interval_s=0.05)
    try:
        for _ in range(200):  # up to 10 s
            if not await private_results.pending_ids():
                break
            await asyncio.sleep(0.05)
    finally:
        await private_results.stop()
    assert await private_results.pending_ids() == []
    assert await count_rows(final.game_id) == (1, 5, len(PLAN))


async def test_large_game_stores_in_seconds(user: ApiUser, private_results: ResultService) -> None:
    owner = await user_id(user)
    players, questions = 2_000, 20
    ids = [uuid.uuid4() for _ in range(players)]
    final = FinishedGame(
        game_id=uuid.uuid4(), quiz_id=uuid.uuid4(), owner_id=owner, pin="654321", title="Big",
        created_at=BASE, started_at=BASE, finished_at=BASE + timedelta(minutes=30),
        question_count=questions,
        questions=[
            FinalQuestion(index=q, type="single", text=f"Q{q}", points=1, time_limit_ms=20_000,
                          correct=[0], distribution={"0": players // 2, "1": players // 2},
                          answered=players)
            for q in range(questions)
        ],
        players=[
            FinalPlayer(player_id=pid, nickname=f"player {i}", score=1000 * (players - i),
                        rank=i + 1, correct_count=10, answered_count=questions)
            for i, pid in enumerate(ids)
        ],
        answers=[
            FinalAnswer(player_id=pid, question_index=q, answer=(i + q) % 2,
                        correct=(i + q) % 2 == 0, points=500 if (i + q) % 2 == 0 else 0,
                        elapsed_ms=1000 + i % 1000)
            for i, pid in enumerate(ids) for q in range(questions)
        ],
    )  # fmt: skip
    started = time.perf_counter()
    assert await private_results.finish(final) is True
    elapsed = time.perf_counter() - started
    print(f"stored 2,000 x 20 in {elapsed:.2f}s")
    assert elapsed < 10
    assert await count_rows(final.game_id) == (1, players, players * questions)
    stats = await private_results.game_results(final.game_id, await User.objects.get(id=owner))
    assert stats.questions[0].answered == players and stats.questions[0].accuracy == 0.5


# ---------------------------------------------------------------- reading


async def test_list_newest_first_paginated_and_own_only(
    user: ApiUser, other_user: ApiUser, svc: Services
) -> None:
    owner = await user_id(user)
    games = [finished_game(owner, BASE + timedelta(hours=h), title=f"Game {h}") for h in range(3)]
    for final in (games[1], games[0], games[2]):
        assert await svc.results.finish(final)
    await svc.results.finish(finished_game(await user_id(other_user), BASE + timedelta(hours=9)))

    status, page = await user.request("GET", "/api/v1/results?limit=2")
    assert status == 200
    assert page["total"] == 3 and page["limit"] == 2 and page["offset"] == 0
    assert [g["title"] for g in page["items"]] == ["Game 2", "Game 1"]
    first = page["items"][0]
    assert first == {
        "game_id": str(games[2].game_id),
        "quiz_id": str(games[2].quiz_id),
        "title": "Game 2",
        "pin": "123456",
        "started_at": "2026-01-05T10:52:00Z",
        "finished_at": "2026-01-05T11:00:00Z",
        "players_count": 5,
        "question_count": 4,
        "expires_at": None,  # this server keeps results until their host deletes them
    }
    status, page = await user.request("GET", "/api/v1/results?limit=2&offset=2")
    assert [g["title"] for g in page["items"]] == ["Game 0"]
    status, page = await other_user.request("GET", "/api/v1/results")
    assert page["total"] == 1
    status, _ = await user.request("GET", "/api/v1/results?limit=0")
    assert status == 422
    async with user.http.get("/api/v1/results") as resp:
        assert resp.status == 401


async def test_game_stats_exact_numbers(user: ApiUser, other_user: ApiUser, svc: Services) -> None:
    final = finished_game(await user_id(user))
    await svc.results.finish(final)
    status, stats = await user.request("GET", f"/api/v1/results/{final.game_id}")
    assert status == 200, stats
    assert stats["game"]["game_id"] == str(final.game_id)
    assert stats["game"]["finished_at"] == "2026-01-05T09:00:00Z"
    players = stats["players"]
    assert [(p["nickname"], p["rank"], p["score"]) for p in players] == [
        ("Ada", 1, 2800),
        ("Ann", 2, 1800),
        ("Bob", 2, 1800),
        ("Zoë", 4, 800),
        ("=SUM(1)", 5, 750),
    ]
    assert players[0] == {
        "player_id": str(final.players[0].player_id),
        "nickname": "Ada",
        "rank": 1,
        "score": 2800,
        "correct_count": 2,
        "answered_count": 4,
    }
    summary = [
        (q["index"], q["type"], q["answered"], q["correct_count"], q["accuracy"], q["avg_time_ms"])
        for q in stats["questions"]
    ]
    assert summary == [
        (0, "single", 4, 3, 0.75, 5000),
        (1, "multiple", 4, 2, 0.5, 3500),  # 3500.25 rounds to 3500
        (2, "poll", 5, 0, None, 3000),  # 3000.2
        (3, "text", 5, 2, 0.4, 2500),
    ]
    assert stats["questions"][2]["distribution"] == {"0": 3, "1": 2}
    assert stats["questions"][3]["text"] == "Capital of France?"
    assert stats["hardest_question"] == 3

    status, body = await other_user.request("GET", f"/api/v1/results/{final.game_id}")
    assert status == 404 and body["error"]["code"] == "game_not_found"
    status, body = await user.request("GET", f"/api/v1/results/{uuid.uuid4()}")
    assert status == 404 and body["error"]["code"] == "game_not_found"
    status, body = await user.request("GET", "/api/v1/results/not-a-uuid")
    assert status == 404


async def test_stats_with_nobody_answering(user: ApiUser, svc: Services) -> None:
    final = finished_game(await user_id(user)).model_copy(update={"answers": []})
    await svc.results.finish(final)
    status, stats = await user.request("GET", f"/api/v1/results/{final.game_id}")
    assert status == 200
    assert {(q["answered"], q["accuracy"], q["avg_time_ms"]) for q in stats["questions"]} == {
        (0, None, None)
    }
    assert stats["hardest_question"] is None


# ---------------------------------------------------------------- exporting


async def test_export_csv(user: ApiUser, other_user: ApiUser, svc: Services) -> None:
    final = finished_game(await user_id(user), title="Capitals: round 1")
    await svc.results.finish(final)
    path = f"/api/v1/results/{final.game_id}/export?format=csv"
    async with user.http.get(path, headers=user.headers) as resp:
        assert resp.status == 200
        assert resp.content_type == "text/csv"
        disposition = resp.headers["Content-Disposition"]
        raw = await resp.read()
    assert 'filename="results-capitals-round-1-2026-01-05.csv"' in disposition
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows == [
        ["nickname", "rank", "score", "correct_count", "answered_count", "q1", "q2", "q3", "q4"],
        ["Ada", "1", "2800", "2", "4", "950", "1850", "0", "0"],
        ["Ann", "2", "1800", "1", "4", "0", "1800", "0", "0"],
        ["Bob", "2", "1800", "2", "4", "900", "0", "0", "900"],
        ["Zoë", "4", "800", "1", "3", "800", "", "0", "0"],
        ["'=SUM(1)", "5", "750", "1", "3", "", "0", "0", "750"],
    ]
    status, _ = await other_user.request("GET", path)
    assert status == 404
    status, body = await user.request("GET", f"/api/v1/results/{final.game_id}/export?format=pdf")
    assert status == 422 and body["error"]["code"] == "validation_error"


async def test_export_xlsx(user: ApiUser, svc: Services) -> None:
    final = finished_game(await user_id(user))
    await svc.results.finish(final)
    path = f"/api/v1/results/{final.game_id}/export?format=xlsx"
    async with user.http.get(path, headers=user.headers) as resp:
        assert resp.status == 200
        assert resp.content_type.endswith("spreadsheetml.sheet")
        assert ".xlsx" in resp.headers["Content-Disposition"]
        raw = await resp.read()
    book = openpyxl.load_workbook(io.BytesIO(raw))
    assert book.sheetnames == ["Players", "Answers"]
    players = [list(r) for r in book["Players"].iter_rows(values_only=True)]
    assert players[0] == [
        "nickname", "rank", "score", "correct_count", "answered_count", "q1", "q2", "q3", "q4"
    ]  # fmt: skip
    assert players[1] == ["Ada", 1, 2800, 2, 4, 950, 1850, 0, 0]
    assert players[4] == ["Zoë", 4, 800, 1, 3, 800, None, 0, 0]
    assert players[5][0] == "=SUM(1)"  # kept as text, never a formula
    assert book["Players"]["A6"].data_type == "s"
    answers = [list(r) for r in book["Answers"].iter_rows(values_only=True)]
    assert answers[0][:3] == ["nickname", "player_id", "question"]
    assert len(answers) == 1 + len(PLAN)
    ada_multiple = next(r for r in answers[1:] if r[0] == "Ada" and r[2] == 2)
    assert ada_multiple[4:] == ["[0,1]", True, 1850, 3000]
    poll = next(r for r in answers[1:] if r[0] == "Ada" and r[2] == 3)
    assert poll[5] is None  # polls have no correctness


# ---------------------------------------------------------------- the player's view


async def test_player_results_with_player_token(user: ApiUser, svc: Services) -> None:
    final = finished_game(await user_id(user))
    other = finished_game(await user_id(user))
    bob = final.players[1].player_id
    token, _ = svc.signer.issue(str(bob), PLAYER, 3600, gid=str(final.game_id))
    path = f"/api/v1/results/{final.game_id}/me"
    auth = {"Authorization": f"Bearer {token}"}

    async with user.http.get(path, headers=auth) as resp:
        assert resp.status == 404  # not stored yet
        assert (await resp.json())["error"]["code"] == "game_not_found"
    await svc.results.finish(final)
    await svc.results.finish(other)
    async with user.http.get(path, headers=auth) as resp:
        assert resp.status == 200
        me = await resp.json()
    assert me["player_id"] == str(bob) and me["game_id"] == str(final.game_id)
    assert (me["nickname"], me["rank"], me["score"], me["correct_count"]) == ("Bob", 2, 1800, 2)
    assert me["answers"] == [
        {"question_index": 0, "answer": 1, "correct": True, "points": 900, "elapsed_ms": 4000},
        {"question_index": 1, "answer": [0], "correct": False, "points": 0, "elapsed_ms": 5000},
        {"question_index": 2, "answer": 1, "correct": None, "points": 0, "elapsed_ms": 2000},
        {
            "question_index": 3,
            "answer": "Paris",
            "correct": True,
            "points": 900,
            "elapsed_ms": 2000,
        },
    ]

    async def status_of(headers: dict[str, str], at: str = path) -> tuple[int, str]:
        async with user.http.get(at, headers=headers) as resp:
            body = await resp.json()
            return resp.status, body["error"]["code"] if resp.status != 200 else "ok"

    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert await status_of({"Authorization": f"Bearer {tampered}"}) == (401, "invalid_token")
    assert await status_of({}) == (401, "invalid_token")
    other_token, _ = svc.signer.issue(str(bob), PLAYER, 3600, gid=str(other.game_id))
    assert await status_of({"Authorization": f"Bearer {other_token}"}) == (401, "invalid_token")
    expired, _ = svc.signer.issue(str(bob), PLAYER, -10, gid=str(final.game_id))
    assert await status_of({"Authorization": f"Bearer {expired}"}) == (401, "invalid_token")
    access, _ = svc.signer.issue(str(bob), ACCESS, 3600, gid=str(final.game_id), gen=0)
    assert await status_of({"Authorization": f"Bearer {access}"}) == (401, "invalid_token")
    stranger, _ = svc.signer.issue(str(uuid.uuid4()), PLAYER, 3600, gid=str(final.game_id))
    assert await status_of({"Authorization": f"Bearer {stranger}"}) == (404, "player_not_found")
    # A user's access token is no player token either.
    assert await status_of(user.headers) == (401, "invalid_token")


async def test_openapi_documents_results(user: ApiUser) -> None:
    async with user.http.get("/api/openapi.json") as resp:
        spec = await resp.json()
    export = spec["paths"]["/api/v1/results/{game_id}/export"]["get"]
    assert set(export["responses"]["200"]["content"]) == {
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    assert "GameStatsOut" in spec["components"]["schemas"]
    assert spec["paths"]["/api/v1/results/{game_id}/me"]["get"]["security"] == [{"bearer": []}]
