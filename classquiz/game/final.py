"""The record of a finished game, handed from the live store to the ResultService.

Built from Redis when a game finishes; written to PostgreSQL exactly once (and
kept in Redis until it is). Every field here ends up in the results tables.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel

from classquiz.game.records import FinalState
from classquiz.game.rules import competition_ranks, correct_answer

PlayerStatus = Literal["active", "left", "kicked", "banned"]


class FinalAnswer(BaseModel):
    player_id: uuid.UUID
    question_index: int
    answer: Any
    correct: bool | None  # None for polls
    points: int
    elapsed_ms: int


class FinalPlayer(BaseModel):
    player_id: uuid.UUID
    nickname: str
    score: int
    rank: int
    correct_count: int
    answered_count: int
    status: PlayerStatus = "active"


class FinalChoice(BaseModel):
    """A choice as authored, so stored results can label their charts after the quiz
    is edited or deleted (a distribution is keyed by choice id only)."""

    id: int  # the choice's index in the authored question: the distribution's key
    text: str


class FinalQuestion(BaseModel):
    index: int  # position in play order
    type: str
    text: str
    points: int
    time_limit_ms: int
    correct: Any  # as revealed in question_ended; None for polls
    distribution: dict[str, int]
    answered: int
    # Empty for text and slider questions, and in snapshots parked before choices were kept.
    choices: list[FinalChoice] = []


class FinishedGame(BaseModel):
    game_id: uuid.UUID
    quiz_id: uuid.UUID
    owner_id: uuid.UUID
    pin: str
    title: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime
    question_count: int
    questions: list[FinalQuestion]
    players: list[FinalPlayer]
    answers: list[FinalAnswer]


def _instant(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms else None


def finished_game(
    *,
    game_id: str,
    quiz_id: str,
    owner_id: str,
    pin: str,
    title: str,
    questions: list[dict[str, Any]],
    created_at_ms: int | None,
    started_at_ms: int | None,
    finished_at_ms: int | None,
    state: FinalState,
) -> FinishedGame:
    """The record of a finished game from the live store's final state (pure).

    Scores are summed from the answers themselves, so the record does not depend
    on the live leaderboard; every player who ever joined is in it, with the
    status they ended with, ranked among all of them.
    """
    totals: dict[str, int] = {pid: 0 for pid in state.players}
    answered: dict[str, int] = {pid: 0 for pid in state.players}
    answers: list[FinalAnswer] = []
    for qi, per_player in enumerate(state.answers):
        for pid, record in per_player.items():
            totals[pid] = totals.get(pid, 0) + record.points
            answered[pid] = answered.get(pid, 0) + 1
            answers.append(
                FinalAnswer(
                    player_id=uuid.UUID(pid),
                    question_index=qi,
                    answer=record.answer,
                    correct=record.correct,
                    points=record.points,
                    elapsed_ms=record.elapsed_ms,
                )
            )
    ranks = competition_ranks(totals.items())
    players = [
        FinalPlayer(
            player_id=uuid.UUID(pid),
            nickname=record.nickname,
            score=totals[pid],
            rank=ranks[pid],
            correct_count=state.correct.get(pid, 0),
            answered_count=answered[pid],
            status=state.gone.get(pid, "active"),
        )
        for pid, record in state.players.items()
    ]
    players.sort(key=lambda p: (p.rank, p.nickname.casefold()))
    return FinishedGame(
        game_id=uuid.UUID(game_id),
        quiz_id=uuid.UUID(quiz_id),
        owner_id=uuid.UUID(owner_id),
        pin=pin,
        title=title,
        created_at=_instant(created_at_ms) or datetime.now(UTC),
        started_at=_instant(started_at_ms),
        finished_at=_instant(finished_at_ms) or datetime.now(UTC),
        question_count=len(questions),
        questions=[
            FinalQuestion(
                index=qi,
                type=q["type"],
                text=q["text"],
                points=int(q.get("points", 1)),
                time_limit_ms=int(q["time_limit_s"]) * 1000,
                correct=correct_answer(q),
                distribution=state.distributions[qi],
                answered=len(state.answers[qi]),
                choices=[
                    FinalChoice(id=ci, text=str(c["text"]))
                    for ci, c in enumerate(q.get("choices") or [])
                ],
            )
            for qi, q in enumerate(questions)
        ],
        players=players,
        answers=answers,
    )
