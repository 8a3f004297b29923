"""The one error type services raise, and its mapping to SPEC §2 bodies.

Services raise `ApiError(status, code, message, details)`; the REST layer turns
it into `{"error": {...}}` with the status, the socket layer into an error ack.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError


class ApiError(Exception):
    """A refusal with a stable snake_case `code` that clients can act on."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


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


def invalid_payload(exc: ValidationError) -> ApiError:
    details = validation_details(exc)
    first = details[0] if details else {"field": None, "message": "invalid payload"}
    where = f" ({first['field']})" if first.get("field") else ""
    return ApiError(422, "validation_error", f"{first['message']}{where}", details)
