"""Socket.IO contracts, client → server: the payload of every client event (SPEC §4).

Strict types: `"1"` is not a question index and `1` is not a boolean. Text and
nesting bounds of SPEC §2 are checked here, so the services only see sane data.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

MAX_JSON_DEPTH = 32
MAX_TEXT = 200
MAX_PLAYERS_BOUND = 1_000_000  # beyond any game; keeps Redis range arguments in bounds


def json_depth(value: Any, limit: int = MAX_JSON_DEPTH + 1) -> int:
    """Nesting depth of a decoded JSON value, counting stops past `limit`."""
    depth = 0
    frontier = [value]
    while frontier and depth <= limit:
        nested: list[Any] = []
        for item in frontier:
            if isinstance(item, dict):
                nested.extend(item.values())
            elif isinstance(item, list):
                nested.extend(item)
        if not nested and not any(isinstance(i, dict | list) for i in frontier):
            break
        depth += 1
        frontier = nested
    return depth


class EventPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Empty(EventPayload):
    pass


class KickPlayerIn(EventPayload):
    player_id: Annotated[str, Field(min_length=1, max_length=64)]
    ban: StrictBool = False


class LockGameIn(EventPayload):
    locked: StrictBool


class LeaderboardIn(EventPayload):
    offset: Annotated[StrictInt, Field(ge=0, le=MAX_PLAYERS_BOUND)] = 0
    limit: Annotated[StrictInt, Field(ge=1, le=100)] = 50


class SubmitAnswerIn(EventPayload):
    question_index: Annotated[StrictInt, Field(ge=0, le=10_000)]
    answer: StrictInt | float | str | list[StrictInt]

    @field_validator("answer", mode="before")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        if isinstance(value, bool) or value is None:
            raise ValueError("the answer must be a choice id, a list of ids, a text or a number")
        if isinstance(value, bytes | bytearray):  # a binary attachment is no text (nor bounded)
            raise ValueError("the answer must be JSON, not binary data")
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise ValueError(f"text answers are at most {MAX_TEXT} characters")
        if isinstance(value, list) and len(value) > 50:
            raise ValueError("too many choice ids")
        if isinstance(value, dict | list) and json_depth(value) > MAX_JSON_DEPTH:
            raise ValueError(f"nesting deeper than {MAX_JSON_DEPTH} levels")
        return value
