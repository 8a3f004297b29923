"""Response contracts of the /api/v1/results endpoints (SPEC §3, GameStats).

Instants are ISO 8601 UTC strings (pydantic renders aware datetimes that way);
durations are integer milliseconds, as everywhere on the wire.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class FinishedGameOut(BaseModel):
    """A stored game, as listed by GET /results and heading GET /results/{id}.

    Not `GameInfoOut`: that name is the live game a PIN leads to
    (`classquiz.game.contracts`); two models with one name made the OpenAPI
    schema names ambiguous.
    """

    game_id: uuid.UUID
    quiz_id: uuid.UUID
    title: str
    pin: str
    started_at: datetime | None
    finished_at: datetime
    players_count: int
    question_count: int
    expires_at: datetime | None = Field(
        default=None,
        description="when this server deletes these results by itself "
        "(RESULTS_RETENTION_DAYS after the game finished); null: kept until the host "
        "deletes them",
    )


class PlayerStatsOut(BaseModel):
    player_id: uuid.UUID
    nickname: str
    rank: int
    score: int
    correct_count: int
    answered_count: int


class ChoiceLabelOut(BaseModel):
    id: int = Field(description="the choice id a distribution key names (its authored index)")
    text: str


class QuestionStatsOut(BaseModel):
    index: int
    type: str
    text: str
    answered: int = Field(description="answers given to this question")
    correct_count: int = Field(description="correct answers (0 for polls)")
    accuracy: float | None = Field(
        description="correct_count / answered; null for polls or when nobody answered"
    )
    avg_time_ms: int | None = Field(description="mean elapsed time of the answers given")
    distribution: dict[str, int] = Field(
        description="the question_ended distribution: choice id, joined ids, text or value"
    )
    correct: Any = Field(
        default=None,
        description="the right answer as revealed in question_ended (null for polls)",
    )
    choices: list[ChoiceLabelOut] = Field(
        default=[],
        description="the choices as authored when the game was played, in authored order; "
        "empty for text and slider questions and for games stored before choices were kept",
    )


class GameStatsOut(BaseModel):
    game: FinishedGameOut
    players: list[PlayerStatsOut] = Field(description="ordered by rank")
    questions: list[QuestionStatsOut]
    hardest_question: int | None = Field(
        description="index of the graded question with the lowest accuracy, null if none"
    )
    hardest_questions: list[int] = Field(
        description="indexes of the graded, answered questions, lowest accuracy first "
        "(earlier question first on a tie)"
    )
    answers_count: int = Field(description="answers given in the whole game")
    accuracy: float | None = Field(
        description="correct / answered over all graded questions; null when none was answered"
    )
    avg_time_ms: int | None = Field(
        description="mean elapsed time of every answer given; null when there are none"
    )


class PlayerAnswerOut(BaseModel):
    question_index: int
    answer: Any
    correct: bool | None = Field(description="null for polls")
    points: int
    elapsed_ms: int


class PlayerResultOut(PlayerStatsOut):
    """What a player may see of a stored game: their own line and answers."""

    game_id: uuid.UUID
    answers: list[PlayerAnswerOut]


class ExportQuery(BaseModel):
    format: Literal["csv", "xlsx"] = "csv"
