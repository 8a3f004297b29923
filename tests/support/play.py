"""Whole games played by real Socket.IO clients against server processes, checking that
every player got every broadcast exactly once (tests/test_scale_*.py)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.support.database import stored_rows
from tests.support.quizzes import sample_quiz
from tests.support.sockets import Recorder
from tests.support.users import ApiUser


async def create_game(owner: ApiUser, questions: list[dict[str, Any]]) -> dict[str, Any]:
    status, quiz = await owner.request(
        "POST", "/api/v1/quizzes", json=sample_quiz(questions=questions)
    )
    assert status == 201, quiz
    status, game = await owner.request("POST", "/api/v1/games", json={"quiz_id": quiz["id"]})
    assert status == 201, game
    return game


def answer_of(question: dict[str, Any], k: int) -> Any:
    ids = [c["id"] for c in question["choices"]]
    return ids[k % len(ids)]


async def of_question(rec: Recorder, event: str, qi: int, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        for data in rec.events[event]:
            if isinstance(data, dict) and data.get("question_index") == qi:
                return data
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {event!r} for question {qi}; got {rec.order[-10:]}")
        await asyncio.sleep(0.02)


async def play(
    host_url: str, player_urls: list[str], owner: ApiUser, questions: int = 2
) -> tuple[dict[str, Any], list[Recorder], Recorder]:
    """Play a whole game of single-choice questions: the host on `host_url`, one player
    on each of `player_urls`; checks every player got every broadcast exactly once."""
    quiz_questions = [sample_quiz()["questions"][0]] * questions
    game = await create_game(owner, quiz_questions)
    host = await Recorder(host_url).connect({"host_token": game["host_token"]})
    players: list[Recorder] = []
    try:
        await host.wait("welcome")
        for i, url in enumerate(player_urls):
            players.append(await Recorder(url).connect({"pin": game["pin"], "nickname": f"P{i}"}))
        for p in players:
            await p.wait("welcome")
        await host.wait("player_joined", count=len(players))
        assert await host.call("start_game") == {"ok": True, "question_index": 0}
        for qi in range(questions):
            started = [await of_question(p, "question_started", qi) for p in players]
            acks = await asyncio.gather(
                *(
                    p.call(
                        "submit_answer",
                        {"question_index": qi, "answer": answer_of(started[k]["question"], k)},
                    )
                    for k, p in enumerate(players)
                )
            )
            assert all(ack["ok"] for ack in acks), acks
            await of_question(host, "question_ended", qi)
            for p in players:
                await of_question(p, "question_ended", qi)
                await of_question(p, "your_result", qi)
            await host.call("next_question")
        await host.wait("game_finished")
        for p in players:
            await p.wait("game_finished")
            assert (await p.wait("final_result"))["question_count"] == questions
        await asyncio.sleep(0.3)  # anything doubled would have arrived by now
        for p in players:
            for event in ("question_started", "question_ended", "your_result"):
                assert len(p.events[event]) == questions, (event, p.events[event])
            for event in ("game_finished", "final_result"):
                assert len(p.events[event]) == 1, (event, p.events[event])
        assert len(host.events["question_ended"]) == questions
        assert len(host.events["player_joined"]) == len(players)
        return game, players, host
    finally:
        await asyncio.gather(*(c.close() for c in [host, *players]), return_exceptions=True)


async def stored_once(owner: ApiUser, storage: dict[str, str], game_id: str, n: int) -> None:
    for _ in range(50):
        status, _ = await owner.request("GET", f"/api/v1/results/{game_id}")
        if status == 200:
            break
        await asyncio.sleep(0.1)
    rows = await asyncio.to_thread(stored_rows, storage["database_url"], game_id)
    assert rows[0] == 1 and rows[1] == n, rows
