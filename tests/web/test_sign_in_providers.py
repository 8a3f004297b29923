"""Sign-in with an OpenID provider from the web app's /login, in Chromium: the button of
the enabled provider, the provider's own pages (panva's oidc-provider on loopback,
tests/oidc), back signed in; and a refused sign-in explained on /login."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Page, Playwright, expect

from tests.support.signin import app_with_oidc, mark_email_verified
from tests.support.users import register_user
from tests.web.conftest import PROJECTOR_VIEWPORT, BrowserProblems, _context, axe_scan, shot


@pytest.fixture(scope="module")
async def provider_app(server: TestServer, storage: dict[str, str]) -> AsyncIterator[str]:
    async with app_with_oidc(storage, "School ID") as url:
        yield url


async def new_context(
    browser: Browser, problems: BrowserProblems, url: str, **options: Any
) -> BrowserContext:
    return await _context(browser, problems, url, **options)


async def at_the_provider(page: Page, account: str) -> None:
    """The provider's development login page, then its consent page."""
    await page.locator("input[name=login]").fill(account)
    await page.locator("input[name=password]").fill("any password")
    await page.get_by_role("button", name="Sign-in").click()
    await page.get_by_role("button", name="Continue").click()


async def test_sign_in_with_the_schools_provider_from_the_login_page(
    browser: Browser, browser_problems: BrowserProblems, provider_app: str
) -> None:
    context = await new_context(
        browser, browser_problems, provider_app, viewport=PROJECTOR_VIEWPORT
    )
    try:
        page = await context.new_page()
        await page.goto("/login?next=/results")
        link = page.get_by_role("link", name="Sign in with School ID")
        await expect(link).to_be_visible()
        await expect(page.get_by_role("link", name="Sign in with Google")).to_have_count(0)
        await axe_scan(page)
        await shot(page, "login-providers-desktop")
        email = f"web{uuid.uuid4().hex[:10]}@example.org"
        await link.click()
        await at_the_provider(page, email)
        await expect(page).to_have_url(re.compile(r"127\.0\.0\.1:\d+/results$"))
        await page.goto("/account")
        await expect(page.get_by_role("main")).to_contain_text(email)
        cookies = {c["name"]: c for c in await context.cookies()}
        assert cookies["access_token"]["httpOnly"] is True
    finally:
        await context.close()
    browser_problems.assert_none()


async def test_a_refused_provider_sign_in_is_explained_on_the_login_page(
    browser: Browser,
    browser_problems: BrowserProblems,
    provider_app: str,
    playwright: Playwright,
    http: ClientSession,
) -> None:
    registered = await register_user(http)
    await mark_email_verified(registered.email)
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    context = await new_context(browser, browser_problems, provider_app, **device)
    try:
        page = await context.new_page()
        await page.goto("/login")
        await page.get_by_role("link", name="Sign in with School ID").click()
        await at_the_provider(page, f"unverified:{registered.email}")
        await expect(page).to_have_url(re.compile(r"/login\?sign_in_error=email_not_verified$"))
        await expect(page.get_by_role("alert")).to_contain_text("is not verified")
        await axe_scan(page)
        await shot(page, "login-provider-refused-phone")
        assert "access_token" not in {c["name"] for c in await context.cookies()}
    finally:
        await context.close()
    browser_problems.assert_none()
