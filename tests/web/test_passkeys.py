"""Passkeys in a real Chromium with a virtual authenticator (the DevTools protocol's
WebAuthn domain through Playwright's CDP session), through the web app's pages:
add several on /account, sign in on /login without a password, remove one.

WebAuthn needs a secure context whose host can be a relying party id, so the app runs
on its own port with PUBLIC_URL http://localhost:<port> (the relying party id is
`localhost`), and the browser opens that address.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, CDPSession, Page, expect

from classquiz.db.models import Passkey
from tests.support.processes import free_port
from tests.support.signin import app_on_port
from tests.web.conftest import PROJECTOR_VIEWPORT, BrowserProblems, _context, axe_scan, shot
from tests.web.teacher_flows import register

AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,  # discoverable credentials: sign-in without a username
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@pytest.fixture(scope="module")
async def passkey_app(server: TestServer, storage: dict[str, str]) -> AsyncIterator[str]:
    async with app_on_port(storage, free_port(), host_name="localhost") as url:
        yield url


async def context_for(
    browser: Browser, problems: BrowserProblems, url: str, **options: Any
) -> BrowserContext:
    return await _context(browser, problems, url, **options)


@pytest.fixture
async def desktop(
    browser: Browser, browser_problems: BrowserProblems, passkey_app: str
) -> AsyncIterator[BrowserContext]:
    context = await context_for(browser, browser_problems, passkey_app, viewport=PROJECTOR_VIEWPORT)
    yield context
    await context.close()
    browser_problems.assert_none()


async def authenticator(page: Page) -> tuple[CDPSession, str]:
    """A new virtual platform authenticator in `page`'s tab; (session, its id)."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable", {"enableUI": False})
    added = await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    return cdp, added["authenticatorId"]


async def add_passkey(page: Page, name: str) -> None:
    await page.get_by_role("textbox", name="Name of the passkey").fill(name)
    await page.get_by_role("button", name="Add a passkey").click()
    await expect(page.get_by_role("status")).to_contain_text(f"The passkey “{name}” was added.")


async def sign_out(page: Page) -> None:
    await page.goto("/account")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/$"))


async def test_several_passkeys_sign_in_without_a_password_and_removal(
    desktop: BrowserContext, passkey_app: str, redis_client: aioredis.Redis
) -> None:
    page = await desktop.new_page()
    cdp, laptop = await authenticator(page)
    teacher = await register(page)
    await page.goto("/account")
    passkeys = page.get_by_role("list", name="Passkeys")
    await expect(page.get_by_text("No passkeys yet.")).to_be_visible()
    await add_passkey(page, "Work laptop")
    await expect(passkeys.get_by_role("listitem")).to_have_count(1)

    # The same authenticator cannot hold a second passkey of this account (the server
    # lists the first in excludeCredentials, and the browser refuses).
    await page.get_by_role("textbox", name="Name of the passkey").fill("Again")
    await page.get_by_role("button", name="Add a passkey").click()
    await expect(page.get_by_role("alert")).to_contain_text("has a passkey for this account")
    await expect(passkeys.get_by_role("listitem")).to_have_count(1)

    # A second device: another authenticator, another passkey of the same account.
    await cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": laptop})
    await authenticator(page)
    await add_passkey(page, "Phone")
    await expect(passkeys.get_by_role("listitem")).to_have_count(2)
    await expect(passkeys).to_contain_text("Work laptop")
    await expect(passkeys).to_contain_text("Phone")
    await axe_scan(page)
    await shot(page, "account-passkeys-desktop")
    stored = await Passkey.objects.filter(name="Phone").all()
    assert len(stored) == 1 and stored[0].transports == ["internal"]

    # Signed out, /login signs in with the phone's passkey: no username, no password.
    await sign_out(page)
    await page.goto("/login?next=/results")
    sign_in_bodies: list[str] = []
    page.on(
        "request",
        lambda request: (
            sign_in_bodies.append(request.post_data or "")
            if request.url.endswith("/api/v1/auth/passkeys/sign-in")
            else None
        ),
    )
    await page.get_by_role("button", name="Use a passkey").click()
    await expect(page).to_have_url(re.compile(r"localhost:\d+/results$"))
    cookies = {c["name"]: c for c in await desktop.cookies()}
    assert cookies["access_token"]["httpOnly"] is True
    await page.goto("/account")
    await expect(page.get_by_test_id("account-username")).to_have_text(teacher.username)
    await expect(passkeys).to_contain_text("last used")

    # The challenge was good for one answer: the same answer again is refused.
    assert len(sign_in_bodies) == 1
    async with httpx.AsyncClient(base_url=passkey_app) as client:
        replayed = await client.post(
            "/api/v1/auth/passkeys/sign-in",
            content=sign_in_bodies[0],
            headers={"Content-Type": "application/json", "Origin": passkey_app},
        )
        assert replayed.status_code == 400, replayed.text
        assert replayed.json()["error"]["code"] == "challenge_expired"
        assert "access_token" not in replayed.cookies

        # Challenges expire: each ceremony's key in Redis has a time to live.
        started = await client.post(
            "/api/v1/auth/passkeys/options", headers={"Origin": passkey_app}
        )
        ceremony = started.json()["ceremony_id"]
        keys = [k async for k in redis_client.scan_iter(match=f"*passkey:ceremony:{ceremony}")]
        assert len(keys) == 1
        assert 0 < await redis_client.ttl(keys[0]) <= 300

    # Removing the phone's passkey: it no longer signs in.
    await page.get_by_role("button", name="Remove passkey Phone").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_role("button", name="Remove").click()
    await expect(passkeys.get_by_role("listitem")).to_have_count(1)
    await expect(passkeys).not_to_contain_text("Phone")
    await sign_out(page)
    await page.goto("/login")
    await page.get_by_role("button", name="Use a passkey").click()
    await expect(page.get_by_role("alert")).to_contain_text("This passkey is not registered here")
    assert "access_token" not in {c["name"] for c in await desktop.cookies()}


async def test_the_login_page_on_a_phone_offers_a_passkey(
    browser: Browser, browser_problems: BrowserProblems, passkey_app: str, playwright: Any
) -> None:
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    context = await context_for(browser, browser_problems, passkey_app, **device)
    try:
        page = await context.new_page()
        await page.goto("/login")
        await expect(page.get_by_role("button", name="Use a passkey")).to_be_visible()
        await expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
        await axe_scan(page)
        await shot(page, "login-passkey-phone")
    finally:
        await context.close()
    browser_problems.assert_none()
