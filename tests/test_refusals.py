"""One refusal type (issue 12): every code of the protocol maps to REST and to Socket.IO.

The transports are where a Refusal gets a status or a packet; these tests pin
that the tables are total (a new code cannot reach a client without a status)
and that codes a Lua script returns are checked against the protocol's list.
"""

from __future__ import annotations

from typing import get_args

import pytest

from classquiz.contracts.handshake import REFUSAL_CODES, ConnectErrorData
from classquiz.errors import (
    DEFAULT_MESSAGES,
    ERROR_CODES,
    AckErrorCode,
    HandshakeRefusalCode,
    Refusal,
    RestErrorCode,
    as_code,
)
from classquiz.routers.refusals import HTTP_STATUS, refusal_response
from classquiz.services.ratelimit import too_many
from classquiz.socket_server.refusals import connect_error, refusal_ack


def test_every_code_has_exactly_one_http_status() -> None:
    assert set(HTTP_STATUS) == ERROR_CODES
    assert all(400 <= status < 600 for status in HTTP_STATUS.values())


def test_the_code_lists_are_the_protocols() -> None:
    assert REFUSAL_CODES == get_args(HandshakeRefusalCode)
    assert ERROR_CODES == set(get_args(HandshakeRefusalCode)) | set(get_args(AckErrorCode)) | set(
        get_args(RestErrorCode)
    )
    assert set(DEFAULT_MESSAGES) <= ERROR_CODES


def test_a_script_code_outside_the_protocol_fails_loudly() -> None:
    assert as_code("too_late") == "too_late"
    with pytest.raises(ValueError, match="not a code"):
        as_code("too_lat")


def test_rest_response_carries_status_body_and_retry_after() -> None:
    response = refusal_response(too_many("slow down", 0))
    assert response.status == 429
    assert response.headers["Retry-After"] == "1"
    assert response.body == b'{"error":{"code":"rate_limited","message":"slow down"}}'
    found = refusal_response(Refusal("game_not_found"))
    assert found.status == 404
    assert "Retry-After" not in found.headers


def test_socket_side_connect_error_and_ack() -> None:
    refusal = Refusal("game_locked")
    exc = connect_error(refusal)
    assert exc.error_args == {
        "code": "game_locked",
        "message": "the host has locked this game",
        "data": {"code": "game_locked", "message": "the host has locked this game"},
    }
    ConnectErrorData.model_validate(exc.error_args["data"])
    assert refusal_ack(Refusal("too_late")) == {
        "ok": False,
        "error": {"code": "too_late", "message": "time is up for this question"},
    }
