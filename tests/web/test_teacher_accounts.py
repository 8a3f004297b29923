"""The teacher's way in, in a real browser against the real server: sign up (and the
server's refusals shown next to the field they name), sign in (wrong password, the
two-factor step with a TOTP or a backup code), the account page (two-factor on and
off, API keys), sign out (the token revoked on the server), the header's state."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import pyotp
from aiohttp import ClientSession
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.support.apps import separate_app
from tests.support.users import register_user
from tests.web.conftest import BrowserProblems, _context, axe_scan, shot
from tests.web.teacher_flows import PASSWORD, new_teacher, register, sign_in


def code_at(secret: str, step_offset: int) -> str:
    """The TOTP code `step_offset` 30-second steps from now (the server accepts ±1 step,
    each step once per account)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * step_offset)


async def steady_step() -> None:
    """Start the next 30 s step first when this one ends within 8 s, so that the few
    codes a test computes all refer to the steps it means."""
    left = 30 - time.time() % 30
    if left < 8:
        await asyncio.sleep(left + 0.2)


async def session_cookie(context: BrowserContext) -> dict | None:
    for cookie in await context.cookies():
        if cookie["name"] == "access_token":
            return dict(cookie)
    return None


async def fits_the_screen(page: Page) -> None:
    viewport = page.viewport_size
    assert viewport is not None
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"{width} px wide on {viewport['width']}"


async def test_sign_up_signs_in_with_an_http_only_cookie_and_no_token_in_storage(
    phone: Page, phone_context: BrowserContext, http: ClientSession
) -> None:
    await phone.goto("/register")
    await expect(phone.get_by_role("heading", name="Create your account")).to_be_visible()
    await axe_scan(phone)
    await fits_the_screen(phone)
    await shot(phone, "teacher-register-phone")
    teacher = await register(phone)

    cookie = await session_cookie(phone_context)
    assert cookie is not None and cookie["httpOnly"] is True
    token = cookie["value"]
    stored = await phone.evaluate(
        "JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"
    )
    assert token not in stored, "the session token must live only in the HTTP-only cookie"
    # The page's scripts cannot read it either.
    assert "access_token" not in await phone.evaluate("document.cookie")

    # The header now offers the teacher's pages instead of Sign in / Sign up.
    header = phone.get_by_role("banner")
    await expect(header.get_by_role("link", name="My quizzes")).to_be_visible()
    await expect(header.get_by_role("link", name="Account")).to_be_visible()
    await expect(header.get_by_role("link", name="Sign in")).to_have_count(0)

    # The account really exists on the server, with what was typed.
    async with http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}) as resp:
        me = await resp.json()
    assert (me["username"], me["email"]) == (teacher.username, teacher.email)


async def test_taken_and_invalid_sign_ups_are_explained_next_to_their_field(
    projector: Page, http: ClientSession
) -> None:
    existing = await register_user(http)
    await projector.goto("/register")
    email = projector.get_by_role("textbox", name="Email")
    username = projector.get_by_role("textbox", name="Username")
    password = projector.get_by_label("Password", exact=True)
    submit = projector.get_by_role("button", name="Create account")

    # 422: every field the server names gets its own message, right below it.
    await email.fill("not-an-email")
    await username.fill("x")
    await password.fill("short")
    await submit.click()
    await expect(projector.locator("#email-error")).to_have_text(
        "This is not a valid email address."
    )
    await expect(projector.locator("#username-error")).to_contain_text("3 to 32")
    await expect(projector.locator("#password-error")).to_have_text("At least 8 characters.")
    for field in (email, username, password):
        await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(projector.get_by_role("alert")).to_have_count(3)
    await axe_scan(projector)
    await shot(projector, "teacher-register-errors-projector")

    # 409: a taken username is shown at the username, the others are fine now.
    await email.fill(f"fresh-{existing.username}@example.org")
    await username.fill(existing.username)
    await password.fill(PASSWORD)
    await submit.click()
    await expect(projector.locator("#username-error")).to_contain_text("taken")
    await expect(projector.get_by_role("alert")).to_have_count(1)
    await expect(email).not_to_have_attribute("aria-invalid", "true")
    # And a taken email at the email.
    await email.fill(existing.email)
    await username.fill("fresh" + existing.username)
    await submit.click()
    await expect(projector.locator("#email-error")).to_contain_text("exists already")
    await expect(projector).to_have_url(re.compile(r"/register$"))


