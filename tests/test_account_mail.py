"""Password reset and e-mail verification, end to end through a real SMTP server (aiosmtpd)
on loopback: the server mails, the test reads the real message and follows its link."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from classquiz.db.models import User
from classquiz.services.account_tokens import PASSWORD_RESET, AccountTokens
from tests.support.apps import separate_app
from tests.support.mail import Inbox, body_text, link_in, smtp_server
from tests.support.users import ApiUser, register_user
from tests.test_audit_totp import code_at, steady_step

PUBLIC_URL = "http://quiz.example.test"
MAIL_LIMIT = 3


@dataclass
class MailApp:
    http: ClientSession
    inbox: Inbox


@pytest.fixture
async def mail_app(server: TestServer, storage: dict[str, str]) -> AsyncIterator[MailApp]:
    """An app that sends mail to an aiosmtpd server; clients pick their address with
    X-Forwarded-For (127.0.0.1 is a trusted proxy) so limits can be shown per address."""
    with smtp_server() as (inbox, port):
        overrides: dict[str, Any] = {
            "redis_prefix": storage["redis_prefix"] + "mail" + uuid.uuid4().hex[:6],
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_starttls": False,
            "smtp_from": "ClassQuiz <quiz@example.test>",
            "public_url": PUBLIC_URL,
            "trusted_proxies": ["127.0.0.1/32"],
            "mail_rate_limit": MAIL_LIMIT,
        }
        async with separate_app(storage, **overrides) as test_server:
            async with ClientSession(str(test_server.make_url("")).rstrip("/")) as http:
                yield MailApp(http, inbox)


def from_address(n: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"203.0.113.{n}"}


async def ask_reset(http: ClientSession, email: str, n: int = 1) -> tuple[int, Any]:
    async with http.post(
        "/api/v1/account/password-reset", json={"email": email}, headers=from_address(n)
    ) as resp:
        return resp.status, await resp.json()


async def post(http: ClientSession, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with http.post(path, json=body, headers=from_address(200)) as resp:
        return resp.status, await resp.json()


async def login_status(http: ClientSession, login: str, password: str) -> int:
    async with http.post(
        "/api/v1/users/login", json={"login": login, "password": password}
    ) as resp:
        return resp.status


async def me(http: ClientSession, user: ApiUser) -> tuple[int, Any]:
    async with http.get("/api/v1/users/me", headers=user.headers) as resp:
        return resp.status, await resp.json()


# -- mail off ----------------------------------------------------------------------------


async def test_without_smtp_nothing_is_sent_and_the_routes_say_so(
    http: ClientSession, user: ApiUser
) -> None:
    async with http.get("/api/v1/account/mail") as resp:
        assert resp.status == 200
        assert await resp.json() == {"enabled": False}
    status, body = await ask_reset(http, user.email)
    assert status == 503 and body["error"]["code"] == "mail_unavailable"
    status, body = await user.request("POST", "/api/v1/account/verify-email/send")
    assert status == 503 and body["error"]["code"] == "mail_unavailable"


# -- verification ------------------------------------------------------------------------


async def test_registration_mails_a_link_that_verifies_the_address_once(
    mail_app: MailApp,
) -> None:
    http, inbox = mail_app.http, mail_app.inbox
    async with http.get("/api/v1/account/mail") as resp:
        assert await resp.json() == {"enabled": True}
    user = await register_user(http)
    assert (await me(http, user))[1]["email_verified"] is False

    [message] = await inbox.wait_for(user.email)
    assert message["From"] == "ClassQuiz <quiz@example.test>"
    assert "Confirm your e-mail" in message["Subject"]
    assert user.username in body_text(message)
    url, token = link_in(message)
    assert url.startswith(f"{PUBLIC_URL}/verify-email#token=")

    status, body = await post(http, "/api/v1/account/verify-email", {"token": token})
    assert status == 200, body
    assert (await me(http, user))[1]["email_verified"] is True
    # single use
    status, body = await post(http, "/api/v1/account/verify-email", {"token": token})
    assert status == 400 and body["error"]["code"] == "invalid_code"
    # nothing more to verify: asking again sends nothing
    status, _ = await user.request("POST", "/api/v1/account/verify-email/send")
    assert status == 202
    await asyncio.sleep(0.3)
    assert len(inbox.to(user.email)) == 1


async def test_a_resent_link_works_and_junk_tokens_change_nothing(mail_app: MailApp) -> None:
    http, inbox = mail_app.http, mail_app.inbox
    user = await register_user(http)
    await inbox.wait_for(user.email)
    status, _ = await user.request(
        "POST", "/api/v1/account/verify-email/send", headers=from_address(7)
    )
    assert status == 202
    first, second = await inbox.wait_for(user.email, count=2)
    assert link_in(first)[1] != link_in(second)[1]
    for junk in ("x" * 43, "short", link_in(second)[1] + "A"):
        status, body = await post(http, "/api/v1/account/verify-email", {"token": junk})
        assert status in (400, 422), body
        assert (await me(http, user))[1]["email_verified"] is False
    status, _ = await post(http, "/api/v1/account/verify-email", {"token": link_in(second)[1]})
    assert status == 200
    # verifying retires the other link
    status, body = await post(http, "/api/v1/account/verify-email", {"token": link_in(first)[1]})
    assert status == 400 and body["error"]["code"] == "invalid_code"


# -- password reset ----------------------------------------------------------------------


async def test_password_reset_end_to_end(mail_app: MailApp) -> None:
    http, inbox = mail_app.http, mail_app.inbox
    user = await register_user(http)
    await inbox.wait_for(user.email)  # the verification mail
    other_session = await register_session(http, user)

    unknown = f"nobody-{uuid.uuid4().hex[:8]}@example.org"
    answer_unknown = await ask_reset(http, unknown, n=1)
    answer_known = await ask_reset(http, user.email.upper(), n=2)
    assert answer_unknown == answer_known == (202, {"ok": True})

    _, message = await inbox.wait_for(user.email, count=2)
    assert "Reset your ClassQuiz password" == message["Subject"]
    url, token = link_in(message)
    assert url.startswith(f"{PUBLIC_URL}/reset-password#token=")
    await asyncio.sleep(0.3)
    assert inbox.to(unknown) == []

    new_password = "a brand new passphrase"
    status, body = await post(
        http, "/api/v1/account/password-reset/confirm", {"token": token, "password": "short"}
    )
    assert status == 422, body  # bad input changes nothing: the link still works
    status, body = await post(
        http, "/api/v1/account/password-reset/confirm", {"token": token, "password": new_password}
    )
    assert status == 200, body

    assert await login_status(http, user.username, user.password) == 401
    assert await login_status(http, user.username, new_password) == 200
    # every session from before the reset has ended
    for session in (user, other_session):
        status, body = await me(http, session)
        assert status == 401 and body["error"]["code"] == "invalid_token"
    # the link was used up; following the link proved the mailbox
    status, body = await post(
        http, "/api/v1/account/password-reset/confirm", {"token": token, "password": "x" * 12}
    )
    assert status == 400 and body["error"]["code"] == "invalid_code"
    assert await login_status(http, user.username, new_password) == 200
    user.password = new_password
    fresh = await register_session(http, user)
    assert (await me(http, fresh))[1]["email_verified"] is True


async def test_an_expired_or_superseded_reset_link_is_refused(mail_app: MailApp) -> None:
    http = mail_app.http
    user = await register_user(http)
    account = await User.objects.get(email=user.email)
    tokens = AccountTokens()
    expired = await tokens.issue(account, PASSWORD_RESET, -1)
    live_a = await tokens.issue(account, PASSWORD_RESET, 600)
    live_b = await tokens.issue(account, PASSWORD_RESET, 600)
    status, body = await post(
        http, "/api/v1/account/password-reset/confirm", {"token": expired, "password": "x" * 12}
    )
    assert status == 400 and body["error"]["code"] == "invalid_code"
    assert await login_status(http, user.username, user.password) == 200

    status, _ = await post(
        http, "/api/v1/account/password-reset/confirm", {"token": live_a, "password": "y" * 12}
    )
    assert status == 200
    # once one link was used, the others of the same account no longer work
    status, body = await post(
        http, "/api/v1/account/password-reset/confirm", {"token": live_b, "password": "z" * 12}
    )
    assert status == 400 and body["error"]["code"] == "invalid_code"
    assert await login_status(http, user.username, "y" * 12) == 200


async def test_two_uses_of_one_link_at_once_succeed_once(mail_app: MailApp) -> None:
    http = mail_app.http
    user = await register_user(http)
    account = await User.objects.get(email=user.email)
    token = await AccountTokens().issue(account, PASSWORD_RESET, 600)
    results = await asyncio.gather(
        *(
            post(
                http,
                "/api/v1/account/password-reset/confirm",
                {"token": token, "password": f"password number {i}"},
            )
            for i in range(4)
        )
    )
    assert sorted(status for status, _ in results) == [200, 400, 400, 400]
    winner = next(i for i, (status, _) in enumerate(results) if status == 200)
    assert await login_status(http, user.username, f"password number {winner}") == 200


async def test_a_reset_needs_the_second_factor_when_it_is_on(mail_app: MailApp) -> None:
    http = mail_app.http
    user = await register_user(http)
    status, setup = await user.request("POST", "/api/v1/users/totp/setup")
    assert status == 200
    await steady_step()
    status, enabled = await user.request(
        "POST", "/api/v1/users/totp/enable", json={"code": code_at(setup["secret"], 0)}
    )
    assert status == 200
    backup = enabled["backup_codes"]
    account = await User.objects.get(email=user.email)
    token = await AccountTokens().issue(account, PASSWORD_RESET, 600)
    path = "/api/v1/account/password-reset/confirm"

    status, body = await post(http, path, {"token": token, "password": "n" * 12})
    assert status == 401 and body["error"]["code"] == "totp_required"
    status, body = await post(http, path, {"token": token, "password": "n" * 12, "totp": "000000"})
    assert status == 401 and body["error"]["code"] == "invalid_credentials"
    # the link survived the refusals; a backup code completes the reset
    status, body = await post(http, path, {"token": token, "password": "n" * 12, "totp": backup[0]})
    assert status == 200, body
    assert await login_status(http, user.username, user.password) == 401


async def test_mail_requests_are_limited_per_address_and_per_recipient(mail_app: MailApp) -> None:
    http, inbox = mail_app.http, mail_app.inbox
    user = await register_user(http)
    await inbox.wait_for(user.email)
    # one recipient from many addresses: the recipient's limit
    statuses = [(await ask_reset(http, user.email, n=10 + i))[0] for i in range(MAIL_LIMIT + 2)]
    assert statuses == [202] * MAIL_LIMIT + [429, 429]
    # the same for an address without an account: the answers do not tell them apart
    nobody = f"nobody-{uuid.uuid4().hex[:8]}@example.org"
    statuses = [(await ask_reset(http, nobody, n=30 + i))[0] for i in range(MAIL_LIMIT + 2)]
    assert statuses == [202] * MAIL_LIMIT + [429, 429]
    # many recipients from one address: the address's limit
    results = [
        await ask_reset(http, f"r{i}-{uuid.uuid4().hex[:6]}@example.org", n=50)
        for i in range(MAIL_LIMIT + 1)
    ]
    assert [status for status, _ in results] == [202] * MAIL_LIMIT + [429]
    assert results[-1][1]["error"]["code"] == "rate_limited"
    # the recipient got one reset mail per accepted request, no more
    await inbox.wait_for(user.email, count=1 + MAIL_LIMIT)
    await asyncio.sleep(0.3)
    assert len(inbox.to(user.email)) == 1 + MAIL_LIMIT


async def register_session(http: ClientSession, user: ApiUser) -> ApiUser:
    """Another signed-in session of the same account (as from another device)."""
    async with http.post(
        "/api/v1/users/login", json={"login": user.username, "password": user.password}
    ) as resp:
        assert resp.status == 200
        token = (await resp.json())["access_token"]
    return ApiUser(http, user.username, user.email, user.password, token)
