"""A small declarative layer over aiohttp routes: typed bodies, typed responses, OpenAPI.

Each REST handler is declared once with `ApiRouter.route(...)`, naming its body,
query and response models. The same declaration validates the request, renders
the response and feeds the OpenAPI generator, so the spec cannot drift from the
code.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson
from aiohttp import BodyPartReader, web
from pydantic import BaseModel, ValidationError

from classquiz.errors import ErrorCode, Refusal, error_detail, invalid_payload
from classquiz.routers.auth import require_session

Handler = Callable[..., Awaitable[Any]]
MAX_JSON_BODY = 1_048_576


@dataclass(frozen=True)
class Endpoint:
    """Everything known about one REST operation."""

    method: str
    path: str
    handler: Handler
    summary: str
    tags: tuple[str, ...]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    auth: str = "none"  # "none" | "user" | "player"
    errors: tuple[int, ...] = ()
    raw_response: str | None = None  # content type when the handler returns raw bytes
    # A multipart/form-data body (uploads), documented here and read by the handler itself.
    form: type[BaseModel] | None = None


@dataclass
class ApiRouter:
    """Collects endpoints of one resource; `install` adds them to an aiohttp app."""

    prefix: str = ""
    tags: tuple[str, ...] = ()
    endpoints: list[Endpoint] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status: int = 200,
        auth: str = "none",
        errors: tuple[int, ...] = (),
        raw_response: str | None = None,
        form: type[BaseModel] | None = None,
    ) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            wrapped = _wrap(handler, body=body, query=query, status=status, auth=auth)
            self.endpoints.append(
                Endpoint(
                    method=method.upper(),
                    path=self.prefix + path,
                    handler=wrapped,
                    summary=summary,
                    tags=self.tags,
                    body=body,
                    query=query,
                    response=response,
                    status=status,
                    auth=auth,
                    errors=errors,
                    raw_response=raw_response,
                    form=form,
                )
            )
            return handler

        return decorate

    def install(self, app: web.Application) -> None:
        for endpoint in self.endpoints:
            app.router.add_route(endpoint.method, endpoint.path, endpoint.handler)


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """Render with orjson; pydantic models are dumped in JSON mode first."""
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    return web.Response(
        body=orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def attachment(filename: str) -> str:
    """A Content-Disposition that makes a plain browser link download as `filename`
    (ASCII `filename` for old clients, RFC 6266 `filename*` for the rest)."""
    return f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"


async def read_json(request: web.Request) -> Any:
    """The whole JSON body, however many TCP segments or chunks it arrives in.

    `request.read()` keeps reading until the body ends and stops with 413 as
    soon as it passes the app's `client_max_size` (MAX_JSON_BODY), so a slow
    client cannot make us parse half a document, nor a huge one fill memory.
    """
    if request.content_length is not None and request.content_length > MAX_JSON_BODY:
        raise Refusal("payload_too_large", "the request body is too large")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise Refusal("payload_too_large", "the request body is too large") from None
    if not raw.strip():
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Refusal("invalid_json", f"the body is not valid JSON: {exc}") from None


# Integers a JSON number can carry exactly everywhere, JavaScript clients included.
MAX_SAFE_INTEGER = 2**53 - 1


def unstorable_value(document: Any) -> dict[str, Any] | None:
    """The first place in decoded JSON that no column could hold, as an error detail.

    PostgreSQL text cannot contain NUL, and integers past 2**53 overflow every
    column and OFFSET we have (and are not exact in JavaScript). Checking the
    whole document once, before any model sees it, covers every string and
    number of every endpoint, including fields added later; the models still
    set the tighter, meaningful bounds. Walked with a stack, not recursion: a
    body may nest as deep as the JSON parser allows.
    """
    pending: list[tuple[tuple[str | int, ...], Any]] = [((), document)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return error_detail(path, "nul_character", "contains a NUL character")
        elif isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > MAX_SAFE_INTEGER:
                return error_detail(path, "number_too_large", "number is too large")
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):  # reversed: the first field comes first
                pending.append(((*path, key), item))
                pending.append(((*path, key), key))
        elif isinstance(value, list):
            indexed = list(enumerate(value))
            pending.extend(((*path, index), item) for index, item in reversed(indexed))
    return None


def unstorable_refused(value: Any) -> Any:
    """`value` unchanged, or a 422 naming the field that holds a NUL or a huge integer."""
    problem = unstorable_value(value)
    if problem is None:
        return value
    where = f" ({problem['field']})" if problem["field"] else ""
    raise Refusal("validation_error", f"{problem['message']}{where}", [problem])


def require_json(request: web.Request) -> None:
    """A body must be declared `application/json` (415 otherwise).

    Browsers send `text/plain` or form bodies cross-site without asking first
    (no CORS preflight); insisting on the JSON type forces a preflight, which
    foreign origins do not pass. An empty body needs no type.
    """
    if request.body_exists and request.content_type != "application/json":
        raise Refusal(
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        )


def _wrap(
    handler: Handler,
    *,
    body: type[BaseModel] | None,
    query: type[BaseModel] | None,
    status: int,
    auth: str,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    @functools.wraps(handler)
    async def endpoint(request: web.Request) -> web.StreamResponse:
        if auth == "user":
            await require_session(request)  # 401 before any body is judged
        kwargs: dict[str, Any] = {}
        if body is not None:
            require_json(request)
        try:
            if body is not None:
                kwargs["body"] = body.model_validate(unstorable_refused(await read_json(request)))
            if query is not None:
                kwargs["query"] = query.model_validate(
                    unstorable_refused(_query_dict(request, query))
                )
        except ValidationError as exc:
            raise invalid_payload(exc) from None
        result = await handler(request, **kwargs)
        if isinstance(result, web.StreamResponse):
            return result
        if result is None:
            return web.Response(status=204)
        return json_response(result, status=status)

    return endpoint


def _query_dict(request: web.Request, model: type[BaseModel]) -> dict[str, Any]:
    """Query parameters; list-typed fields accept repeats and commas (`tags=a,b&tags=c`)."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        values = request.query.getall(name, [])
        if not values:
            continue
        if "list" in str(info.annotation):
            out[name] = [part for value in values for part in value.split(",") if part]
        else:
            out[name] = values[-1]
    return out


def parse_uuid(value: str, not_found_code: ErrorCode) -> uuid.UUID:
    """A path id; a malformed one is simply not found."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Refusal(not_found_code, "not found") from None


def form_field_error(field: str | None, message: str) -> Refusal:
    """A 422 naming the multipart form field that is wrong or missing."""
    return Refusal(
        "validation_error",
        f"{message} ({field})",
        [{"field": field, "code": "invalid_form_field", "message": message}],
    )


async def read_part_limited(part: BodyPartReader, limit: int, what: str) -> bytes:
    """One multipart part's bytes, read in chunks and refused with 413 as soon as they
    pass `limit`: an upload is never buffered past its bound."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(65_536):
        size += len(chunk)
        if size > limit:
            raise Refusal("payload_too_large", f"{what} is larger than {limit // 1024:,} kB")
        chunks.append(chunk)
    return b"".join(chunks)
