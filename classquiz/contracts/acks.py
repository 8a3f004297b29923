"""Socket.IO contracts of acknowledgements: the success models and the ack builder (SPEC §4).

Which event is answered with which of them is declared in `socket_events`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, RootModel, StrictBool, StrictInt, StrictStr, create_model

from classquiz.contracts.server_events import LeaderboardEntry
from classquiz.contracts.wire import Count, InstantMs, Nickname, ServerModel, Uuid, absent
from classquiz.errors import AckErrorCode

COMMON_ACK_ERRORS: tuple[AckErrorCode, ...] = (
    "forbidden",
    "invalid_payload",
    "rate_limited",
    "internal_error",
    "service_unavailable",
)
"""Any event: another role's event or no session (`forbidden`), a payload that fails
validation (`invalid_payload`, naming the `field`), too many events (`rate_limited`),
an unexpected failure of the server (`internal_error`), Redis or PostgreSQL out of
reach (`service_unavailable`: nothing was acknowledged; the client may try again)."""


class Ok(ServerModel):
    """Success without further data."""

    ok: Literal[True]


class StartGameOk(ServerModel):
    ok: Literal[True]
    question_index: Literal[0]


class NextQuestionOk(ServerModel):
    ok: Literal[True]
    question_index: Annotated[StrictInt, Field(ge=1)]


class NextQuestionFinished(ServerModel):
    """`next_question` after the last question: the game finished."""

    ok: Literal[True]
    finished: Literal[True]


class EndGameOk(ServerModel):
    ok: Literal[True]
    game_id: Uuid


class LockGameOk(ServerModel):
    ok: Literal[True]
    locked: StrictBool


class LeaderboardOk(ServerModel):
    ok: Literal[True]
    entries: list[LeaderboardEntry]
    total: Count


class SubmitAnswerOk(ServerModel):
    """The answer is recorded; correctness is revealed only when the question ends."""

    ok: Literal[True]
    received_at_ms: InstantMs


class RerollNicknameOk(ServerModel):
    ok: Literal[True]
    nickname: Nickname


def _camel(event: str) -> str:
    return "".join(part.capitalize() for part in event.split("_"))


def _error_ack(event: str, codes: tuple[str, ...]) -> type[ServerModel]:
    """`{ok: false, error: {code, message, field?}}` with this event's codes."""
    name = _camel(event)
    detail = create_model(
        f"{name}ErrorDetail",
        __base__=ServerModel,
        __doc__=f"Why `{event}` was refused.",
        code=(Literal[codes], ...),
        message=(StrictStr, Field(description="human text, for logs and fallbacks")),
        field=(StrictStr, absent("with `invalid_payload`: the payload field that is wrong")),
    )
    return create_model(
        f"{name}Refused",
        __base__=ServerModel,
        __doc__=f"`{event}` was refused.",
        ok=(Literal[False], ...),
        error=(detail, ...),
    )


def ack_model(
    event: str, success: tuple[type[ServerModel], ...], codes: tuple[str, ...]
) -> type[RootModel[Any]]:
    """The ack of `event`: one of its `success` models, or a refusal with one of `codes`."""
    variants = (*success, _error_ack(event, codes))
    # The union is built at runtime, so no static type can name it: mypy sees a class where
    # `A | B` gives a UnionType, and a variable where RootModel expects a type.
    union = variants[0]
    for variant in variants[1:]:
        union = union | variant  # type: ignore[assignment]
    return create_model(
        f"{_camel(event)}Ack",
        __base__=RootModel[union],  # type: ignore[valid-type]
        __doc__=f"The acknowledgement of `{event}`.",
    )
