"""Account recovery and upkeep in a real browser against a real server that mails through
a real SMTP server (aiosmtpd) on loopback: "Forgot password?" from /login, the mail read
and its link followed, the reset page, the verification link; on /account, API keys with
scope and expiry (the key then used against the API), password change and "sign out
everywhere"."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.support.apps import separate_app
from tests.support.mail import Inbox, link_in, smtp_server
from tests.support.quizzes import sample_quiz
from tests.support.users import register_user
from tests.test_audit_totp import code_at, steady_step, wrong_code
from tests.web.conftest import BrowserProblems, _context, axe_scan, shot
from tests.web.teacher_flows import PASSWORD, register, sign_in

PUBLIC_URL = "https://quiz.example.test"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1920, "height": 1080}}


@dataclass
class MailServer:
    url: str
    inbox: Inbox


@pytest.fixture
async def mail_server(
    server: TestServer, storage: dict[str, str], web_build: Any
) -> AsyncIterator[MailServer]:
    """The app (with the web build) on its own port, mailing to an aiosmtpd inbox."""
    with smtp_server() as (inbox, port):
        async with separate_app(
            storage,
            redis_prefix=storage["redis_prefix"] + "wmail" + uuid.uuid4().hex[:6],
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls=False,
            public_url=PUBLIC_URL,
        ) as app:
            yield MailServer(str(app.make_url("")).rstrip("/"), inbox)


async def new_context(
    browser: Browser, problems: BrowserProblems, url: str, options: dict[str, Any]
) -> BrowserContext:
    return await _context(browser, problems, url, **options)


def on_this_server(link: str, base_url: str) -> str:
    """The mailed link (made for PUBLIC_URL) opened on the test server: same path and
    fragment, the test server's origin."""
    assert link.startswith(PUBLIC_URL + "/"), link
    parts = urlsplit(link)
    return f"{base_url}{parts.path}#{parts.fragment}"


async def test_forgot_password_to_a_new_password_through_the_mail(
    browser: Browser, browser_problems: BrowserProblems, mail_server: MailServer
) -> None:
    inbox = mail_server.inbox
    phone = await new_context(browser, browser_problems, mail_server.url, PHONE)
    try:
        page = await phone.new_page()
        teacher = await register(page)
        [verification] = await inbox.wait_for(teacher.email)
        await page.goto("/account")
        await expect(page.get_by_test_id("email-status")).to_have_text(
            "Email address not verified yet."
        )
        await expect(page.get_by_role("button", name="Send verification email")).to_be_visible()
        await shot(page, "account-unverified-phone")
        # The verification link from the welcome mail.
        await page.goto(on_this_server(link_in(verification)[0], mail_server.url))
        await expect(page.get_by_role("status")).to_contain_text("Your email address is verified")
        await expect(page).to_have_url(re.compile(r"/verify-email$"))  # token out of the bar
        await page.goto("/account")
        await expect(page.get_by_test_id("email-status")).to_have_text("Email address verified.")

        await phone.clear_cookies()
        await page.goto("/login")
        await page.get_by_role("link", name="Forgot password?").click()
        await expect(page).to_have_url(re.compile(r"/forgot-password$"))
        await expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
        await axe_scan(page)
        await shot(page, "account-forgot-password-phone")
        await page.get_by_role("textbox", name="Email").fill(teacher.email)
        await page.get_by_role("button", name="Send reset link").click()
        await expect(page.get_by_role("status")).to_contain_text(
            f"If an account uses {teacher.email}"
        )

        _, reset_mail = await inbox.wait_for(teacher.email, count=2)
        assert reset_mail["Subject"] == "Reset your ClassQuiz password"
        link, token = link_in(reset_mail)
        await page.goto(on_this_server(link, mail_server.url))
        await expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
        await expect(page).to_have_url(re.compile(r"/reset-password$"))
        assert token not in page.url
        new_password = "a fresh passphrase 42"
        await page.get_by_label("New password").fill("short")
        await page.get_by_role("button", name="Set new password").click()
        await expect(page.get_by_role("alert")).to_have_text("Too short: at least 8 characters.")
        await axe_scan(page)
        await shot(page, "account-reset-password-phone")
        await page.get_by_label("New password").fill(new_password)
        await page.get_by_role("button", name="Set new password").click()
        await expect(page.get_by_role("status")).to_contain_text("Your password was changed")

        # The link works once. (From another page first: a change of the fragment
        # alone would not load the page again.)
        await page.goto("/")
        await page.goto(on_this_server(link, mail_server.url))
        await page.get_by_label("New password").fill("yet another password")
        await page.get_by_role("button", name="Set new password").click()
        await expect(page.get_by_role("alert")).to_contain_text("This link is invalid")
        await expect(page.get_by_role("link", name="Ask for a new link")).to_be_visible()

        await sign_in(page, teacher.username, PASSWORD)
        await expect(page.get_by_role("alert")).to_be_visible()  # the old password is gone
        await sign_in(page, teacher.username, new_password)
        await expect(page).to_have_url(re.compile(r"/quizzes$"))
    finally:
        await phone.close()


