"""Socket.IO contracts of acknowledgements: what every client event is answered with (SPEC §4)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, RootModel, StrictBool, StrictInt, StrictStr, create_model

from classquiz.contracts.server_events import LeaderboardEntry
from classquiz.contracts.wire import Count, InstantMs, Nickname, ServerModel, Uuid, absent

CLIENT_EVENT_ROLE: dict[str, Literal["host", "player"]] = {
    "start_game": "host",
    "end_question": "host",
    "next_question": "host",
    "end_game": "host",
    "kick_player": "host",
    "lock_game": "host",
    "get_leaderboard": "host",
    "submit_answer": "player",
    "reroll_nickname": "player",
    "leave": "player",
}

COMMON_ACK_ERRORS: tuple[str, ...] = (
    "forbidden",
    "invalid_payload",
    "rate_limited",
    "internal_error",
)
"""Any event: another role's event or no session (`forbidden`), a payload that fails
validation (`invalid_payload`, naming the `field`), too many events (`rate_limited`),
an unexpected failure of the server (`internal_error`)."""

ACK_ERRORS: dict[str, tuple[str, ...]] = {
    "start_game": ("wrong_state", "game_not_found"),
    "end_question": ("wrong_state", "game_not_found"),
    "next_question": ("wrong_state", "game_not_found"),
    "end_game": ("wrong_state", "game_not_found"),
    "kick_player": ("player_not_found", "game_not_found"),
    "lock_game": ("wrong_state", "game_not_found"),
    "get_leaderboard": ("game_not_found",),
    "submit_answer": (
        "wrong_state",
        "wrong_question",
        "already_answered",
        "too_late",
        "invalid_answer",
        "game_not_found",
    ),
    "reroll_nickname": (
        "wrong_state",
        "limit_reached",
        "nickname_taken",
        "player_not_found",
        "game_not_found",
    ),
    "leave": (),
}
"""The error codes each event's ack may carry besides COMMON_ACK_ERRORS."""


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


def _error_ack(event: str) -> type[ServerModel]:
    """`{ok: false, error: {code, message, field?}}` with this event's codes."""
    codes = tuple(dict.fromkeys(ACK_ERRORS[event] + COMMON_ACK_ERRORS))
    name = _camel(event)
    detail = create_model(
        f"{name}ErrorDetail",
        __base__=ServerModel,
        __doc__=f"Why `{event}` was refused.",
        code=(Literal[codes], ...),  # type: ignore[valid-type]
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


def _ack(event: str, *success: type[ServerModel]) -> type[RootModel[Any]]:
    variants = (*success, _error_ack(event))
    union = variants[0]
    for variant in variants[1:]:
        union = union | variant  # type: ignore[assignment]
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{_camel(event)}Ack",
        __base__=RootModel[union],  # type: ignore[valid-type]
        __doc__=f"The acknowledgement of `{event}`.",
    )


CLIENT_ACKS: dict[str, type[BaseModel]] = {
    "start_game": _ack("start_game", StartGameOk),
    "end_question": _ack("end_question", Ok),
    "next_question": _ack("next_question", NextQuestionOk, NextQuestionFinished),
    "end_game": _ack("end_game", EndGameOk),
    "kick_player": _ack("kick_player", Ok),
    "lock_game": _ack("lock_game", LockGameOk),
    "get_leaderboard": _ack("get_leaderboard", LeaderboardOk),
    "submit_answer": _ack("submit_answer", SubmitAnswerOk),
    "reroll_nickname": _ack("reroll_nickname", RerollNicknameOk),
    "leave": _ack("leave", Ok),
}
