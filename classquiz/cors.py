"""CORS for the REST API, from `CORS_ORIGINS` (default `*`).

With `*` any origin may call the API with a bearer token, but cookies are only
honoured cross-origin for origins listed explicitly (browsers refuse
credentials with a wildcard, and echoing any origin with credentials would
defeat the point).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, X-Request-ID"


def cors_middleware(origins: list[str]) -> Callable:
    wildcard = "*" in origins
    listed = {origin.rstrip("/") for origin in origins if origin != "*"}

    def headers_for(origin: str | None) -> dict[str, str]:
        if not origin:
            return {}
        if origin.rstrip("/") in listed:
            return {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Credentials": "true",
                "Vary": "Origin",
            }
        if wildcard:
            return {"Access-Control-Allow-Origin": "*"}
        return {}

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path.startswith("/socket.io"):
            return await handler(request)  # the Socket.IO server applies the same origins itself
        extra = headers_for(request.headers.get("Origin"))
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response = web.Response(status=204 if extra else 403)
            if extra:
                response.headers.update(extra)
                response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
                response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
                response.headers["Access-Control-Max-Age"] = "600"
            return response
        response = await handler(request)
        response.headers.update(extra)
        response.headers["Access-Control-Expose-Headers"] = "X-Request-ID"
        return response

    return middleware