async def test_a_wrong_password_is_refused_and_the_right_one_signs_in(
    phone: Page, http: ClientSession
) -> None:
    user = await register_user(http)
    await sign_in(phone, user.username, "wrong password")
    await expect(phone.get_by_role("alert")).to_have_text("Wrong email, username or password.")
    await expect(phone).to_have_url(re.compile(r"/login$"))
    await axe_scan(phone)
    await shot(phone, "teacher-login-wrong-phone")

    # By email this time; `next` brings the teacher back to the page that sent them.
    await phone.goto("/login?next=/account")
    await phone.get_by_role("textbox", name="Email or username").fill(user.email)
    await phone.get_by_label("Password", exact=True).fill(user.password)
    await phone.get_by_role("button", name="Sign in").click()
    await expect(phone).to_have_url(re.compile(r"/account$"))
    await expect(phone.get_by_role("main")).to_contain_text(user.username)


async def test_an_offsite_next_is_ignored(phone: Page, http: ClientSession) -> None:
    user = await register_user(http)
    await phone.goto("/login?next=//evil.example/")
    await phone.get_by_role("textbox", name="Email or username").fill(user.username)
    await phone.get_by_label("Password", exact=True).fill(user.password)
    await phone.get_by_role("button", name="Sign in").click()
    await expect(phone).to_have_url(re.compile(r"/quizzes$"))


async def test_the_totp_step_takes_an_app_code_or_a_backup_code(
    phone: Page, projector: Page, http: ClientSession
) -> None:
    user = await register_user(http)
    await steady_step()
    status, setup = await user.request("POST", "/api/v1/users/totp/setup")
    assert status == 200, setup
    secret = setup["secret"]
    status, enabled = await user.request(
        "POST", "/api/v1/users/totp/enable", json={"code": code_at(secret, -1)}
    )
    assert status == 200, enabled
    backup_codes = enabled["backup_codes"]

    await sign_in(phone, user.username, user.password)
    code = phone.get_by_role("textbox", name="Code")
    await expect(code).to_be_focused()
    await expect(phone).to_have_url(re.compile(r"/login$"))
    await axe_scan(phone)
    await shot(phone, "teacher-login-code-phone")

    await code.fill("123")  # not even the shape of a code
    await phone.get_by_role("button", name="Sign in").click()
    await expect(phone.locator("#code-error")).to_contain_text("6 digits")
    wrong = "000000" if code_at(secret, 0) != "000000" else "111111"
    await code.fill(wrong)
    await phone.get_by_role("button", name="Sign in").click()
    await expect(phone.locator("#code-error")).to_contain_text("wrong")
    await expect(code).to_have_attribute("aria-invalid", "true")

    await code.fill(code_at(secret, 0))
    await phone.get_by_role("button", name="Sign in").click()
    await expect(phone).to_have_url(re.compile(r"/quizzes$"))

    # A backup code works in the same box, in any case, and only once.
    await sign_in(projector, user.email, user.password)
    await projector.get_by_role("textbox", name="Code").fill(backup_codes[0].upper())
    await projector.get_by_role("button", name="Sign in").click()
    await expect(projector).to_have_url(re.compile(r"/quizzes$"))
    status, _ = await user.request("POST", "/api/v1/users/logout")
    async with http.post(
        "/api/v1/users/login",
        json={"login": user.username, "password": user.password, "totp": backup_codes[0]},
    ) as resp:
        assert resp.status == 401, "a used backup code must not work twice"


