"""REST: /api/v1/account — password reset and change, e-mail verification, ending
sessions, deleting the account.

Only translates: the rules live in AccountService (classquiz/services/account.py).
Managing credentials needs the owner's own sign-in (`require_own_session`), never
an API key.
"""

from __future__ import annotations

from aiohttp import web

from classquiz.contracts.account import (
    AccountDeleteIn,
    EmailTokenIn,
    MailStatusOut,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
)
from classquiz.contracts.common import OkOut
from classquiz.contracts.users import TokenOut
from classquiz.routers.api import ApiRouter, json_response
from classquiz.routers.auth import COOKIE_NAME, require_own_session, set_session_cookie
from classquiz.routers.refusals import request_address
from classquiz.runtime import services

router = ApiRouter(prefix="/api/v1/account", tags=("account",))


def _address(request: web.Request) -> str:
    return request_address(request, services(request).settings.trusted_proxy_networks)


@router.route(
    "GET",
    "/mail",
    summary="Whether this server sends mail (password reset, verification)",
    response=MailStatusOut,
)
async def mail_status(request: web.Request) -> MailStatusOut:
    return MailStatusOut(enabled=services(request).account.mailer.enabled)


@router.route(
    "POST",
    "/password-reset",
    summary="Mail a password reset link; the same answer whether or not the address has an account",
    body=PasswordResetIn,
    response=OkOut,
    status=202,
    errors=(422, 429, 503),
)
async def request_password_reset(request: web.Request, body: PasswordResetIn) -> OkOut:
    await services(request).account.request_password_reset(body.email, _address(request))
    return OkOut()


@router.route(
    "POST",
    "/password-reset/confirm",
    summary="Set a new password with the mailed token; every session of the account ends",
    body=PasswordResetConfirmIn,
    response=OkOut,
    errors=(400, 401, 422, 429),
)
async def confirm_password_reset(request: web.Request, body: PasswordResetConfirmIn) -> OkOut:
    await services(request).account.reset_password(body, _address(request))
    return OkOut()


@router.route(
    "POST",
    "/verify-email/send",
    summary="Mail a new verification link to the account's address",
    response=OkOut,
    status=202,
    auth="user",
    errors=(401, 403, 429, 503),
)
async def send_verification(request: web.Request) -> OkOut:
    session = await require_own_session(request)
    await services(request).account.send_verification(session.user, _address(request))
    return OkOut()


@router.route(
    "POST",
    "/verify-email",
    summary="Confirm the account's e-mail address with the mailed token",
    body=EmailTokenIn,
    response=OkOut,
    errors=(400, 422),
)
async def verify_email(request: web.Request, body: EmailTokenIn) -> OkOut:
    await services(request).account.verify_email(body.token)
    return OkOut()


@router.route(
    "POST",
    "/password",
    summary="Change the password (the current one, and a one-time code when 2FA is on); "
    "every other session ends and this one gets a new token",
    body=PasswordChangeIn,
    response=TokenOut,
    auth="user",
    errors=(401, 403, 422, 429),
)
async def change_password(request: web.Request, body: PasswordChangeIn) -> web.Response:
    session = await require_own_session(request)
    svc = services(request)
    token = await svc.account.change_password(session.user, body)
    response = json_response(TokenOut(access_token=token, expires_in=svc.users.token_expiry_s))
    set_session_cookie(response, token, request)
    return response


@router.route(
    "POST",
    "/sign-out-everywhere",
    summary="End every session of the account, this one included (API keys stay)",
    response=OkOut,
    auth="user",
    errors=(401, 403),
)
async def sign_out_everywhere(request: web.Request) -> web.Response:
    session = await require_own_session(request)
    await services(request).account.sign_out_everywhere(session.user)
    response = json_response(OkOut())
    response.del_cookie(COOKIE_NAME, path="/")
    return response


@router.route(
    "POST",
    "/delete",
    summary="Delete the account and everything it holds (quizzes, pictures, results, keys); "
    "its live games end first. Needs the username typed again and the password (an account "
    "without one: a sign-in in the last 10 minutes), and a one-time code when 2FA is on",
    body=AccountDeleteIn,
    status=204,
    auth="user",
    errors=(401, 403, 422, 429, 503),
)
async def delete_account(request: web.Request, body: AccountDeleteIn) -> web.Response:
    session = await require_own_session(request)
    await services(request).account_deletion.delete(session, body)
    response = web.Response(status=204)
    response.del_cookie(COOKIE_NAME, path="/")
    return response
