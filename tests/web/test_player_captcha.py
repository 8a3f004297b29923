"""The join captcha on the player screen (issue 15), in Chromium against a real server
whose captcha provider is Cloudflare Turnstile, verified against the loopback stand-in
of Turnstile's verify endpoint (tests/support/captcha.py).

The browser cannot reach Cloudflare, so the provider's script URL is answered by a
small stand-in of the widget's documented explicit-render API (`turnstile.render`
with `sitekey`, `callback`, `expired-callback`, `error-callback`; `turnstile.remove`):
a button that hands the page the token the test chose. Everything else is real: the
page loads the script under the server's Content-Security-Policy (a violation fails
the test), the handshake carries the token, the server asks the verify stand-in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Playwright, Route, expect

from tests.support.apps import separate_app
from tests.support.captcha import PATHS, SECRET, SITE_KEY, CaptchaStandIn
from tests.support.live import create_game
from tests.support.users import register_user
from tests.web.conftest import PHONE_DEVICE, BrowserProblems, _context, axe_scan, shot
from tests.web.player_support import connect_host

TURNSTILE_SCRIPT = "https://challenges.cloudflare.com/turnstile/v0/api.js*"
FAKE_TURNSTILE = """
window.cqRenders = [];
window.turnstile = {
  render(el, options) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'I am human';
    button.onclick = () => options.callback(window.cqNextToken);
    el.append(button);
    window.cqRenders.push(options.sitekey);
    return String(window.cqRenders.length);
  },
  remove(id) {
    // The page removes a widget before it starts over with a new one.
    window.cqRemoved = (window.cqRemoved || 0) + 1;
  }
};
"""


@pytest.fixture
async def captcha_site(
    server: TestServer, storage: dict[str, str], web_build: Path
) -> AsyncIterator[tuple[str, CaptchaStandIn]]:
    stand_in = CaptchaStandIn()
    verify = TestServer(stand_in.app(), host="127.0.0.1")
    await verify.start_server()
    settings = {
        "redis_prefix": storage["redis_prefix"] + "capweb",
        "captcha_provider": "turnstile",
        "captcha_secret": SECRET,
        "captcha_site_key": SITE_KEY,
        "captcha_verify_url": str(verify.make_url(PATHS["turnstile"])),
    }
    try:
        async with separate_app(storage, **settings) as app:
            yield str(app.make_url("")).rstrip("/"), stand_in
    finally:
        await verify.close()


async def fake_widget(route: Route) -> None:
    await route.fulfill(status=200, content_type="text/javascript", body=FAKE_TURNSTILE)


async def test_a_player_solves_the_captcha_to_join(
    playwright: Playwright,
    browser: Browser,
    browser_problems: BrowserProblems,
    captcha_site: tuple[str, CaptchaStandIn],
) -> None:
    url, stand_in = captcha_site
    async with ClientSession(url) as http:
        teacher = await register_user(http)
        game = await create_game(teacher, first=1, settings={"captcha": True})
        host = await connect_host(url, game)
        device = dict(playwright.devices[PHONE_DEVICE])
        device.pop("default_browser_type", None)
        context = await _context(browser, browser_problems, url, **device)
        try:
            await context.route(TURNSTILE_SCRIPT, fake_widget)
            phone = await context.new_page()
            await phone.goto(f"/play?pin={game['pin']}")
            check = phone.get_by_role("group", name="Security check")
            await expect(check.get_by_role("button", name="I am human")).to_be_visible()
            assert await phone.evaluate("window.cqRenders") == [SITE_KEY]
            await phone.get_by_role("textbox", name="Nickname").fill("Ada")
            await axe_scan(phone)
            await shot(phone, "player-captcha-phone")  # docs/web/player-captcha-phone.png

            # Join before solving it: the page says what is missing, nobody is asked.
            await phone.get_by_role("button", name="Join").click()
            await expect(phone.get_by_role("alert")).to_contain_text("prove you are a person")
            assert stand_in.calls == []

            # A token the provider never issued: refused, and the widget starts over.
            await phone.evaluate("window.cqNextToken = 'not-a-token-of-the-provider'")
            await check.get_by_role("button", name="I am human").click()
            await phone.get_by_role("button", name="Join").click()
            await expect(phone.get_by_role("alert")).to_contain_text("The check did not work")
            assert [call["response"] for call in stand_in.calls] == ["not-a-token-of-the-provider"]
            await phone.wait_for_function("window.cqRenders.length === 2 && window.cqRemoved === 1")
            assert not host.events["player_joined"]

            # Without solving the new widget, the spent token is not sent again.
            await phone.get_by_role("button", name="Join").click()
            await expect(phone.get_by_role("alert")).to_contain_text("prove you are a person")
            assert len(stand_in.calls) == 1

            token = stand_in.issue()
            await phone.evaluate("token => { window.cqNextToken = token; }", token)
            await check.get_by_role("button", name="I am human").click()
            await phone.get_by_role("button", name="Join").click()
            await expect(phone.get_by_text("You're in!")).to_be_visible()
            assert (await host.wait("player_joined"))["player"]["nickname"] == "Ada"
            assert stand_in.calls[-1]["response"] == token
            assert stand_in.calls[-1]["remoteip"] == "127.0.0.1"

            # A reload comes back with the player token: not asked again.
            await phone.reload()
            await expect(phone.get_by_text("You're in!")).to_be_visible()
            assert len(stand_in.calls) == 2
        finally:
            await context.close()
            await host.close()
        browser_problems.assert_none()