async def test_two_factor_on_and_off_from_the_account_page(
    projector: Page, http: ClientSession
) -> None:
    teacher = await register(projector)
    await projector.get_by_role("banner").get_by_role("link", name="Account").click()
    await expect(projector.get_by_role("heading", name="Account", level=1)).to_be_visible()
    await expect(projector.get_by_role("main")).to_contain_text(teacher.email)

    await steady_step()
    await projector.get_by_role("button", name="Turn on two-factor authentication").click()
    qr = projector.get_by_role("img", name="QR code for your authenticator app")
    await expect(qr).to_be_visible()
    assert (await qr.get_attribute("src") or "").startswith("data:image/png")
    secret = (await projector.get_by_test_id("totp-secret").inner_text()).strip()
    await axe_scan(projector)
    await shot(projector, "teacher-account-totp-projector")

    # A wrong code does not switch it on.
    wrong = "999999" if code_at(secret, -1) != "999999" else "888888"
    await projector.get_by_role("textbox", name="Code").fill(wrong)
    await projector.get_by_role("button", name="Confirm").click()
    await expect(projector.locator("#totp-code-error")).to_contain_text("wrong")
    await projector.get_by_role("textbox", name="Code").fill(code_at(secret, -1))
    await projector.get_by_role("button", name="Confirm").click()
    backups = projector.get_by_role("list", name="Backup codes")
    await expect(backups.get_by_role("listitem")).to_have_count(10)
    await expect(projector.get_by_role("status")).to_contain_text("Two-factor authentication is on")

    # Signing in now needs the code: the browser's own sign-in proves it.
    await projector.get_by_role("button", name="Sign out").click()
    await expect(projector).to_have_url(re.compile(r"/$"))
    await sign_in(projector, teacher.username, teacher.password)
    await projector.get_by_role("textbox", name="Code").fill(code_at(secret, 0))
    await projector.get_by_role("button", name="Sign in").click()
    await expect(projector).to_have_url(re.compile(r"/quizzes$"))

    # And off again, with the next code.
    await projector.goto("/account")
    await projector.get_by_role("textbox", name="Code").fill(code_at(secret, 1))
    await projector.get_by_role("button", name="Turn off").click()
    await expect(
        projector.get_by_role("button", name="Turn on two-factor authentication")
    ).to_be_visible()
    async with http.post(
        "/api/v1/users/login", json={"login": teacher.username, "password": teacher.password}
    ) as resp:
        assert resp.status == 200, "without two-factor the password alone signs in again"


async def test_sign_out_revokes_the_token_on_the_server(
    phone: Page, phone_context: BrowserContext, http: ClientSession
) -> None:
    await register(phone)
    cookie = await session_cookie(phone_context)
    assert cookie is not None
    token = cookie["value"]
    await phone.goto("/account")
    await axe_scan(phone)
    await fits_the_screen(phone)
    await shot(phone, "teacher-account-phone")
    await phone.get_by_role("button", name="Sign out").click()
    await expect(phone).to_have_url(re.compile(r"/$"))
    header = phone.get_by_role("banner")
    await expect(header.get_by_role("link", name="Sign in")).to_be_visible()
    await expect(header.get_by_role("link", name="Account")).to_have_count(0)
    assert await session_cookie(phone_context) is None
    # Not just forgotten by the browser: the token no longer works anywhere.
    async with http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 401
    # The teacher pages now offer the way in.
    await phone.goto("/quizzes")
    await expect(phone.get_by_role("main").get_by_role("link", name="Sign in")).to_have_attribute(
        "href", "/login?next=%2Fquizzes"
    )


async def test_api_keys_are_shown_once_listed_and_deleted(
    projector: Page, http: ClientSession
) -> None:
    await register(projector)
    await projector.goto("/account")
    await projector.get_by_role("textbox", name="Key name").fill("grading script")
    await projector.get_by_role("button", name="Create key").click()
    secret = (await projector.get_by_test_id("new-api-key").inner_text()).strip()
    keys = projector.get_by_role("list", name="API keys")
    await expect(keys.get_by_role("listitem")).to_have_count(1)
    await expect(keys).to_contain_text("grading script")
    # The secret shown works as a bearer token.
    async with http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {secret}"}) as resp:
        assert resp.status == 200
    await axe_scan(projector)
    # Shown once: after a reload only the prefix is left.
    await projector.reload()
    await expect(keys.get_by_role("listitem")).to_have_count(1)
    assert secret not in await projector.content()

    await keys.get_by_role("button", name="Delete key grading script").click()
    dialog = projector.get_by_role("dialog")
    await expect(dialog).to_contain_text("grading script")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(keys.get_by_role("listitem")).to_have_count(1)
    await keys.get_by_role("button", name="Delete key grading script").click()
    await dialog.get_by_role("button", name="Delete").click()
    await expect(projector.get_by_text("No API keys yet.")).to_be_visible()
    async with http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {secret}"}) as resp:
        assert resp.status == 401


