"""REST: /api/v1/users — register, login, logout, me, API keys, TOTP."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from classquiz.contracts.common import OkOut
from classquiz.contracts.users import (
    ApiKeyCreatedOut,
    ApiKeyIn,
    ApiKeyOut,
    BackupCodesOut,
    LoginIn,
    RegisterIn,
    TokenOut,
    TotpCodeIn,
    TotpEnabledOut,
    TotpSetupOut,
    UserOut,
)
from classquiz.routers.api import ApiRouter, json_response, parse_uuid
from classquiz.routers.auth import (
    COOKIE_NAME,
    require_own_session,
    require_session,
    set_session_cookie,
)
from classquiz.routers.refusals import request_address
from classquiz.runtime import services
from classquiz.services.users import user_out

router = ApiRouter(prefix="/api/v1/users", tags=("users",))


@router.route(
    "POST",
    "/register",
    summary="Create an account",
    body=RegisterIn,
    response=UserOut,
    status=201,
    errors=(409, 422, 429),
)
async def register(request: web.Request, body: RegisterIn) -> UserOut:
    """Every registration counts against the address, taken names included (each one
    costs a password hash, and free retries would probe which emails have accounts)."""
    svc = services(request)
    address = request_address(request, svc.settings.trusted_proxy_networks)
    async with svc.register_limiter.guard(
        address,
        {"email_taken", "username_taken"},
        "too many registrations from this address; try again later",
        count_success=True,
    ):
        user = await svc.users.register(body)
    svc.account.verify_after_registration(user)
    return user_out(user)


@router.route(
    "POST",
    "/login",
    summary="Log in with email or username",
    body=LoginIn,
    response=TokenOut,
    errors=(401, 422, 429),
)
async def login(request: web.Request, body: LoginIn) -> web.Response:
    svc = services(request)
    address = request_address(request, svc.settings.trusted_proxy_networks)
    async with svc.login_limiter.guard(
        address, {"invalid_credentials"}, "too many failed logins; wait a minute"
    ):
        _, token = await svc.users.login(body)
    out = TokenOut(access_token=token, expires_in=svc.users.token_expiry_s)
    response = json_response(out)
    set_session_cookie(response, token, request)
    return response


@router.route(
    "POST",
    "/logout",
    summary="Revoke the current access token and clear the cookie",
    response=OkOut,
    auth="user",
    errors=(401,),
)
async def logout(request: web.Request) -> web.Response:
    session = await require_session(request)
    await services(request).users.logout(session)
    response = json_response(OkOut())
    response.del_cookie(COOKIE_NAME, path="/")
    return response


@router.route(
    "GET", "/me", summary="The current user", response=UserOut, auth="user", errors=(401,)
)
async def me(request: web.Request) -> UserOut:
    return user_out((await require_session(request)).user)


@router.route(
    "POST",
    "/api-keys",
    summary="Create an API key with a scope and an expiry (the secret is shown once)",
    body=ApiKeyIn,
    response=ApiKeyCreatedOut,
    status=201,
    auth="user",
    errors=(401, 403, 422),
)
async def create_api_key(request: web.Request, body: ApiKeyIn) -> ApiKeyCreatedOut:
    session = await require_own_session(request)
    return await services(request).users.api_keys.create(
        session.user, body.name, body.scope, body.expires_in_days
    )


@router.route(
    "GET",
    "/api-keys",
    summary="List API keys (without secrets)",
    response=list[ApiKeyOut],
    auth="user",
    errors=(401, 403),
)
async def list_api_keys(request: web.Request) -> list[dict[str, Any]]:
    session = await require_own_session(request)
    keys = await services(request).users.api_keys.list(session.user)
    return [key.model_dump(mode="json") for key in keys]


@router.route(
    "DELETE",
    "/api-keys/{key_id}",
    summary="Delete an API key",
    auth="user",
    status=204,
    errors=(401, 403, 404),
)
async def delete_api_key(request: web.Request) -> None:
    session = await require_own_session(request)
    key_id = parse_uuid(request.match_info["key_id"], "api_key_not_found")
    await services(request).users.api_keys.delete(session.user, key_id)


@router.route(
    "POST",
    "/totp/setup",
    summary="Start enabling a TOTP second factor",
    response=TotpSetupOut,
    auth="user",
    errors=(401, 403, 409),
)
async def totp_setup(request: web.Request) -> TotpSetupOut:
    session = await require_own_session(request)
    return await services(request).users.totp.start(session.user)


@router.route(
    "POST",
    "/totp/enable",
    summary="Confirm the TOTP secret with a code; returns ten backup codes, shown only once",
    body=TotpCodeIn,
    response=TotpEnabledOut,
    auth="user",
    errors=(400, 401, 403, 409, 422, 429),
)
async def totp_enable(request: web.Request, body: TotpCodeIn) -> TotpEnabledOut:
    session = await require_own_session(request)
    codes = await services(request).users.totp.enable(session.user, body.code)
    return TotpEnabledOut(backup_codes=codes)


@router.route(
    "POST",
    "/totp/disable",
    summary="Turn the TOTP second factor off (a TOTP code or a backup code)",
    body=TotpCodeIn,
    response=OkOut,
    auth="user",
    errors=(400, 401, 403, 409, 422, 429),
)
async def totp_disable(request: web.Request, body: TotpCodeIn) -> OkOut:
    session = await require_own_session(request)
    await services(request).users.totp.disable(session.user, body.code)
    return OkOut()


@router.route(
    "POST",
    "/totp/backup-codes",
    summary="Replace all backup codes with ten new ones, shown only once (a TOTP or backup code)",
    body=TotpCodeIn,
    response=BackupCodesOut,
    auth="user",
    errors=(400, 401, 403, 409, 422, 429),
)
async def totp_backup_codes(request: web.Request, body: TotpCodeIn) -> BackupCodesOut:
    session = await require_own_session(request)
    codes = await services(request).users.totp.regenerate_backup_codes(session.user, body.code)
    return BackupCodesOut(backup_codes=codes)
