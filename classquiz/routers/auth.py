"""Reading the caller's credentials from a REST request."""

from __future__ import annotations

from aiohttp import web

from classquiz.errors import Refusal
from classquiz.runtime import services
from classquiz.services.api_keys import scope_allows
from classquiz.services.users import Session

COOKIE_NAME = "access_token"
# None once the request was found anonymous, so the look-up runs once per request.
SESSION: web.RequestKey[Session | None] = web.RequestKey("session", Session)


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def optional_session(request: web.Request) -> Session | None:
    """The caller's session, None when anonymous; bad credentials are still 401.

    A read-only API key is refused (403) here on any request that is not a safe
    method: every route that acts for a user comes through this function, so no
    write route can forget the check.
    """
    if SESSION in request:
        return request[SESSION]
    credential = bearer_token(request) or request.cookies.get(COOKIE_NAME)
    session = await services(request).users.authenticate(credential) if credential else None
    if session and session.key_scope and not scope_allows(session.key_scope, request.method):
        raise Refusal("forbidden", "this API key is read-only")
    request[SESSION] = session
    return session


def set_session_cookie(response: web.StreamResponse, token: str, request: web.Request) -> None:
    """The session cookie every sign-in sets (HTTP-only, so page scripts never read it)."""
    svc = services(request)
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=svc.users.token_expiry_s,
        httponly=True,
        samesite="Lax",
        secure=svc.settings.cookie_secure,
        path="/",
    )


async def require_session(request: web.Request) -> Session:
    session = await optional_session(request)
    if session is None:
        raise Refusal("not_authenticated", "log in or send a bearer token")
    return session


async def require_own_session(request: web.Request) -> Session:
    """A session the owner signed in to: API keys may not manage credentials
    (keys, password, second factor, sessions), whatever their scope."""
    session = await require_session(request)
    if session.by_api_key:
        raise Refusal("forbidden", "an API key cannot manage credentials; sign in instead")
    return session
