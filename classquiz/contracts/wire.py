"""Building blocks of the Socket.IO contract: strict scalars and the server's model base.

The models built on them are strict and forbid unknown fields, so validating a
recorded payload fails on any undocumented field or loosely typed value.
A field that the server leaves out (rather than sending `null`) is declared
with `absent()`: its default is `None` only on the Python side and the JSON
schema shows it as optional, never as nullable.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

Uuid = Annotated[StrictStr, Field(pattern=UUID_PATTERN, description="a UUID (lower-case text)")]
Pin = Annotated[StrictStr, Field(pattern=r"^[0-9]{6}$", description="the game's 6-digit PIN")]
Count = Annotated[StrictInt, Field(ge=0)]
Rank = Annotated[StrictInt, Field(ge=1, description="1 = best; equal scores share a rank")]
Score = Annotated[StrictInt, Field(ge=0)]
QuestionIndex = Annotated[StrictInt, Field(ge=0, description="0-based, in play order")]
ChoiceId = Annotated[
    StrictInt, Field(ge=0, description="the choice's position in the authored quiz")
]
InstantMs = Annotated[StrictInt, Field(ge=0, description="an instant, server epoch milliseconds")]
DurationMs = Annotated[StrictInt, Field(ge=0, description="a duration in milliseconds")]
# A number on the wire: JSON integers and decimals alike (strict: no strings, no booleans).
Number = StrictFloat
Nickname = Annotated[StrictStr, Field(min_length=1)]


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def absent(description: str) -> Any:
    """A field the server omits when it does not apply (never sent as `null`)."""
    return Field(default=None, description=description, json_schema_extra=_drop_default)


class ServerModel(BaseModel):
    """Base of every model here: strict types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True)
