"""The start page in a real browser: join by PIN, language switch, accessibility."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, Route, expect

from classquiz.security_headers import CSP_SCRIPT_HASHES, content_security_policy
from tests.web.conftest import BrowserProblems, axe_scan, shot


async def test_a_player_types_the_pin_and_lands_on_play(phone: Page) -> None:
    await phone.goto("/")
    pin = phone.get_by_role("textbox", name="Game PIN")
    await expect(pin).to_be_visible()
    await pin.fill("123 456")  # as read off the projector, with a space
    await phone.get_by_role("button", name="Join").click()
    await expect(phone).to_have_url(re.compile(r"/play\?pin=123456$"))


async def test_a_wrong_pin_is_explained_and_goes_nowhere(phone: Page) -> None:
    await phone.goto("/")
    await phone.get_by_role("textbox", name="Game PIN").fill("12345")
    await phone.get_by_role("textbox", name="Game PIN").press("Enter")
    await expect(phone.get_by_role("alert")).to_contain_text("exactly 6 digits")
    await expect(phone.get_by_role("textbox", name="Game PIN")).to_have_attribute(
        "aria-invalid", "true"
    )
    assert phone.url.endswith("/")


async def test_the_start_page_leads_teachers_on(phone: Page) -> None:
    await phone.goto("/")
    main = phone.get_by_role("main")
    for name, path in (("Sign in", "/login"), ("Sign up", "/register"), ("Explore", "/explore")):
        await expect(main.get_by_role("link", name=name)).to_have_attribute("href", path)
    await main.get_by_role("link", name="Sign up").click()
    await expect(phone).to_have_url(re.compile(r"/register$"))


async def test_the_start_page_is_accessible_and_fits_phone_and_projector(
    phone: Page, projector: Page
) -> None:
    for page, name in ((phone, "home-phone"), (projector, "home-projector")):
        await page.goto("/")
        await expect(page.get_by_role("heading", name="Join a game")).to_be_visible()
        await axe_scan(page)
        # Nothing wider than the screen (no sideways scrolling on a phone). The device's
        # width, not innerWidth: a mobile browser widens its layout to fit what overflows.
        viewport = page.viewport_size
        assert viewport is not None
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: {width} px wide on {viewport['width']}"
        await shot(page, name)
    # Inputs of 16 px or more: phones do not zoom into the field.
    size = await phone.get_by_role("textbox", name="Game PIN").evaluate(
        "el => parseFloat(getComputedStyle(el).fontSize)"
    )
    assert size >= 16


async def test_the_skip_link_is_the_first_stop_and_reaches_the_content(projector: Page) -> None:
    await projector.goto("/")
    await expect(projector.get_by_role("heading", name="Join a game")).to_be_visible()
    await projector.keyboard.press("Tab")
    skip = projector.get_by_role("link", name="Skip to content")
    await expect(skip).to_be_focused()
    await projector.keyboard.press("Enter")
    await expect(projector.locator("#main")).to_be_focused()


async def test_the_language_switch_translates_and_is_remembered(phone: Page) -> None:
    await phone.goto("/")
    await phone.get_by_role("combobox", name="Language").select_option("de")
    await expect(phone.get_by_role("textbox", name="Spiel-PIN")).to_be_visible()
    assert await phone.evaluate("document.documentElement.lang") == "de"
    await axe_scan(phone)
    await shot(phone, "home-phone-de")
    await phone.reload()
    await expect(phone.get_by_role("heading", name="Einem Spiel beitreten")).to_be_visible()
    await phone.get_by_role("combobox", name="Sprache").select_option("en")
    await expect(phone.get_by_role("textbox", name="Game PIN")).to_be_visible()


async def test_a_german_browser_starts_in_german(phone: Page) -> None:
    await phone.add_init_script(
        "Object.defineProperty(navigator, 'languages', {get: () => ['de-AT', 'en']})"
    )
    await phone.goto("/")
    await expect(phone.get_by_role("heading", name="Einem Spiel beitreten")).to_be_visible()


async def test_deep_links_load_the_app(projector: Page) -> None:
    # The server answers every page route with the app; the client router picks the page.
    for path, heading in (("/quizzes", "My quizzes"), ("/host", "Presenter screen")):
        await projector.goto(path)
        await expect(projector.get_by_role("heading", level=1)).to_have_text(heading)
    await projector.goto("/no/such/page")
    await expect(projector.get_by_role("heading", level=1)).to_have_text("Page not found")


async def test_the_presenter_screen_gets_the_whole_screen(projector: Page) -> None:
    await projector.goto("/quizzes")
    await expect(projector.get_by_role("banner")).to_have_count(1)  # the site header
    await projector.goto("/host")
    await expect(projector.get_by_role("heading", level=1)).to_have_text("Presenter screen")
    await expect(projector.get_by_role("banner")).to_have_count(0)
    await expect(projector.get_by_role("link", name="Skip to content")).to_have_count(0)


async def _serve_with_policy(page: Page, policy: str) -> None:
    """Give every response of the app exactly this Content-Security-Policy."""

    async def add_policy(route: Route) -> None:
        response = await route.fetch()
        headers = {**response.headers, "content-security-policy": policy}
        await route.fulfill(response=response, headers=headers)

    await page.route("**/*", add_policy)


async def test_the_app_boots_under_the_policy_with_its_script_hashes(
    projector: Page, server: TestServer
) -> None:
    hashes = server.app[CSP_SCRIPT_HASHES]
    assert hashes, "the served index.html has an inline boot script; its hash must be known"
    await _serve_with_policy(projector, content_security_policy(hashes))
    await projector.goto("/")
    await expect(projector.get_by_role("heading", name="Join a game")).to_be_visible()
    # (the fixture fails the test on any CSP violation)


async def test_without_the_hashes_the_policy_blocks_the_boot_script(
    browser: Browser, app_url: str
) -> None:
    # The control for the test above: the same policy without the hashes stops the app,
    # so the hashes are what lets it run.
    context = await browser.new_context(base_url=app_url)
    problems = BrowserProblems()
    problems.watch(context)
    page = await context.new_page()
    await _serve_with_policy(page, content_security_policy([]))
    await page.goto("/")
    await page.wait_for_timeout(500)
    assert await page.get_by_role("heading", name="Join a game").count() == 0
    assert any("script-src" in text for text in problems.csp_violations), problems
    await context.close()
