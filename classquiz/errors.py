"""The one refusal type of the domain, the protocol's code list, and validation details.

Every "no" the server gives — a REST request, a Socket.IO handshake, a socket
command — is a `Refusal(code, message)`. Services raise it and speak only the
domain: no HTTP status, no Socket.IO packet. Each transport maps it in one place:
REST in `classquiz.routers.refusals` (status, body, headers), Socket.IO in
`classquiz.socket_server.refusals` (a CONNECT_ERROR or an error ack).

Why one type: the four classes this replaces carried the same two fields, and a
service called from both transports (a PIN lookup, a join) had to know which one
would catch it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, TypeGuard, get_args

from pydantic import ValidationError

# -- the protocol's codes (docs/protocol.md, SPEC §2-§4) -------------------------------------------

HandshakeRefusalCode = Literal[
    "game_not_found",
    "game_over",
    "game_locked",
    "game_full",
    "wrong_password",
    "nickname_taken",
    "nickname_invalid",
    "nickname_not_allowed",
    "banned",
    "rate_limited",
    "invalid_token",
    "service_unavailable",
    "captcha_required",
    "captcha_failed",
    "captcha_unavailable",
]
"""Why a Socket.IO handshake was refused (the `connect_error` data's `code`)."""

AckErrorCode = Literal[
    "forbidden",
    "invalid_payload",
    "rate_limited",
    "internal_error",
    "wrong_state",
    "game_not_found",
    "player_not_found",
    "wrong_question",
    "already_answered",
    "too_late",
    "invalid_answer",
    "limit_reached",
    "nickname_taken",
    "service_unavailable",
]
"""Why a socket command was refused (an error ack's `code`)."""

RestErrorCode = Literal[
    # 400
    "challenge_expired",
    "invalid_code",
    "invalid_form",
    "invalid_json",
    "passkey_invalid",
    "sign_in_failed",
    "sign_in_state_invalid",
    # 401
    "invalid_credentials",
    "invalid_token",
    "not_authenticated",
    "totp_required",
    # 403
    "forbidden",
    "origin_not_allowed",
    "recent_sign_in_required",
    "wrong_password",
    # 404
    "api_key_not_found",
    "game_not_found",
    "media_not_found",
    "not_found",
    "passkey_not_found",
    "player_not_found",
    "provider_not_found",
    "quiz_not_found",
    # 409
    "email_not_verified",
    "email_taken",
    "media_quota_exceeded",
    "too_many_live_games",
    "totp_disabled",
    "totp_enabled",
    "totp_not_started",
    "username_taken",
    # 413, 415
    "payload_too_large",
    "unsupported_image",
    "unsupported_media_type",
    # 422: a field of the body; a quiz document's envelope; a table's rows
    "validation_error",
    "extra_forbidden",
    "image_too_large",
    "invalid_table",
    "invalid_version",
    "missing",
    "not_a_document",
    "unknown_format",
    "unsupported_version",
    # 429, 503
    "rate_limited",
    "live_storage_full",
    "mail_unavailable",
    "search_unavailable",
    "service_unavailable",
]
"""Why a REST request was refused (the body's `error.code`)."""

ErrorCode = Literal[HandshakeRefusalCode, AckErrorCode, RestErrorCode]
"""Every code the server may refuse with, on any transport."""

ERROR_CODES: frozenset[str] = (
    frozenset(get_args(HandshakeRefusalCode))
    | frozenset(get_args(AckErrorCode))
    | frozenset(get_args(RestErrorCode))
)

DEFAULT_MESSAGES: dict[str, str] = {
    "game_not_found": "there is no game with this PIN",
    "game_over": "this game has ended",
    "game_locked": "the host has locked this game",
    "game_full": "this game is full",
    "wrong_password": "wrong join password",
    "nickname_taken": "this nickname is already taken in this game",
    "banned": "you were removed from this game",
    "invalid_token": "this token is not valid for this game",
    "rate_limited": "too many attempts; wait a minute and try again",
    "wrong_state": "no question is open",
    "wrong_question": "this is not the open question",
    "already_answered": "you already answered this question",
    "too_late": "time is up for this question",
    "forbidden": "you are no longer in this game",
    "limit_reached": "no more nickname changes left",
    "player_not_found": "you are not in this game",
    "service_unavailable": "the server cannot reach its storage; try again in a few seconds",
    "captcha_required": "this game asks new players to solve a captcha first",
    "captcha_failed": "the captcha was not accepted; solve it again",
    "captcha_unavailable": "the captcha service cannot be reached; try again in a minute",
}
"""The text of a refusal raised without its own message: the one home of such texts,
so a code that a Lua script returns reads the same from every caller."""


class Refusal(Exception):
    """A refusal: a stable snake_case `code` clients branch on and a human `message`.

    `details` lists the fields at fault (`{field, question_index?, code, message}`);
    `retry_after_s` says when a limit lets the caller in again. Both are domain facts;
    how they travel (a body, a Retry-After header) is the transport's business.
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str | None = None,
        details: list[dict[str, Any]] | None = None,
        *,
        retry_after_s: int | None = None,
    ) -> None:
        text = message if message is not None else DEFAULT_MESSAGES.get(code, code)
        super().__init__(text)
        self.code: ErrorCode = code
        self.message = text
        self.details = details
        self.retry_after_s = retry_after_s

    def body(self) -> dict[str, Any]:
        """The `{"error": {code, message, details?}}` body (SPEC §2)."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}

    def __repr__(self) -> str:
        return f"Refusal({self.code!r}, {self.message!r})"


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """Flatten pydantic errors into `{field, question_index?, code, message}` items."""
    details: list[dict[str, Any]] = []
    for err in exc.errors(include_url=False):
        loc = [str(part) for part in err.get("loc", ())]
        ctx = err.get("ctx") or {}
        field_hint = ctx.get("field")
        if field_hint:
            loc.append(str(field_hint))
        item = error_detail(loc, err.get("type", "invalid"), err.get("msg", "invalid value"))
        raw = err.get("loc", ())
        if len(raw) >= 2 and raw[0] == "questions" and isinstance(raw[1], int):
            item["question_index"] = raw[1]
        details.append(item)
    return details


def error_detail(loc: Sequence[str | int], code: str, message: str) -> dict[str, Any]:
    """One `{field, question_index?, code, message}` item for the field at `loc`."""
    item: dict[str, Any] = {
        "field": ".".join(str(part) for part in loc) if loc else None,
        "code": code,
        "message": message,
    }
    if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int):
        item["question_index"] = loc[1]
    return item


def invalid_payload(exc: ValidationError) -> Refusal:
    """The 422 `validation_error` refusal of a body that failed pydantic, first problem first."""
    details = validation_details(exc)
    first = details[0] if details else {"field": None, "message": "invalid payload"}
    where = f" ({first['field']})" if first.get("field") else ""
    return Refusal("validation_error", f"{first['message']}{where}", details)


def as_code(text: str) -> ErrorCode:
    """A code a Lua script returned, checked against the protocol's list.

    Scripts answer with plain strings; this is where they become typed, so a typo
    in a script fails loudly here rather than reaching a client as an unknown code.
    """
    if not _is_code(text):
        raise ValueError(f"{text!r} is not a code of the protocol")
    return text


def _is_code(text: str) -> TypeGuard[ErrorCode]:
    return text in ERROR_CODES
