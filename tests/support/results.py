"""A finished game to store and read back, for the results tests: five players, four
questions, every kind of answer, with the numbers the stats tests check against."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from classquiz.db.engine import database
from classquiz.game.final import FinalAnswer, FinalPlayer, FinalQuestion, FinishedGame
from classquiz.services.results_store import ANSWERS, GAMES, PLAYERS

BASE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NICKS = ["Ada", "Bob", "Ann", "Zoë", "=SUM(1)"]
# (player, question) -> (answer, correct, points, elapsed_ms); see the numbers in the stats test.
PLAN: dict[tuple[int, int], tuple[Any, bool | None, int, int]] = {
    (0, 0): (1, True, 950, 2000),
    (1, 0): (1, True, 900, 4000),
    (2, 0): (0, False, 0, 6000),
    (3, 0): (1, True, 800, 8000),
    (0, 1): ([0, 1], True, 1850, 3000),
    (1, 1): ([0], False, 0, 5000),
    (2, 1): ([1, 0], True, 1800, 4000),
    (4, 1): ([2], False, 0, 2001),
    (0, 2): (0, None, 0, 1000),
    (1, 2): (1, None, 0, 2000),
    (2, 2): (0, None, 0, 3000),
    (3, 2): (0, None, 0, 4000),
    (4, 2): (1, None, 0, 5001),
    (0, 3): ("Lyon", False, 0, 1000),
    (1, 3): ("Paris", True, 900, 2000),
    (2, 3): ("42", False, 0, 3000),
    (3, 3): ("=1+1", False, 0, 1500),
    (4, 3): ("paris ", True, 750, 5000),
}
SCORES = [2800, 1800, 1800, 800, 750]
RANKS = [1, 2, 2, 4, 5]


def finished_game(
    owner_id: uuid.UUID, finished_at: datetime = BASE, title: str = "Capitals"
) -> FinishedGame:
    """A plausible finished game: 5 players, 4 questions (single, multiple, poll, text)."""
    player_ids = [uuid.uuid4() for _ in NICKS]
    questions = [
        FinalQuestion(
            index=0,
            type="single",
            text="2 + 2?",
            points=1,
            time_limit_ms=20_000,
            correct=[1],
            distribution={"0": 1, "1": 3},
            answered=4,
        ),
        FinalQuestion(
            index=1,
            type="multiple",
            text="Primes?",
            points=2,
            time_limit_ms=20_000,
            correct=[0, 1],
            distribution={"0": 3, "1": 2, "2": 1},
            answered=4,
        ),
        FinalQuestion(
            index=2,
            type="poll",
            text="Tea or coffee?",
            points=0,
            time_limit_ms=20_000,
            correct=None,
            distribution={"0": 3, "1": 2},
            answered=5,
        ),
        FinalQuestion(
            index=3,
            type="text",
            text="Capital of France?",
            points=1,
            time_limit_ms=10_000,
            correct=["Paris"],
            distribution={"lyon": 1, "paris": 2, "42": 1, "=1+1": 1},
            answered=5,
        ),
    ]
    answers = [
        FinalAnswer(
            player_id=player_ids[p],
            question_index=q,
            answer=a,
            correct=c,
            points=pts,
            elapsed_ms=ms,
        )
        for (p, q), (a, c, pts, ms) in PLAN.items()
    ]
    players = [
        FinalPlayer(
            player_id=player_ids[i],
            nickname=NICKS[i],
            score=SCORES[i],
            rank=RANKS[i],
            correct_count=sum(1 for (p, _), v in PLAN.items() if p == i and v[1]),
            answered_count=sum(1 for (p, _) in PLAN if p == i),
        )
        for i in range(len(NICKS))
    ]
    return FinishedGame(
        game_id=uuid.uuid4(), quiz_id=uuid.uuid4(), owner_id=owner_id, pin="123456",
        title=title, created_at=finished_at - timedelta(minutes=10),
        started_at=finished_at - timedelta(minutes=8), finished_at=finished_at,
        question_count=4, questions=questions, players=players, answers=answers,
    )  # fmt: skip


async def count_rows(game_id: uuid.UUID) -> tuple[int, int, int]:
    """Rows of the game in games, game_players and game_answers, over the app's connection."""
    async with database.connection() as conn:
        out = []
        for table in (GAMES, PLAYERS, ANSWERS):
            query = sa.select(sa.func.count()).select_from(table)
            column = table.c.id if table is GAMES else table.c.game_id
            out.append((await conn.execute(query.where(column == game_id))).scalar_one())
    return out[0], out[1], out[2]


async def game_row(game_id: uuid.UUID) -> sa.Row[Any]:
    """The game's row in `games` (a tombstone too), over the app's connection."""
    async with database.connection() as conn:
        return (await conn.execute(sa.select(GAMES).where(GAMES.c.id == game_id))).one()
