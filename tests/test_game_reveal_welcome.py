"""What a reloaded screen gets back (issue 10 follow-ups): the host's welcome carries the
lock, the open question's answer count and the reveal's `question_ended`; a returning
player's welcome in a reveal carries its `your_result`; `your_result.gap_to_next` says how
far behind the player ranked just above one is. Real server, real sockets, real Redis."""

from __future__ import annotations

import asyncio
from typing import Any

from classquiz.contracts.server_events import Welcome, YourResult
from classquiz.game.store import places_by_score
from tests.support.live import SocketGroup, create_game
from tests.support.quizzes import single_choice
from tests.support.sockets import Recorder
from tests.support.users import ApiUser

# three two-choice questions of a minute (the first choice right), as in test_game_reconnect
COMEBACKS = [single_choice(f"Q{i}", 60, choices=("A", "B")) for i in range(3)]


def test_places_share_rank_and_gap_on_ties() -> None:
    assert places_by_score([1700, 875, 875, 0]) == {
        1700: (1, None),
        875: (2, 825),
        0: (4, 875),
    }
    assert places_by_score([300, 300]) == {300: (1, None)}
    assert places_by_score([]) == {}


def expected_gap(board: list[dict[str, Any]], score: int) -> int | None:
    """Independent of the server's computation: the lowest score above `score`, minus it."""
    higher = [entry["score"] for entry in board if entry["score"] > score]
    return min(higher) - score if higher else None


async def test_gap_to_next_with_eight_players_and_welcome_in_reveal(
    user: ApiUser, sockets: SocketGroup
) -> None:
    game = await create_game(user, COMEBACKS, title="Comebacks")
    host = await sockets.connect({"host_token": game["host_token"]})
    players = [await sockets.connect({"pin": game["pin"], "nickname": f"P{i}"}) for i in range(8)]
    assert await host.call("start_game") == {"ok": True, "question_index": 0}
    for p in players:
        await p.wait("question_started")
    # Five answer right one after the other (different times, different points), three
    # wrong (a tie at 0 points, below everyone).
    for i, p in enumerate(players):
        reply = await p.call("submit_answer", {"question_index": 0, "answer": 0 if i < 5 else 1})
        assert reply["ok"], reply
        await asyncio.sleep(0.15)  # 60 s limit: 1 point per 120 ms
    ended = await host.wait("question_ended")
    results = [await p.wait("your_result") for p in players]
    for result in results:
        YourResult.model_validate(result)

    board = (await host.call("get_leaderboard", {"limit": 100}))["entries"]
    assert len(board) == 8
    for result in results:
        gap = expected_gap(board, result["score"])
        if gap is None:
            assert result["rank"] == 1 and "gap_to_next" not in result
        else:
            assert result["gap_to_next"] == gap, (result, board)
    assert sorted(r["rank"] for r in results) == [1, 2, 3, 4, 5, 6, 6, 6]
    assert sum("gap_to_next" in r for r in results) == 7

    # The host reloads in the reveal: the welcome repeats question_ended as sent.
    await host.close()
    host = await sockets.connect({"host_token": game["host_token"]})
    welcome = host.events["welcome"][0]
    Welcome.model_validate(welcome)
    assert welcome["game"]["status"] == "reveal"
    assert welcome["question_ended"] == ended
    assert welcome["locked"] is False and "answered" not in welcome

    # A player reloads in the reveal: the welcome repeats its your_result, gap included.
    last = players[6]
    token = last.events["welcome"][0]["player"]["player_token"]
    await last.close()
    back = await sockets.connect({"player_token": token})
    again = back.events["welcome"][0]
    Welcome.model_validate(again)
    assert again["your_result"] == results[6]
    assert again["your_result"]["gap_to_next"] == expected_gap(board, 0)
    leader = players[0]
    token = leader.events["welcome"][0]["player"]["player_token"]
    await leader.close()
    top = await sockets.connect({"player_token": token})
    assert top.events["welcome"][0]["your_result"] == results[0]
    assert "gap_to_next" not in results[0]

    # Next question: a host reload mid-question gets the count so far and the lock.
    assert await host.call("next_question") == {"ok": True, "question_index": 1}
    await back.wait("question_started")
    assert (await back.call("submit_answer", {"question_index": 1, "answer": 0}))["ok"]
    await players[1].wait("question_started", count=2)
    assert (await players[1].call("submit_answer", {"question_index": 1, "answer": 1}))["ok"]
    assert await host.call("lock_game", {"locked": True}) == {"ok": True, "locked": True}
    await host.close()
    host = await sockets.connect({"host_token": game["host_token"]})
    welcome = host.events["welcome"][0]
    Welcome.model_validate(welcome)
    assert welcome["game"]["status"] == "question"
    assert welcome["answered"] == 2
    assert welcome["locked"] is True
    assert "question_ended" not in welcome
    # A player's welcome mid-question has no result to repeat.
    await back.close()
    back = await sockets.connect(
        {"player_token": back.events["welcome"][0]["player"]["player_token"]}
    )
    assert "your_result" not in back.events["welcome"][0]
    assert back.events["welcome"][0]["answered"] is True


async def test_reveal_of_an_older_question_is_not_repeated(user: ApiUser, base_url: str) -> None:
    """The kept payload names its question: a welcome never shows another question's reveal."""
    game = await create_game(user, COMEBACKS, title="Comebacks")
    host = Recorder(base_url)
    ada = Recorder(base_url)
    try:
        await host.connect({"host_token": game["host_token"]})
        await ada.connect({"pin": game["pin"], "nickname": "Ada"})
        await ada.wait("welcome")
        await host.call("start_game")
        await host.call("end_question")
        await host.wait("question_ended")
        await host.call("next_question")
        await host.wait("question_started", count=2)
        second = Recorder(base_url)
        await second.connect({"host_token": game["host_token"]})
        welcome = await second.wait("welcome")
        assert welcome["game"]["question_index"] == 1 and "question_ended" not in welcome
        assert welcome["answered"] == 0
        await second.call("end_question")
        ended = await second.wait("question_ended")
        third = Recorder(base_url)
        await third.connect({"host_token": game["host_token"]})
        assert (await third.wait("welcome"))["question_ended"] == ended
        assert ended["question_index"] == 1
        await third.close()
    finally:
        await host.close()
        await ada.close()
