"""The record of a finished game, handed from the live store to the ResultService.

Built from Redis when a game finishes; written to PostgreSQL exactly once (and
kept in Redis until it is). Every field here ends up in the results tables.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

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


class FinalQuestion(BaseModel):
    index: int  # position in play order
    type: str
    text: str
    points: int
    time_limit_ms: int
    correct: Any  # as revealed in question_ended; None for polls
    distribution: dict[str, int]
    answered: int


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
