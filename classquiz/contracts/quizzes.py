"""REST contracts of quizzes: questions, quizzes, lists, the quiz document and table import.

Question rules of SPEC §3 live here as validators, so a quiz that reaches the
database is always playable; each rule names the field it is about, so a 422
says "question 3, choices: needs at least one correct choice".
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from classquiz.contracts.common import CHOICE_TYPES, MAX_OFFSET, Contract, QuestionType, Trimmed
from classquiz.contracts.media import ImageAddress

MAX_QUESTIONS = 200
MIN_TIME_LIMIT_S = 5
MAX_TIME_LIMIT_S = 240
QUESTION_TEXT_MAX = 500
CHOICE_TEXT_MAX = 150
ACCEPTED_ANSWER_MAX = 200


def rule(field: str, code: str, message: str) -> PydanticCustomError:
    """A question-rule failure that remembers which field it is about."""
    return PydanticCustomError(code, message, {"field": field})


# ---------------------------------------------------------------- questions


class ChoiceIn(Contract):
    text: Annotated[Trimmed, StringConstraints(min_length=1, max_length=CHOICE_TEXT_MAX)]
    correct: bool = False


class SliderIn(Contract):
    # Infinite bounds would pass `min < max` and be stored as JSON null.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    min: float
    max: float
    step: float = Field(default=1, gt=0)
    correct: float
    tolerance: float = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> SliderIn:
        if not self.min < self.max:
            raise rule("min", "slider_range", "slider min must be below max")
        if not self.min <= self.correct <= self.max:
            raise rule("correct", "slider_correct_outside", "slider correct must lie in [min, max]")
        return self


class QuestionIn(Contract):
    """One authored question; `check_rules` enforces the per-type rules of SPEC §3."""

    type: QuestionType
    text: Annotated[Trimmed, StringConstraints(min_length=1, max_length=QUESTION_TEXT_MAX)]
    # Any http(s) address, or a picture uploaded to this server (`/media/<id>.<ext>`,
    # the `url` POST /api/v1/media answers with).
    image: ImageAddress | None = None
    time_limit_s: int = Field(default=20, ge=MIN_TIME_LIMIT_S, le=MAX_TIME_LIMIT_S)
    points: Literal[0, 1, 2] = 1
    choices: list[ChoiceIn] | None = None
    accepted_answers: (
        list[Annotated[Trimmed, StringConstraints(min_length=1, max_length=ACCEPTED_ANSWER_MAX)]]
        | None
    ) = None
    slider: SliderIn | None = None

    @model_validator(mode="after")
    def check_rules(self) -> QuestionIn:
        kind = self.type
        if kind in CHOICE_TYPES:
            self._check_choices()
        elif self.choices:
            raise rule("choices", "unexpected_field", f"a {kind} question has no choices")
        if kind == "text":
            answers = self.accepted_answers or []
            if not 1 <= len(answers) <= 10:
                raise rule(
                    "accepted_answers",
                    "accepted_answers_count",
                    "a text question needs 1 to 10 accepted answers",
                )
        elif self.accepted_answers:
            raise rule(
                "accepted_answers", "unexpected_field", f"a {kind} question has no accepted answers"
            )
        if kind == "slider":
            if self.slider is None:
                raise rule("slider", "slider_missing", "a slider question needs a slider")
        elif self.slider is not None:
            raise rule("slider", "unexpected_field", f"a {kind} question has no slider")
        return self

    def _check_choices(self) -> None:
        choices = self.choices or []
        correct = sum(1 for choice in choices if choice.correct)
        kind = self.type
        if kind == "true_false":
            if len(choices) != 2:
                raise rule(
                    "choices", "choices_count", "a true/false question has exactly 2 choices"
                )
            if correct != 1:
                raise rule(
                    "choices",
                    "correct_count",
                    "a true/false question has exactly one correct choice",
                )
            return
        if not 2 <= len(choices) <= 6:
            raise rule("choices", "choices_count", f"a {kind} question needs 2 to 6 choices")
        if kind in ("single", "multiple") and correct < 1:
            raise rule("choices", "correct_count", "at least one choice must be correct")
        if kind == "poll" and correct:
            raise rule("choices", "correct_count", "poll choices cannot be correct")
        if kind == "order":
            # `correct` is meaningless for ordering: the listed order is the answer.
            for choice in choices:
                choice.correct = False


# ---------------------------------------------------------------- quizzes

Tag = Annotated[Trimmed, StringConstraints(min_length=1, max_length=40)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]


TITLE_MAX = 200


class QuizIn(Contract):
    title: Annotated[Trimmed, StringConstraints(min_length=1, max_length=TITLE_MAX)]
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    public: bool = False
    language: Language | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    questions: list[QuestionIn] = Field(min_length=1, max_length=MAX_QUESTIONS)

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, tags: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for tag in tags:
            seen.setdefault(tag.casefold(), tag)
        return list(seen.values())


class QuizOut(BaseModel):
    id: uuid.UUID
    owner_id: uuid.UUID
    author: str | None = None
    title: str
    description: str
    public: bool
    language: str | None
    tags: list[str]
    question_count: int
    questions: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


class QuizListQuery(BaseModel):
    """The owner's list: paging plus an optional search in titles and descriptions."""

    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    q: Annotated[Trimmed, StringConstraints(max_length=200)] | None = Field(
        default=None, description="keep quizzes whose title or description contains this"
    )


class QuizVisibilityIn(Contract):
    """PATCH /quizzes/{id}: the one field worth changing without the whole quiz."""

    public: bool


class QuizDocument(Contract):
    """Our own versioned quiz file (docs/import.md); `quiz` holds the QuizIn fields
    except `public` (an imported quiz always starts private)."""

    format: Literal["classquiz-quiz"] = "classquiz-quiz"
    version: int = Field(default=1, ge=1, description="1 today; newer versions are refused")
    quiz: dict[str, Any]


class TableImportForm(BaseModel):
    """POST /quizzes/import/table, sent as multipart/form-data."""

    file: bytes = Field(description="a .csv or .xlsx file, one question per row (docs/import.md)")
    title: str | None = Field(default=None, description="the new quiz's title (else the file name)")


class QuizSummaryOut(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    public: bool
    language: str | None
    tags: list[str]
    question_count: int
    created_at: datetime
    updated_at: datetime
