"""Deleting the account on /account, in a real browser against the real server: the
refusals next to the field they name (a wrong username, a wrong password), then the
deletion: the start page says so once, the session cookie is gone, and the account
with its quizzes no longer exists on the server."""

from __future__ import annotations

import re
import uuid

from aiohttp import ClientSession
from playwright.async_api import BrowserContext, Page, expect

from classquiz.db.models import User
from classquiz.runtime import Services
from classquiz.services.users import NO_PASSWORD
from tests.support.users import ApiUser
from tests.test_audit_totp import enable_totp
from tests.web.conftest import axe_scan, shot
from tests.web.teacher_flows import create_sample_quiz, register, sign_in


async def test_a_teacher_deletes_their_account(
    phone: Page, phone_context: BrowserContext, projector: Page, http: ClientSession
) -> None:
    teacher = await register(phone)
    await create_sample_quiz(phone)
    await phone.goto("/account")
    section = phone.get_by_role("region", name="Delete account")
    await expect(section).to_be_visible()
    await expect(section).to_contain_text(f"Your username is {teacher.username}.")
    username = section.get_by_role("textbox", name="Type your username to confirm")
    password = section.get_by_label("Your password", exact=True)
    submit = section.get_by_role("button", name="Delete account")

    # A wrong name: refused next to the name field, focused there; nothing else happens.
    await username.fill(teacher.username + "x")
    await password.fill(teacher.password)
    await submit.click()
    await expect(username).to_have_attribute("aria-invalid", "true")
    await expect(section.get_by_role("alert")).to_have_text(
        "This is not your username. Type it exactly as shown."
    )
    await expect(username).to_be_focused()
    # A wrong password: refused next to the password field.
    await username.fill(teacher.username)
    await password.fill("not the password")
    await submit.click()
    await expect(password).to_have_attribute("aria-invalid", "true")
    await expect(section.get_by_role("alert")).to_have_text("This is not your password.")
    await axe_scan(phone)
    await section.scroll_into_view_if_needed()
    await shot(phone, "account-delete-phone")

    await password.fill(teacher.password)
    await submit.click()
    await expect(phone).to_have_url(re.compile(r"/$"))
    status = phone.get_by_role("status").filter(has_text="deleted")
    await expect(status).to_have_text(
        f"The account {teacher.username} and everything in it were deleted."
    )
    header = phone.get_by_role("banner")
    await expect(header.get_by_role("link", name="Sign in")).to_be_visible()
    assert not [c for c in await phone_context.cookies() if c["name"] == "access_token"]
    await axe_scan(phone)
    await shot(phone, "account-deleted-home-phone")
    # Said once: a reload of the start page says nothing more.
    await phone.reload()
    await expect(phone.get_by_role("heading", name="Join a game")).to_be_visible()
    await expect(phone.get_by_role("status").filter(has_text="deleted")).to_have_count(0)

    # On the server the account is gone: signing in with it fails.
    async with http.post(
        "/api/v1/users/login", json={"login": teacher.username, "password": teacher.password}
    ) as resp:
        assert resp.status == 401
    await sign_in(projector, teacher.username, teacher.password)
    refusal = projector.get_by_role("alert")
    await expect(refusal).to_contain_text("Wrong email, username or password")


async def test_with_two_factor_on_a_code_is_asked_for_too(
    projector: Page, projector_context: BrowserContext, http: ClientSession
) -> None:
    """On a large screen, with two-factor authentication on (turned on over the API with
    this browser's session): the section asks for a code as well, under a name of its
    own, so the two-factor section's **Code** stays the only field of that name."""
    teacher = await register(projector)
    [token] = [c["value"] for c in await projector_context.cookies() if c["name"] == "access_token"]
    me = ApiUser(http, teacher.username, teacher.email, teacher.password, token)
    _, backup_codes = await enable_totp(me)
    await projector.goto("/account")
    section = projector.get_by_role("region", name="Delete account")
    code = section.get_by_role("textbox", name="Two-factor confirmation")
    await expect(code).to_be_visible()
    await expect(projector.get_by_role("textbox", name="Code")).to_have_count(1)
    await axe_scan(projector)
    await shot(projector, "account-delete-desktop")

    await section.get_by_role("textbox", name="Type your username to confirm").fill(
        teacher.username
    )
    await section.get_by_label("Your password", exact=True).fill(teacher.password)
    await section.get_by_role("button", name="Delete account").click()
    await expect(code).to_have_attribute("aria-invalid", "true")
    await expect(section.get_by_role("alert")).to_have_text(
        "Enter a code from your authenticator app or a backup code."
    )
    await code.fill(backup_codes[0])
    await section.get_by_role("button", name="Delete account").click()
    await expect(projector.get_by_role("status").filter(has_text="deleted")).to_be_visible()


async def test_an_account_without_a_password_is_told_to_sign_in_again_first(
    phone: Page, phone_context: BrowserContext, svc: Services, app_url: str
) -> None:
    """An account made by another provider's sign-in: no password field, a note that
    deleting needs a fresh sign-in, and with a fresh one the typed name is enough."""
    name = "oidc" + uuid.uuid4().hex[:8]
    account = await User.objects.create(
        email=f"{name}@example.org", username=name, password_hash=NO_PASSWORD
    )
    token = svc.users.start_session(account)  # as a sign-in through the provider ends
    await phone_context.add_cookies([{"name": "access_token", "value": token, "url": app_url}])
    await phone.goto("/account")
    section = phone.get_by_role("region", name="Delete account")
    await expect(section).to_contain_text("Your account has no password, so deleting it")
    await expect(section.get_by_label("Your password")).to_have_count(0)
    await axe_scan(phone)
    await section.scroll_into_view_if_needed()
    await shot(phone, "account-delete-no-password-phone")
    await section.get_by_role("textbox", name="Type your username to confirm").fill(name)
    await section.get_by_role("button", name="Delete account").click()
    await expect(phone.get_by_role("status").filter(has_text="deleted")).to_have_text(
        f"The account {name} and everything in it were deleted."
    )
    assert await User.objects.get_or_none(id=account.id) is None
