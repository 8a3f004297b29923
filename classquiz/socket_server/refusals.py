"""Socket.IO's side of a Refusal: a refused handshake, or a command's error ack.

The one place a domain refusal becomes Socket.IO (SPEC §2): a handshake gets a
CONNECT_ERROR whose data is `{code, message}`; a command gets
`{ok: false, error: {code, message, field?}}`.
"""

from __future__ import annotations

from typing import Any

import socketio

from classquiz.errors import ErrorCode, Refusal

Ack = dict[str, Any]


def connect_error(refusal: Refusal) -> socketio.exceptions.ConnectionRefusedError:
    """A refused handshake whose CONNECT_ERROR payload is `{code, message}`.

    python-socketio turns a single exception argument into `{"message": str(arg)}`,
    which would stringify a dict; so the payload is set whole. `data` repeats it for
    the JavaScript client, which exposes a CONNECT_ERROR's `data` as `err.data`.
    """
    code, message = refusal.code, refusal.message
    exc = socketio.exceptions.ConnectionRefusedError(message)
    exc.error_args = {"code": code, "message": message, "data": {"code": code, "message": message}}
    return exc


def error_ack(code: ErrorCode, message: str, field: str | None = None) -> Ack:
    """The acknowledgement of a refused command; `field` names the payload's wrong field."""
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    return {"ok": False, "error": error}


def refusal_ack(refusal: Refusal) -> Ack:
    """The acknowledgement of a command a service refused."""
    return error_ack(refusal.code, refusal.message)