async def test_the_reset_pages_on_a_desktop(
    browser: Browser, browser_problems: BrowserProblems, mail_server: MailServer
) -> None:
    desktop = await new_context(browser, browser_problems, mail_server.url, DESKTOP)
    try:
        page = await desktop.new_page()
        await page.goto("/forgot-password")
        await page.get_by_role("textbox", name="Email").fill("nobody@example.org")
        await page.get_by_role("button", name="Send reset link").click()
        await expect(page.get_by_role("status")).to_contain_text("If an account uses")
        await shot(page, "account-forgot-password-sent-desktop")
        await page.goto("/reset-password")  # no token in the link
        await expect(page.get_by_role("alert")).to_contain_text("needs the link from the email")
        await axe_scan(page)
        await shot(page, "account-reset-password-no-token-desktop")
    finally:
        await desktop.close()


async def test_without_mail_the_forgot_page_says_so(phone: Page) -> None:
    await phone.goto("/forgot-password")
    await expect(phone.get_by_role("alert")).to_contain_text("does not send email")
    await expect(phone.get_by_role("button", name="Send reset link")).to_have_count(0)


async def test_api_keys_with_scope_and_expiry(
    browser: Browser, browser_problems: BrowserProblems, app_url: str, http: ClientSession
) -> None:
    desktop = await new_context(browser, browser_problems, app_url, DESKTOP)
    try:
        page = await desktop.new_page()
        await register(page)
        await page.goto("/account")
        keys = page.get_by_role("region", name="API keys")
        await keys.get_by_role("textbox", name="Key name").fill("grades export")
        await keys.get_by_role("combobox", name="Access").select_option(label="Read only")
        await keys.get_by_role("combobox", name="Expires").select_option(label="In 30 days")
        await keys.get_by_role("button", name="Create key").click()
        secret = (await page.get_by_test_id("new-api-key").text_content() or "").strip()
        assert secret.startswith("cqk_")
        item = keys.get_by_role("listitem").filter(has_text="grades export")
        await expect(item).to_contain_text("Read only")
        await expect(item).to_contain_text("expires")

        await keys.get_by_role("textbox", name="Key name").fill("nightly backup")
        await keys.get_by_role("combobox", name="Access").select_option(label="Full access")
        await keys.get_by_role("combobox", name="Expires").select_option(label="Never")
        await keys.get_by_role("button", name="Create key").click()
        await expect(
            keys.get_by_role("listitem").filter(has_text="nightly backup")
        ).to_contain_text("Full access · never expires")
        await axe_scan(page)
        await shot(page, "account-api-keys-desktop")

        # The read-only key reads, and cannot write.
        bearer = {"Authorization": f"Bearer {secret}"}
        async with http.get("/api/v1/users/me", headers=bearer) as resp:
            assert resp.status == 200
        async with http.post("/api/v1/quizzes", json=sample_quiz(), headers=bearer) as resp:
            assert resp.status == 403

        await keys.get_by_role("button", name="Delete key grades export").click()
        await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
        await expect(keys.get_by_role("listitem").filter(has_text="grades export")).to_have_count(0)
        async with http.get("/api/v1/users/me", headers=bearer) as resp:
            assert resp.status == 401
    finally:
        await desktop.close()


