"""Shapes every contract shares: the question types, the game statuses, pages, errors.

Defined once here so the REST quiz models, the game look-up and the Socket.IO
events cannot disagree on what a question type or a game status is.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeGuard, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

QuestionType = Literal["single", "multiple", "true_false", "text", "slider", "order", "poll"]
GameStatus = Literal["lobby", "question", "reveal", "finished"]


def game_status(raw: str) -> GameStatus:
    """A status as the live store holds it (text), checked against GameStatus."""
    if not _is_game_status(raw):
        raise ValueError(f"not a game status: {raw!r}")
    return raw


def _is_game_status(raw: str) -> TypeGuard[GameStatus]:
    return raw in get_args(GameStatus)


CHOICE_TYPES: frozenset[str] = frozenset({"single", "multiple", "true_false", "order", "poll"})

# Deep enough for any real list; bounded so OFFSET never sees a number PostgreSQL refuses.
MAX_OFFSET = 1_000_000

T = TypeVar("T")
Trimmed = Annotated[str, StringConstraints(strip_whitespace=True)]


class Contract(BaseModel):
    """Base of every request body: unknown fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class PageQuery(BaseModel):
    """Query parameters are lenient: unknown ones (cache busters) are ignored."""

    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class OkOut(BaseModel):
    ok: Literal[True] = True


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorOut(BaseModel):
    error: ErrorBody
