"""REST: passkeys — manage them (/api/v1/users/passkeys, signed in) and sign in with one
(/api/v1/auth/passkeys, anonymous). Each ceremony is options, then the browser's answer."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from classquiz.contracts.signin import (
    PasskeyOptionsOut,
    PasskeyOut,
    PasskeyRegisterIn,
    PasskeySignInIn,
)
from classquiz.contracts.users import TokenOut
from classquiz.routers.api import ApiRouter, json_response, parse_uuid
from classquiz.routers.auth import require_session, set_session_cookie
from classquiz.routers.refusals import request_address
from classquiz.runtime import services

router = ApiRouter(tags=("passkeys",))


@router.route(
    "POST",
    "/api/v1/users/passkeys/options",
    summary="Start registering a passkey: the WebAuthn creation options",
    response=PasskeyOptionsOut,
    auth="user",
    errors=(400, 401),
)
async def passkey_registration_options(request: web.Request) -> PasskeyOptionsOut:
    session = await require_session(request)
    return await services(request).passkeys.registration_options(session.user)


@router.route(
    "POST",
    "/api/v1/users/passkeys",
    summary="Register a passkey with the browser's answer to the options",
    body=PasskeyRegisterIn,
    response=PasskeyOut,
    status=201,
    auth="user",
    errors=(400, 401, 422),
)
async def register_passkey(request: web.Request, body: PasskeyRegisterIn) -> PasskeyOut:
    session = await require_session(request)
    return await services(request).passkeys.register(
        session.user, body.ceremony_id, body.name, body.credential
    )


@router.route(
    "GET",
    "/api/v1/users/passkeys",
    summary="The account's passkeys",
    response=list[PasskeyOut],
    auth="user",
    errors=(401,),
)
async def list_passkeys(request: web.Request) -> list[dict[str, Any]]:
    session = await require_session(request)
    keys = await services(request).passkeys.list_for(session.user)
    return [key.model_dump(mode="json") for key in keys]


@router.route(
    "DELETE",
    "/api/v1/users/passkeys/{passkey_id}",
    summary="Remove a passkey",
    auth="user",
    status=204,
    errors=(401, 404),
)
async def remove_passkey(request: web.Request) -> None:
    session = await require_session(request)
    passkey_id = parse_uuid(request.match_info["passkey_id"], "passkey_not_found")
    await services(request).passkeys.remove(session.user, passkey_id)


@router.route(
    "POST",
    "/api/v1/auth/passkeys/options",
    summary="Start signing in with a passkey: the WebAuthn request options",
    response=PasskeyOptionsOut,
    errors=(429,),
)
async def passkey_sign_in_options(request: web.Request) -> PasskeyOptionsOut:
    svc = services(request)
    address = request_address(request, svc.settings.trusted_proxy_networks)
    async with svc.sign_in_start_limiter.guard(
        address, set(), "too many sign-ins started; wait a minute", count_success=True
    ):
        return await svc.passkeys.sign_in_options()


@router.route(
    "POST",
    "/api/v1/auth/passkeys/sign-in",
    summary="Sign in with the browser's answer (sets the session cookie, as a login does)",
    body=PasskeySignInIn,
    response=TokenOut,
    errors=(400, 401, 422, 429),
)
async def passkey_sign_in(request: web.Request, body: PasskeySignInIn) -> web.Response:
    svc = services(request)
    address = request_address(request, svc.settings.trusted_proxy_networks)
    async with svc.login_limiter.guard(
        address,
        {"invalid_credentials", "passkey_invalid"},
        "too many failed sign-ins; wait a minute",
    ):
        user = await svc.passkeys.sign_in(body.ceremony_id, body.credential)
    token = svc.users.start_session(user)
    response = json_response(TokenOut(access_token=token, expires_in=svc.users.token_expiry_s))
    set_session_cookie(response, token, request)
    return response