async def test_change_password_then_sign_out_everywhere(
    browser: Browser, browser_problems: BrowserProblems, app_url: str
) -> None:
    phone = await new_context(browser, browser_problems, app_url, PHONE)
    other = await new_context(browser, browser_problems, app_url, DESKTOP)
    try:
        page = await phone.new_page()
        teacher = await register(page)
        elsewhere = await other.new_page()
        await sign_in(elsewhere, teacher.username, PASSWORD)
        await expect(elsewhere).to_have_url(re.compile(r"/quizzes$"))

        await page.goto("/account")
        section = page.get_by_role("region", name="Change password")
        await section.get_by_label("Current password").fill("not my password")
        await section.get_by_label("New password").fill("the new password")
        await section.get_by_role("button", name="Change password").click()
        await expect(section.get_by_role("alert")).to_have_text(
            "This is not your current password."
        )
        await section.get_by_label("Current password").fill(PASSWORD)
        await section.get_by_role("button", name="Change password").click()
        await expect(section.get_by_role("status")).to_contain_text("Your password was changed")
        await axe_scan(page)
        await shot(page, "account-password-phone")

        # This browser stays signed in (a new cookie); the other one was signed out.
        await page.reload()
        await expect(page.get_by_test_id("account-username")).to_have_text(teacher.username)
        await elsewhere.goto("/account")
        await expect(elsewhere.get_by_role("link", name="Sign in").first).to_be_visible()

        await sign_in(elsewhere, teacher.username, "the new password")
        await expect(elsewhere).to_have_url(re.compile(r"/quizzes$"))
        await (
            page.get_by_role("region", name="Sign out everywhere")
            .get_by_role("button", name="End all sessions")
            .click()
        )
        await page.get_by_role("dialog").get_by_role("button", name="End all sessions").click()
        await expect(page).to_have_url(re.compile(r"/login$"))
        await elsewhere.goto("/account")
        await expect(elsewhere.get_by_role("link", name="Sign in").first).to_be_visible()
    finally:
        await phone.close()
        await other.close()


async def test_a_reset_asks_for_the_second_factor(
    browser: Browser, browser_problems: BrowserProblems, mail_server: MailServer
) -> None:
    async with ClientSession(mail_server.url) as api:
        user = await register_user(api)
        status, setup = await user.request("POST", "/api/v1/users/totp/setup")
        assert status == 200
        await steady_step()
        status, enabled = await user.request(
            "POST", "/api/v1/users/totp/enable", json={"code": code_at(setup["secret"], 0)}
        )
        assert status == 200
        async with api.post("/api/v1/account/password-reset", json={"email": user.email}) as resp:
            assert resp.status == 202
    _, reset_mail = await mail_server.inbox.wait_for(user.email, count=2)
    phone = await new_context(browser, browser_problems, mail_server.url, PHONE)
    try:
        page = await phone.new_page()
        await page.goto(on_this_server(link_in(reset_mail)[0], mail_server.url))
        await page.get_by_label("New password").fill("safe with two factors")
        await page.get_by_role("button", name="Set new password").click()
        code = page.get_by_role("textbox", name="Code")
        await expect(code).to_be_focused()
        await code.fill(wrong_code(setup["secret"]))
        await page.get_by_role("button", name="Set new password").click()
        await expect(page.get_by_role("alert")).to_have_text(
            "This code is wrong or was used already."
        )
        await shot(page, "account-reset-password-code-phone")
        await code.fill(enabled["backup_codes"][0])
        await page.get_by_role("button", name="Set new password").click()
        await expect(page.get_by_role("status")).to_contain_text("Your password was changed")
    finally:
        await phone.close()
