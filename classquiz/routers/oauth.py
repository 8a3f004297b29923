"""REST: /api/v1/auth — the sign-in methods, and sign-in with another provider.

Both provider routes are browser navigations, not API calls: `start` sends the
browser to the provider, and the provider sends it back to `callback`. So they
answer with redirects, a refusal included: the browser lands on
`/login?sign_in_error=<code>`, where the page says what went wrong.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from classquiz.contracts.signin import (
    OAuthCallbackQuery,
    OAuthStartQuery,
    SignInMethodsOut,
    SignInProviderOut,
)
from classquiz.errors import Refusal
from classquiz.routers.api import ApiRouter
from classquiz.routers.auth import set_session_cookie
from classquiz.routers.refusals import request_address
from classquiz.runtime import services

router = ApiRouter(prefix="/api/v1/auth", tags=("sign-in",))

STATE_COOKIE = "cq_oauth_state"
STATE_COOKIE_PATH = "/api/v1/auth/oauth/"


def _start_url(provider_id: str) -> str:
    return f"/api/v1/auth/oauth/{provider_id}/start"


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location})


def _to_login(code: str) -> web.Response:
    return _redirect("/login?" + urlencode({"sign_in_error": code}))


@router.route(
    "GET",
    "/methods",
    summary="The providers this server signs in with (passkeys are always offered)",
    response=SignInMethodsOut,
)
async def sign_in_methods(request: web.Request) -> SignInMethodsOut:
    return SignInMethodsOut(
        providers=[
            SignInProviderOut(id=provider.id, name=provider.name, start_url=_start_url(provider.id))
            for provider in services(request).oauth.providers
        ]
    )


@router.route(
    "GET",
    "/oauth/{provider}/start",
    summary="Start signing in with a provider: redirects the browser there",
    query=OAuthStartQuery,
    status=302,
)
async def oauth_start(request: web.Request, query: OAuthStartQuery) -> web.StreamResponse:
    svc = services(request)
    oauth = svc.oauth
    address = request_address(request, svc.settings.trusted_proxy_networks)
    try:
        async with svc.sign_in_start_limiter.guard(
            address, set(), "too many sign-ins started; wait a minute", count_success=True
        ):
            started = await oauth.start(request.match_info["provider"], query.next)
    except Refusal as refusal:
        return _to_login(refusal.code)
    response = _redirect(started.authorize_url)
    # The state also lives in this browser: a callback that arrives in another browser
    # (a link an attacker sends, with their own code) has no cookie and is refused.
    response.set_cookie(
        STATE_COOKIE,
        started.state,
        max_age=oauth.state_ttl_s,
        httponly=True,
        samesite="Lax",  # sent on the provider's top-level redirect back to us
        secure=svc.settings.cookie_secure,
        path=STATE_COOKIE_PATH,
    )
    return response


@router.route(
    "GET",
    "/oauth/{provider}/callback",
    summary="Where the provider sends the browser back: signs in and redirects",
    query=OAuthCallbackQuery,
    status=302,
)
async def oauth_callback(request: web.Request, query: OAuthCallbackQuery) -> web.StreamResponse:
    svc = services(request)
    if query.error:
        response = _to_login("sign_in_failed")
    else:
        try:
            signed_in = await svc.oauth.finish(
                request.match_info["provider"],
                query.state,
                request.cookies.get(STATE_COOKIE),
                query.code,
            )
        except Refusal as refusal:
            response = _to_login(refusal.code)
        else:
            response = _redirect(signed_in.next_path)
            set_session_cookie(response, svc.users.start_session(signed_in.user), request)
    response.del_cookie(STATE_COOKIE, path=STATE_COOKIE_PATH)
    return response
