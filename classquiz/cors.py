"""CORS for the REST API, from `CORS_ORIGINS` (default `*`), and the CSRF origin check.

With `*` any origin may call the API with a bearer token, but cookies are only
honoured cross-origin for origins listed explicitly (browsers refuse
credentials with a wildcard, and echoing any origin with credentials would
defeat the point).

CORS only decides who may *read* a response; a browser still *sends* a
"simple" cross-site request with the cookie attached. So every unsafe request
that is authenticated by the session cookie must also name an allowed origin
(see `csrf_middleware`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from classquiz.errors import Refusal
from classquiz.routers.auth import COOKIE_NAME, bearer_token

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, X-Request-ID"


def cors_middleware(origins: list[str]) -> Middleware:
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
            preflight = web.Response(status=204 if extra else 403)
            if extra:
                preflight.headers.update(extra)
                preflight.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
                preflight.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
                preflight.headers["Access-Control-Max-Age"] = "600"
            return preflight
        response = await handler(request)
        response.headers.update(extra)
        response.headers["Access-Control-Expose-Headers"] = "X-Request-ID"
        return response

    return middleware


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of a URL or Origin header, lower-cased; None if it has none."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def request_origin(origin: str | None, referer: str | None) -> str | None:
    """Where the browser says the request comes from: `Origin`, else the `Referer`'s origin.

    `Origin: null` (sandboxed frames, some redirects) names no origin at all.
    """
    if origin:
        return origin_of(origin)
    if referer:
        return origin_of(referer)
    return None


def origin_allowed(origin: str | None, host: str, allowed: frozenset[str]) -> bool:
    """True for the server's own origin (same host as the request) or a listed one."""
    if origin is None:
        return False
    if origin in allowed:
        return True
    return urlsplit(origin).netloc == host.lower()


def csrf_middleware(origins: list[str], public_url: str) -> Middleware:
    """Refuse (403) unsafe requests authenticated by the cookie from a foreign origin.

    A bearer token or API key is never attached by the browser on its own, so
    those requests need no check; nor do requests without the cookie (nothing
    to forge). Socket.IO checks origins itself. Requests that name no origin at
    all are refused too: every current browser sends `Origin` on unsafe
    requests, so only a stripped or forged request lacks both headers.
    """
    allowed = frozenset(
        origin
        for origin in (origin_of(item) for item in [*origins, public_url] if item != "*")
        if origin is not None
    )

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if (
            request.method in UNSAFE_METHODS
            and COOKIE_NAME in request.cookies
            and bearer_token(request) is None
            and not request.path.startswith("/socket.io")
        ):
            origin = request_origin(request.headers.get("Origin"), request.headers.get("Referer"))
            if not origin_allowed(origin, request.host, allowed):
                raise Refusal(
                    "origin_not_allowed",
                    "a request authenticated by the session cookie must come from this "
                    "site or an origin listed in CORS_ORIGINS",
                )
        return await handler(request)

    return middleware
