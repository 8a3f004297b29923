"""A whole game over real sockets: 30 players, every question type, every event of SPEC §4.

Every score is recomputed from SPEC §5's formula (classquiz.game.rules) with the
elapsed times the server measured, read back from GET /results/{game_id}/me.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import ClientSession

from classquiz.config import Settings
from classquiz.game.rules import GRACE_MS, score_answer
from tests.support.database import stored_rows
from tests.support.sockets import Recorder
from tests.support.users import ApiUser

PLAYERS = 30
TIME_LIMIT_S = 30
RIGHT, WRONG, NONE = "right", "wrong", "none"

# Each question with the answers a player may give: (answer, graded correctness, bucket keys).
QUESTIONS: list[dict[str, Any]] = [
    {
        "type": "true_false",
        "text": "Water is wet",
        "time_limit_s": TIME_LIMIT_S,
        "points": 0,
        "choices": [{"text": "True", "correct": True}, {"text": "False"}],
    },
    {
        "type": "single",
        "text": "3 × 3?",
        "time_limit_s": TIME_LIMIT_S,
        "points": 1,
        "choices": [{"text": "6"}, {"text": "8"}, {"text": "9", "correct": True}, {"text": "33"}],
    },
    {
        "type": "multiple",
        "text": "Even numbers?",
        "time_limit_s": TIME_LIMIT_S,
        "points": 2,
        "choices": [
            {"text": "2", "correct": True},
            {"text": "3"},
            {"text": "4", "correct": True},
            {"text": "5"},
        ],
    },
    {
        "type": "text",
        "text": "Capital of France?",
        "time_limit_s": TIME_LIMIT_S,
        "points": 1,
        "accepted_answers": ["Paris", "Paris, France"],
    },
    {
        "type": "slider",
        "text": "Percent of 40 of 100",
        "time_limit_s": TIME_LIMIT_S,
        "points": 2,
        "slider": {"min": 0, "max": 100, "step": 5, "correct": 40, "tolerance": 3},
    },
    {
        "type": "order",
        "text": "Smallest first",
        "time_limit_s": TIME_LIMIT_S,
        "points": 1,
        "choices": [{"text": "1"}, {"text": "10"}, {"text": "100"}, {"text": "1000"}],
    },
    {
        "type": "poll",
        "text": "Favourite season?",
        "time_limit_s": TIME_LIMIT_S,
        "points": 1,
        "choices": [{"text": "Spring"}, {"text": "Summer"}, {"text": "Winter"}],
    },
    {
        "type": "single",
        "text": "Largest planet?",
        "time_limit_s": TIME_LIMIT_S,
        "points": 1,
        "choices": [{"text": "Mars"}, {"text": "Jupiter", "correct": True}, {"text": "Venus"}],
    },
]

# Per question: right answers and wrong answers, each (answer, distribution buckets).
RIGHT_ANSWERS: list[list[tuple[Any, list[str]]]] = [
    [(0, ["0"])],
    [(2, ["2"])],
    [([0, 2], ["0", "2"]), ([2, 0], ["0", "2"])],
    [
        ("  paris ", ["paris"]),
        ("PARIS", ["paris"]),
        ("ｐａｒｉｓ", ["paris"]),
        ("Paris,  France", ["paris, france"]),
    ],
    [(40, ["40"]), (42.5, ["42.5"]), (37, ["37"])],
    [([0, 1, 2, 3], ["0,1,2,3"])],
    [(0, ["0"]), (1, ["1"]), (2, ["2"])],  # poll: "right" only means "answered"
    [(1, ["1"])],
]
WRONG_ANSWERS: list[list[tuple[Any, list[str]]]] = [
    [(1, ["1"])],
    [(0, ["0"]), (3, ["3"]), (1, ["1"])],
    [([0], ["0"]), ([0, 1, 2], ["0", "1", "2"]), ([3], ["3"])],
    [("Lyon", ["lyon"]), ("Pariss", ["pariss"])],
    [(44, ["44"]), (0, ["0"]), (36.5, ["36.5"])],
    [([3, 2, 1, 0], ["3,2,1,0"]), ([1, 0, 2, 3], ["1,0,2,3"])],
    [(2, ["2"])],
    [(0, ["0"]), (2, ["2"])],
]
EXPECTED_CORRECT: list[Any] = [
    [0],
    [2],
    [0, 2],
    ["Paris", "Paris, France"],
    {"correct": 40, "tolerance": 3},
    [0, 1, 2, 3],
    None,
    [1],
]


async def paced(client: Recorder, event: str) -> Any:
    """A host command spaced like a person would (the server allows 10 events a second)."""
    await asyncio.sleep(0.12)
    return await client.call(event)


def plan_kind(player: int, q: int) -> str:
    if player == 0:
        return RIGHT  # one player answers everything right: the streak bonus reaches its cap
    if q == 0:
        return WRONG if player % 3 == 0 else RIGHT  # everyone answers: the question auto-ends
    if player == PLAYERS - 1:
        return NONE  # one player never answers after the first question
    v = (player * 5 + q * 3) % 11
    return RIGHT if v < 6 else WRONG if v < 9 else NONE


def planned(player: int, q: int) -> tuple[str, Any, list[str]]:
    kind = plan_kind(player, q)
    if kind == NONE:
        return kind, None, []
    options = RIGHT_ANSWERS[q] if kind == RIGHT else WRONG_ANSWERS[q]
    answer, buckets = options[player % len(options)]
    return kind, answer, buckets


def assert_no_secret(payload: Any) -> None:
    """question_started carries no correct answer in any form."""
    text = json.dumps(payload, ensure_ascii=False)
    for word in ("correct", "accepted_answers", "tolerance", "Paris"):
        assert word not in text, (word, payload)


def expected_ranks(scores: dict[str, int]) -> dict[str, int]:
    return {pid: 1 + sum(1 for s in scores.values() if s > mine) for pid, mine in scores.items()}


def expected_gap(scores: dict[str, int], pid: str) -> dict[str, int]:
    """`gap_to_next` as a `your_result` carries it: absent when nobody scores higher."""
    higher = [s for s in scores.values() if s > scores[pid]]
    return {"gap_to_next": min(higher) - scores[pid]} if higher else {}


def check_leaderboard(entries: list[dict[str, Any]], scores: dict[str, int], size: int) -> None:
    ranks = expected_ranks(scores)
    assert len(entries) == min(size, len(scores))
    assert sorted((e["score"] for e in entries), reverse=True) == [e["score"] for e in entries]
    assert [e["score"] for e in entries] == sorted(scores.values(), reverse=True)[:size]
    for entry in entries:
        assert set(entry) == {"rank", "player_id", "nickname", "score"}
        assert entry["score"] == scores[entry["player_id"]], entry
        assert entry["rank"] == ranks[entry["player_id"]], entry


async def test_full_game_thirty_players(
    http: ClientSession, user: ApiUser, base_url: str, settings: Settings
) -> None:
    quiz = {"title": "Full game", "questions": QUESTIONS}
    status, created = await user.request("POST", "/api/v1/quizzes", json=quiz)
    assert status == 201, created
    status, game = await user.request(
        "POST",
        "/api/v1/games",
        json={"quiz_id": created["id"], "settings": {"streak_bonus": True}},
    )
    assert status == 201, game
    pin, game_id = game["pin"], game["game_id"]
    qcount = len(QUESTIONS)

    clients: list[Recorder] = []
    try:
        host = await Recorder(base_url).connect({"host_token": game["host_token"]})
        clients.append(host)
        hw = await host.wait("welcome")
        assert hw["role"] == "host" and "player" not in hw
        assert hw["game"]["players"] == [] and hw["game"]["status"] == "lobby"
        assert hw["game"]["question_index"] == -1 and hw["game"]["question_count"] == qcount
        assert hw["game"]["game_id"] == game_id and hw["game"]["pin"] == pin
        assert hw["game"]["title"] == "Full game" and hw["game"]["players_count"] == 0
        assert isinstance(hw["game"]["server_time_ms"], int)

        # -- 30 players join at once ------------------------------------------------------
        nicknames = [f"Player {i:02d}" for i in range(PLAYERS)]
        players = [Recorder(base_url) for _ in range(PLAYERS)]
        clients.extend(players)
        await asyncio.gather(
            *(
                p.connect({"pin": pin, "nickname": n})
                for p, n in zip(players, nicknames, strict=True)
            )
        )
        welcomes = await asyncio.gather(*(p.wait("welcome") for p in players))
        ids: list[str] = []
        tokens: list[str] = []
        for w, nickname in zip(welcomes, nicknames, strict=True):
            assert w["role"] == "player"
            me = w["player"]
            assert set(me) == {"player_id", "nickname", "player_token", "score", "streak"}
            assert me["nickname"] == nickname and me["score"] == 0 and me["streak"] == 0
            assert "players" not in w["game"] and "answered" not in w
            assert w["game"]["status"] == "lobby" and w["game"]["question_index"] == -1
            assert 1 <= w["game"]["players_count"] <= PLAYERS
            ids.append(me["player_id"])
            tokens.append(me["player_token"])
        assert len(set(ids)) == PLAYERS and len(set(tokens)) == PLAYERS
        nick_of = dict(zip(ids, nicknames, strict=True))

        await host.wait("player_joined", count=PLAYERS)
        joined = host.events["player_joined"]
        assert len(joined) == PLAYERS
        assert {j["player"]["player_id"] for j in joined} == set(ids)
        for j in joined:
            assert set(j) == {"player", "players_count"}
            assert j["player"]["nickname"] == nick_of[j["player"]["player_id"]]
            assert 1 <= j["players_count"] <= PLAYERS
        assert max(j["players_count"] for j in joined) == PLAYERS

        # A second host socket takes over and sees every player in its welcome.
        host2 = await Recorder(base_url).connect({"host_token": game["host_token"]})
        clients.append(host2)
        hw2 = await host2.wait("welcome")
        await host.wait("replaced")
        roster = hw2["game"]["players"]
        assert len(roster) == PLAYERS and hw2["game"]["players_count"] == PLAYERS
        assert {p["player_id"] for p in roster} == set(ids)
        for entry in roster:
            assert set(entry) == {"player_id", "nickname", "connected", "score"}
            assert entry["connected"] is True and entry["score"] == 0
            assert entry["nickname"] == nick_of[entry["player_id"]]
        host = host2

        # -- the questions ----------------------------------------------------------------
        acks: dict[tuple[int, int], dict[str, Any]] = {}
        started_payloads: list[dict[str, Any]] = []
        ended_payloads: list[dict[str, Any]] = []
        for q in range(qcount):
            ack = await paced(host, "start_game" if q == 0 else "next_question")
            assert ack == {"ok": True, "question_index": q}, ack
            started = await host.wait("question_started", count=q + 1)
            seen = await asyncio.gather(*(p.wait("question_started", count=q + 1) for p in players))
            assert all(s == started for s in seen)
            started_payloads.append(started)
            assert set(started) == {
                "question_index",
                "question_count",
                "question",
                "opens_at_ms",
                "deadline_at_ms",
                "server_time_ms",
            }
            assert started["question_index"] == q and started["question_count"] == qcount
            assert_no_secret(started)
            spec = QUESTIONS[q]
            view = started["question"]
            assert view["type"] == spec["type"] and view["text"] == spec["text"]
            assert view["image"] is None
            assert view["time_limit_ms"] == TIME_LIMIT_S * 1000
            assert view["points"] == spec["points"]
            choices = spec.get("choices") or []
            assert sorted(c["id"] for c in view["choices"]) == list(range(len(choices)))
            for c in view["choices"]:
                assert set(c) == {"id", "text"} and c["text"] == choices[c["id"]]["text"]
            if spec["type"] == "order":
                assert [c["id"] for c in view["choices"]] != list(range(len(choices)))
            if spec["type"] == "slider":
                assert view["slider"] == {"min": 0, "max": 100, "step": 5}
            else:
                assert "slider" not in view
            assert started["deadline_at_ms"] - started["opens_at_ms"] == TIME_LIMIT_S * 1000
            assert started["opens_at_ms"] <= started["server_time_ms"] < started["deadline_at_ms"]

            plans = [planned(i, q) for i in range(PLAYERS)]
            answering = [i for i in range(PLAYERS) if plans[i][0] != NONE]
            results = await asyncio.gather(
                *(
                    players[i].call("submit_answer", {"question_index": q, "answer": plans[i][1]})
                    for i in answering
                )
            )
            for i, ack in zip(answering, results, strict=True):
                assert set(ack) == {"ok", "received_at_ms"} and ack["ok"] is True, ack
                assert started["opens_at_ms"] <= ack["received_at_ms"]
                assert ack["received_at_ms"] <= started["deadline_at_ms"] + GRACE_MS
                acks[(i, q)] = ack

            # answer_count reaches the host (coalesced), with the final count.
            for _ in range(100):
                counts = [c for c in host.events["answer_count"] if c["question_index"] == q]
                if counts and counts[-1]["answered"] == len(answering):
                    break
                await asyncio.sleep(0.05)
            counts = [c for c in host.events["answer_count"] if c["question_index"] == q]
            assert counts, host.order[-10:]
            for c in counts:
                assert set(c) == {"question_index", "answered", "players_count"}
                assert 1 <= c["answered"] <= len(answering) and c["players_count"] == PLAYERS
            assert counts[-1]["answered"] == len(answering)

            if len(answering) < PLAYERS:
                assert await paced(host, "end_question") == {"ok": True}
            # else: everyone answered, the server ends the question by itself
            ended = await host.wait("question_ended", count=q + 1)
            seen = await asyncio.gather(*(p.wait("question_ended", count=q + 1) for p in players))
            assert all(s == ended for s in seen)
            ended_payloads.append(ended)
            assert set(ended) == {
                "question_index",
                "correct",
                "distribution",
                "answered",
                "players_count",
                "top",
            }
            assert ended["question_index"] == q
            assert ended["correct"] == EXPECTED_CORRECT[q]
            assert ended["answered"] == len(answering)
            assert ended["players_count"] == PLAYERS
            expected_dist: dict[str, int] = {}
            for i in answering:
                for bucket in plans[i][2]:
                    expected_dist[bucket] = expected_dist.get(bucket, 0) + 1
            assert ended["distribution"] == expected_dist, (q, ended["distribution"])
            await asyncio.gather(*(p.wait("your_result", count=q + 1) for p in players))

        ack = await paced(host, "next_question")
        assert ack == {"ok": True, "finished": True}, ack
        finished = await host.wait("game_finished")
        finals = await asyncio.gather(*(p.wait("final_result") for p in players))
        seen = await asyncio.gather(*(p.wait("game_finished") for p in players))
        assert all(s == finished for s in seen)

        # -- players never see host-only events ---------------------------------------------
        for p in players:
            for event in ("player_joined", "player_left", "player_status", "answer_count"):
                assert not p.events[event], (event, p.events[event][:2])
            assert len(p.events["welcome"]) == 1
            assert len(p.events["your_result"]) == qcount
            assert len(p.events["final_result"]) == 1
        for event in ("your_result", "final_result"):
            assert not host.events[event]

        # -- the stored results: once, with every answer ---------------------------------------
        for _ in range(100):
            status, stats = await user.request("GET", f"/api/v1/results/{game_id}")
            if status == 200:
                break
            await asyncio.sleep(0.1)
        assert status == 200, stats
        mine: dict[str, dict[str, Any]] = {}
        for i, token in enumerate(tokens):
            async with http.get(
                f"/api/v1/results/{game_id}/me", headers={"Authorization": f"Bearer {token}"}
            ) as resp:
                assert resp.status == 200, await resp.text()
                mine[ids[i]] = await resp.json()

        # -- recompute every score from the formula ------------------------------------------------
        scores = {pid: 0 for pid in ids}
        streaks = {pid: 0 for pid in ids}
        correct_counts = {pid: 0 for pid in ids}
        answered_counts = {pid: 0 for pid in ids}
        total_answers = 0
        for q, spec in enumerate(QUESTIONS):
            graded = spec["type"] != "poll"
            started = started_payloads[q]
            for i, pid in enumerate(ids):
                kind, answer, _ = planned(i, q)
                record = next((a for a in mine[pid]["answers"] if a["question_index"] == q), None)
                if kind == NONE:
                    assert record is None, record
                    points = 0
                    if graded:
                        streaks[pid] = 0
                    correct: bool | None = False if graded else None
                else:
                    assert record is not None, (i, q)
                    total_answers += 1
                    answered_counts[pid] += 1
                    correct = None if not graded else kind == RIGHT
                    assert record["correct"] is correct, (i, q, record)
                    stored = sorted(answer) if spec["type"] == "multiple" else answer
                    assert record["answer"] == stored, (i, q, record)
                    elapsed = acks[(i, q)]["received_at_ms"] - started["opens_at_ms"]
                    assert record["elapsed_ms"] == max(0, min(elapsed, TIME_LIMIT_S * 1000))
                    points, streaks[pid] = score_answer(
                        correct,
                        spec["points"],
                        record["elapsed_ms"],
                        TIME_LIMIT_S * 1000,
                        streaks[pid],
                        True,
                    )
                    assert record["points"] == points, (i, q, record, streaks[pid])
                    if correct:
                        correct_counts[pid] += 1
                scores[pid] += points
            ranks = expected_ranks(scores)
            check_leaderboard(ended_payloads[q]["top"], scores, 5)
            for i, pid in enumerate(ids):
                kind = plan_kind(i, q)
                result = players[i].events["your_result"][q]
                assert set(result) - {"gap_to_next"} == {
                    "question_index",
                    "answered",
                    "correct",
                    "points",
                    "streak",
                    "score",
                    "rank",
                }
                expected_correct = None if not graded else kind == RIGHT
                expected_points = next(
                    (a["points"] for a in mine[pid]["answers"] if a["question_index"] == q), 0
                )
                assert result == {
                    "question_index": q,
                    "answered": kind != NONE,
                    "correct": expected_correct,
                    "points": expected_points,
                    "streak": streaks[pid],
                    "score": scores[pid],
                    "rank": ranks[pid],
                    **expected_gap(scores, pid),
                }, (i, q, result)

        # Player 0 answered all right: its streak reached the bonus cap.
        assert streaks[ids[0]] == 7
        # The first question (points 0) left everyone at 0: five shared first places.
        assert [e["rank"] for e in ended_payloads[0]["top"]] == [1] * 5

        ranks = expected_ranks(scores)
        assert set(finished) == {"game_id", "podium", "players_count"}
        assert finished["game_id"] == game_id and finished["players_count"] == PLAYERS
        check_leaderboard(finished["podium"], scores, 3)
        for i, final in enumerate(finals):
            pid = ids[i]
            assert final == {
                "rank": ranks[pid],
                "score": scores[pid],
                "correct_count": correct_counts[pid],
                "question_count": qcount,
            }, (i, final)

        # GET /results/{game_id}
        assert stats["game"]["game_id"] == game_id and stats["game"]["pin"] == pin
        assert stats["game"]["players_count"] == PLAYERS
        assert stats["game"]["question_count"] == qcount
        assert stats["game"]["started_at"] and stats["game"]["finished_at"]
        assert len(stats["players"]) == PLAYERS
        for row in stats["players"]:
            pid = row["player_id"]
            assert row == {
                "player_id": pid,
                "nickname": nick_of[pid],
                "rank": ranks[pid],
                "score": scores[pid],
                "correct_count": correct_counts[pid],
                "answered_count": answered_counts[pid],
            }
            own = mine[pid]
            assert own["game_id"] == game_id
            assert {k: own[k] for k in row} == row
            assert sum(a["points"] for a in own["answers"]) == scores[pid]
        assert [r["rank"] for r in stats["players"]] == sorted(r["rank"] for r in stats["players"])
        for q, row in enumerate(stats["questions"]):
            assert row["index"] == q and row["type"] == QUESTIONS[q]["type"]
            assert row["answered"] == ended_payloads[q]["answered"]
            assert row["distribution"] == ended_payloads[q]["distribution"]
            right = sum(1 for i in range(PLAYERS) if plan_kind(i, q) == RIGHT)
            if QUESTIONS[q]["type"] == "poll":
                assert row["correct_count"] == 0 and row["accuracy"] is None
            else:
                assert row["correct_count"] == right
                assert abs(row["accuracy"] - right / row["answered"]) < 1e-9

        games_rows, player_rows, answer_rows = await asyncio.to_thread(
            stored_rows, settings.require_database_url(), game_id
        )
        assert (games_rows, player_rows, answer_rows) == (1, PLAYERS, total_answers)
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
