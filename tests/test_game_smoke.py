"""A short whole game over real sockets: join, answer, reveal, finish, results stored."""

from __future__ import annotations

import asyncio

from aiohttp import ClientSession

from tests.support.quizzes import sample_quiz
from tests.support.sockets import Recorder
from tests.support.users import ApiUser


async def test_short_game(http: ClientSession, user: ApiUser, base_url: str) -> None:
    quiz = sample_quiz()
    quiz["questions"] = quiz["questions"][:2]
    status, created = await user.request("POST", "/api/v1/quizzes", json=quiz)
    assert status == 201, created
    status, game = await user.request("POST", "/api/v1/games", json={"quiz_id": created["id"]})
    assert status == 201, game
    pin = game["pin"]
    async with http.get(f"/api/v1/games/{pin}") as resp:
        info = await resp.json()
    assert info["status"] == "lobby" and info["accepting_players"] is True

    host = await Recorder(base_url).connect({"host_token": game["host_token"]})
    welcome = await host.wait("welcome")
    assert welcome["role"] == "host" and welcome["game"]["players"] == []

    players = [
        await Recorder(base_url).connect({"pin": pin, "nickname": f"P{i}"}) for i in range(3)
    ]
    for p in players:
        w = await p.wait("welcome")
        assert w["role"] == "player" and w["player"]["score"] == 0
    await host.wait("player_joined", count=3)

    ack = await host.call("start_game")
    assert ack == {"ok": True, "question_index": 0}
    started = await players[0].wait("question_started")
    assert "correct" not in str(started["question"]["choices"])
    acks = await asyncio.gather(
        players[0].call("submit_answer", {"question_index": 0, "answer": 1}),
        players[1].call("submit_answer", {"question_index": 0, "answer": 0}),
        players[2].call("submit_answer", {"question_index": 0, "answer": 1}),
    )
    assert all(a["ok"] for a in acks), acks
    ended = await host.wait("question_ended")  # auto-ended: everyone answered
    assert ended["correct"] == [1] and ended["answered"] == 3
    r0 = await players[0].wait("your_result")
    r1 = await players[1].wait("your_result")
    assert r0["correct"] is True and r0["points"] >= 500 and r0["rank"] == 1
    assert r1["correct"] is False and r1["points"] == 0 and r1["rank"] == 3

    ack = await host.call("next_question")
    assert ack == {"ok": True, "question_index": 1}
    ack = await host.call("end_game")
    assert ack.get("ok") and ack["game_id"] == game["game_id"], ack
    finished = await players[0].wait("game_finished")
    assert finished["players_count"] == 3
    final = await players[0].wait("final_result")
    assert final["question_count"] == 2 and final["correct_count"] == 1

    for _ in range(50):
        status, results = await user.request("GET", f"/api/v1/results/{game['game_id']}")
        if status == 200:
            break
        await asyncio.sleep(0.1)
    assert status == 200, results
    assert [p["score"] for p in results["players"]][:1] == [r0["score"]]
    for client in [host, *players]:
        await client.close()