async def test_the_teacher_pages_speak_german(phone: Page) -> None:
    await phone.goto("/")
    await phone.get_by_role("combobox", name="Language").select_option("de")
    await phone.goto("/register")
    await expect(phone.get_by_role("heading", name="Konto erstellen")).to_be_visible()
    await expect(phone.get_by_role("textbox", name="Benutzername")).to_be_visible()
    await expect(phone.get_by_role("button", name="Konto erstellen")).to_be_visible()
    # Signing up in German, the sample quiz comes in German and the server takes it.
    teacher = new_teacher()
    await phone.get_by_role("textbox", name="E-Mail").fill(teacher.email)
    await phone.get_by_role("textbox", name="Benutzername").fill(teacher.username)
    await phone.get_by_label("Passwort", exact=True).fill(teacher.password)
    await phone.get_by_role("button", name="Konto erstellen").click()
    await expect(phone.get_by_role("heading", level=1)).to_have_text("Meine Quizze")
    await phone.get_by_role("button", name="Beispielquiz erstellen").click()
    quizzes = phone.get_by_role("list", name="Meine Quizze")
    await expect(quizzes).to_contain_text("Beispielquiz: alle sieben Fragearten")
    await expect(quizzes).to_contain_text("7 Fragen")
    await expect(quizzes).to_contain_text("Privat")
    await axe_scan(phone)
    await shot(phone, "teacher-quizzes-phone-de")
    await quizzes.get_by_role("button", name="Spiel starten").click()
    dialog = phone.get_by_role("dialog", name="Live-Spiel starten")
    await expect(dialog.get_by_role("button", name="Spiel eröffnen")).to_be_visible()
    await axe_scan(phone)
    await shot(phone, "teacher-host-dialog-phone-de")
    await dialog.get_by_role("button", name="Abbrechen").click()

    await phone.goto("/account")
    await phone.get_by_role("button", name="Abmelden").click()
    await phone.goto("/login")
    await expect(phone.get_by_role("textbox", name="E-Mail oder Benutzername")).to_be_visible()
    await axe_scan(phone)
    await shot(phone, "teacher-login-phone-de")


async def test_too_many_attempts_are_explained(
    browser: Browser,
    browser_problems: BrowserProblems,
    storage: dict[str, str],
    app_url: str,  # the shared server: it owns the database connection the second app uses
) -> None:
    # A server of its own with tight limits (the shared test server has them wide open).
    prefix = storage["redis_prefix"] + "w4limits" + uuid.uuid4().hex[:6]
    async with separate_app(
        storage, redis_prefix=prefix, register_rate_limit=1, login_rate_limit_failures=1
    ) as server:
        url = str(server.make_url("")).rstrip("/")
        context = await _context(
            browser, browser_problems, url, viewport={"width": 1280, "height": 800}
        )
        try:
            page = await context.new_page()
            teacher = await register(page)  # the one registration this address may make
            await page.get_by_role("banner").get_by_role("link", name="Account").click()
            await page.get_by_role("button", name="Sign out").click()
            await expect(page).to_have_url(re.compile(r"/$"))

            await page.goto("/register")
            await page.get_by_role("textbox", name="Email").fill("second@example.org")
            await page.get_by_role("textbox", name="Username").fill("second" + teacher.username)
            await page.get_by_label("Password", exact=True).fill(PASSWORD)
            await page.get_by_role("button", name="Create account").click()
            await expect(page.get_by_role("alert")).to_have_text(
                "Too many attempts. Wait a minute and try again."
            )
            await expect(page).to_have_url(re.compile(r"/register$"))

            await sign_in(page, teacher.username, "wrong password")
            await expect(page.get_by_role("alert")).to_contain_text("Wrong")
            await sign_in(page, teacher.username, teacher.password)
            await expect(page.get_by_role("alert")).to_have_text(
                "Too many attempts. Wait a minute and try again."
            )
            await expect(page).to_have_url(re.compile(r"/login$"))
            await axe_scan(page)
        finally:
            await context.close()
    browser_problems.assert_none()
