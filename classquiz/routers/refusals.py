"""REST's side of a Refusal: the HTTP status of each code, the body, the headers.

The one place a domain refusal becomes an HTTP response (SPEC §2). Services
never pick a status; this table does, so a code means the same status on every
route. `request_address` lives here too: reading the client's address off an
aiohttp request is transport work, kept out of the services.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import orjson
from aiohttp import web

from classquiz.errors import ErrorCode, Refusal
from classquiz.services.ratelimit import Network, client_address

HTTP_STATUS: Final[dict[ErrorCode, int]] = {
    "challenge_expired": 400,
    "invalid_code": 400,
    "invalid_form": 400,
    "invalid_json": 400,
    "passkey_invalid": 400,
    "sign_in_failed": 400,
    "sign_in_state_invalid": 400,
    "invalid_credentials": 401,
    "invalid_token": 401,
    "not_authenticated": 401,
    "totp_required": 401,
    "forbidden": 403,
    "origin_not_allowed": 403,
    "recent_sign_in_required": 403,
    "wrong_password": 403,
    "banned": 403,
    "api_key_not_found": 404,
    "game_not_found": 404,
    "not_found": 404,
    "media_not_found": 404,
    "passkey_not_found": 404,
    "provider_not_found": 404,
    "player_not_found": 404,
    "quiz_not_found": 404,
    "email_not_verified": 409,
    "email_taken": 409,
    "too_many_live_games": 409,
    "media_quota_exceeded": 409,
    "totp_disabled": 409,
    "totp_enabled": 409,
    "totp_not_started": 409,
    "username_taken": 409,
    # Codes of the live game: a state the request does not fit.
    "game_over": 409,
    "game_locked": 409,
    "game_full": 409,
    "nickname_taken": 409,
    "wrong_state": 409,
    "wrong_question": 409,
    "already_answered": 409,
    "too_late": 409,
    "limit_reached": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "unsupported_image": 415,
    "validation_error": 422,
    "extra_forbidden": 422,
    "invalid_table": 422,
    "image_too_large": 422,
    "invalid_version": 422,
    "missing": 422,
    "not_a_document": 422,
    "unknown_format": 422,
    "unsupported_version": 422,
    "invalid_payload": 422,
    "invalid_answer": 422,
    "nickname_invalid": 422,
    "nickname_not_allowed": 422,
    "rate_limited": 429,
    "internal_error": 500,
    "live_storage_full": 503,
    "mail_unavailable": 503,
    "search_unavailable": 503,
    "service_unavailable": 503,
    # The captcha's codes are the handshake's; a REST caller never meets them, but one
    # code means one status everywhere.
    "captcha_required": 403,
    "captcha_failed": 403,
    "captcha_unavailable": 503,
}
"""Every code of the protocol → its HTTP status (a test checks the table is total)."""


def http_status(refusal: Refusal) -> int:
    """The status `refusal` is answered with on REST."""
    return HTTP_STATUS[refusal.code]


def refusal_response(refusal: Refusal, headers: dict[str, str] | None = None) -> web.Response:
    """The JSON error response of `refusal`; a limit says when to come back (Retry-After)."""
    extra = dict(headers or {})
    if refusal.retry_after_s is not None:
        extra["Retry-After"] = str(max(1, refusal.retry_after_s))
    return web.Response(
        body=orjson.dumps(refusal.body()),
        status=http_status(refusal),
        content_type="application/json",
        headers=extra or None,
    )


def request_address(request: web.Request, trusted: Sequence[Network]) -> str:
    """`client_address` of an aiohttp request (REST, or the request behind a socket)."""
    return client_address(request.remote, request.headers.get("X-Forwarded-For"), trusted)
