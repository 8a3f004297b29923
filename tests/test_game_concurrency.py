"""Answers racing each other over real sockets: every answer counted once, first one wins."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import ClientSession

from classquiz.config import Settings
from tests.support.live import stored_results
from tests.support.sockets import Recorder
from tests.support.users import ApiUser

CROWD = 200
BATCH = 50
BURST = 20


def quiz() -> dict[str, Any]:
    choices = [{"text": "A", "correct": True}, {"text": "B"}, {"text": "C"}, {"text": "D"}]
    return {
        "title": "Rush hour",
        "questions": [
            {"type": "single", "text": "Pick one", "time_limit_s": 60, "choices": choices},
            {"type": "single", "text": "Pick again", "time_limit_s": 60, "choices": choices},
        ],
    }


async def test_two_hundred_answers_at_once_and_one_burst(
    http: ClientSession, user: ApiUser, base_url: str, settings: Settings
) -> None:
    status, created = await user.request("POST", "/api/v1/quizzes", json=quiz())
    assert status == 201, created
    status, game = await user.request("POST", "/api/v1/games", json={"quiz_id": created["id"]})
    assert status == 201, game
    pin, game_id = game["pin"], game["game_id"]

    clients: list[Recorder] = []
    try:
        host = await Recorder(base_url).connect({"host_token": game["host_token"]})
        clients.append(host)
        await host.wait("welcome")
        players = [Recorder(base_url) for _ in range(CROWD)]
        clients.extend(players)
        for start in range(0, CROWD, BATCH):
            batch = players[start : start + BATCH]
            await asyncio.gather(
                *(
                    p.connect({"pin": pin, "nickname": f"Racer {start + k}"})
                    for k, p in enumerate(batch)
                )
            )
        welcomes = await asyncio.gather(*(p.wait("welcome") for p in players))
        ids = [w["player"]["player_id"] for w in welcomes]
        assert len(set(ids)) == CROWD
        await host.wait("player_joined", count=CROWD)

        # -- question 0: 200 answers within the same few milliseconds --------------------------
        assert await host.call("start_game") == {"ok": True, "question_index": 0}
        await asyncio.gather(*(p.wait("question_started") for p in players))
        answers = [i % 4 for i in range(CROWD)]
        acks = await asyncio.gather(
            *(
                p.call("submit_answer", {"question_index": 0, "answer": a}, timeout=20)
                for p, a in zip(players, answers, strict=True)
            )
        )
        assert all(a["ok"] is True for a in acks), [a for a in acks if not a["ok"]][:3]
        ended = await host.wait("question_ended")  # every player answered: auto-ended
        assert ended["answered"] == CROWD and ended["players_count"] == CROWD
        assert sum(ended["distribution"].values()) == CROWD
        assert ended["distribution"] == {str(k): CROWD // 4 for k in range(4)}
        results = await asyncio.gather(*(p.wait("your_result") for p in players))
        for answer, result in zip(answers, results, strict=True):
            assert result["answered"] is True and result["correct"] is (answer == 0)
            assert (result["points"] >= 500) is (answer == 0)
            assert result["score"] == result["points"]
        assert len(host.events["question_ended"]) == 1

        # -- question 1: one player fires a burst of answers at once ---------------------------
        assert await host.call("next_question") == {"ok": True, "question_index": 1}
        await players[0].wait("question_started", count=2)
        await asyncio.sleep(1.1)  # a fresh one-second window of the per-socket event limit
        burst = await asyncio.gather(
            *(
                players[0].call("submit_answer", {"question_index": 1, "answer": 0})
                for _ in range(BURST)
            )
        )
        oks = [a for a in burst if a.get("ok")]
        codes = sorted(a["error"]["code"] for a in burst if not a.get("ok"))
        assert len(oks) == 1, burst
        # SPEC §5 also limits events per socket (socket_events_per_s, 10 by default):
        # the burst's excess over that limit gets `rate_limited`, the rest `already_answered`.
        allowed = min(BURST, settings.socket_events_per_s)
        assert codes.count("already_answered") == allowed - 1, codes
        assert codes.count("rate_limited") == BURST - allowed, codes
        assert await host.call("end_question") == {"ok": True}
        ended = await host.wait("question_ended", count=2)
        assert ended["answered"] == 1 and ended["distribution"] == {"0": 1}
        mine = await players[0].wait("your_result", count=2)
        first = results[0]
        assert mine["answered"] is True and mine["correct"] is True
        assert 500 + 100 <= mine["points"] <= 1000 + 100  # streak 2: bonus 100, once
        assert mine["score"] == first["score"] + mine["points"] and mine["streak"] == 2

        assert await host.call("end_game") == {"ok": True, "game_id": game_id}
        await host.wait("game_finished")
        stats = await stored_results(user, game_id)
        assert stats["questions"][0]["answered"] == CROWD
        assert sum(stats["questions"][0]["distribution"].values()) == CROWD
        assert stats["questions"][1]["answered"] == 1
        by_id = {p["player_id"]: p for p in stats["players"]}
        assert len(by_id) == CROWD
        assert by_id[ids[0]]["answered_count"] == 2 and by_id[ids[0]]["correct_count"] == 2
        assert by_id[ids[0]]["score"] == mine["score"]
        assert all(by_id[pid]["answered_count"] == 1 for pid in ids[1:])
        async with http.get(
            f"/api/v1/results/{game_id}/me",
            headers={"Authorization": f"Bearer {welcomes[0]['player']['player_token']}"},
        ) as resp:
            assert resp.status == 200
            own = await resp.json()
        assert [a["question_index"] for a in own["answers"]] == [0, 1]
        assert own["answers"][1]["points"] == mine["points"]
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
