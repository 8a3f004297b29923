"""A real finished game for the results tests: the sample quiz of all seven types,
hosted and played to its end by real Socket.IO clients, its results stored in
PostgreSQL by the server itself (nothing written to the tables by the test)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from tests.support.quizzes import sample_quiz
from tests.support.sockets import Recorder
from tests.support.users import ApiUser

NICKNAMES = ("Ada", "Bruno", "Chloé")
# Per question of sample_quiz(), what each player answers (None: skips it).
ANSWERS: list[tuple[Any, Any, Any]] = [
    (1, 1, 0),  # single "2 + 2?": Ada and Bruno right ("4"), Chloé "3"
    ([0, 1], [0], [0, 1]),  # multiple "Primes?": Bruno half right
    (0, 1, 0),  # true_false: Bruno wrong
    ("Paris", "Lyon", None),  # text: Chloé skips it
    (90, 45, 91),  # slider 0..180, correct 90 ± 2
    ([0, 1, 2], [2, 1, 0], [0, 1, 2]),  # order "Smallest first"
    (1, 1, 0),  # poll: Blue, Blue, Red
]


@dataclass(frozen=True)
class PlayedGame:
    game_id: str
    pin: str
    quiz_id: str
    player_tokens: dict[str, str]  # nickname -> player token (for /results/{id}/me)


async def play_sample_game(user: ApiUser, base_url: str, title: str = "Sample quiz") -> PlayedGame:
    """Host the sample quiz as `user`, let three players answer every question, end the
    game and wait until the server has stored its results."""
    status, quiz = await user.request("POST", "/api/v1/quizzes", json=sample_quiz(title=title))
    assert status == 201, quiz
    status, game = await user.request("POST", "/api/v1/games", json={"quiz_id": quiz["id"]})
    assert status == 201, game
    host = await Recorder(base_url).connect({"host_token": game["host_token"]})
    await host.wait("welcome")
    players = [
        await Recorder(base_url).connect({"pin": game["pin"], "nickname": n}) for n in NICKNAMES
    ]
    tokens = {}
    for nickname, player in zip(NICKNAMES, players, strict=True):
        tokens[nickname] = (await player.wait("welcome"))["player"]["player_token"]
    await host.wait("player_joined", count=len(players))
    try:
        assert (await host.call("start_game"))["ok"]
        for qi, answers in enumerate(ANSWERS):
            await players[0].wait("question_started", count=qi + 1)
            calls = [
                p.call("submit_answer", {"question_index": qi, "answer": a})
                for p, a in zip(players, answers, strict=True)
                if a is not None
            ]
            acks = await asyncio.gather(*calls)
            assert all(a["ok"] for a in acks), acks
            if None in answers:  # not everyone answered: the host closes the question
                assert (await host.call("end_question"))["ok"]
            await host.wait("question_ended", count=qi + 1)
            if qi + 1 < len(ANSWERS):
                assert (await host.call("next_question"))["ok"]
        assert (await host.call("end_game"))["ok"]
        await players[0].wait("final_result")
    finally:
        for client in [host, *players]:
            await client.close()
    for _ in range(100):
        status, _body = await user.request("GET", f"/api/v1/results/{game['game_id']}")
        if status == 200:
            break
        await asyncio.sleep(0.1)
    assert status == 200, "the game's results were never stored"
    return PlayedGame(game["game_id"], game["pin"], quiz["id"], tokens)
