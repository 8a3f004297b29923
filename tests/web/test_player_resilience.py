"""The player screen when things go wrong (issue 10, "Resilience"): a reload in the
middle of a question, the host's screen going away, a kick and a ban, another tab
taking the game over ("Use here"), a lost network, the screen wake lock, a refused
answer, and the German screen. Real server, real browser; the host is a real
Socket.IO client."""

from __future__ import annotations

import re

from playwright.async_api import Browser, BrowserContext, Page, WebSocketRoute, expect

from tests.support.sockets import Recorder
from tests.support.users import ApiUser
from tests.web.conftest import BrowserProblems, axe_scan
from tests.web.player_support import check_state, connect_host, create_game, join_on_phone


async def test_a_reload_mid_question_lands_back_in_it_and_can_answer(
    phone: Page, user: ApiUser, base_url: str
) -> None:
    game = await create_game(user)
    host = await connect_host(base_url, game)
    other = Recorder(base_url)  # keeps the question open (never answers)
    await other.connect({"pin": game["pin"], "nickname": "Cy"})
    try:
        await join_on_phone(phone, game["pin"], "Ada")
        player_id = (await host.wait("player_joined", count=2))["player"]["player_id"]
        assert (await host.call("start_game"))["ok"]
        await expect(phone.get_by_role("heading", name="2 + 2?")).to_be_visible()

        await phone.reload()
        await expect(phone.get_by_role("heading", name="2 + 2?")).to_be_visible()
        await expect(phone.get_by_role("textbox", name="Nickname")).to_have_count(0)
        # The same player came back (its token), not a new one.
        assert len(host.events["player_joined"]) == 2
        back = await host.wait("player_status", count=2)
        assert back == {"player_id": player_id, "connected": True}

        await phone.get_by_role("button", name="4").click()
        await expect(phone.get_by_role("status").filter(has_text="Answer received")).to_be_visible()
        # A reload after answering still says so (welcome.answered), and offers no buttons.
        await phone.reload()
        await expect(phone.get_by_role("status").filter(has_text="Answer received")).to_be_visible()
        await expect(phone.get_by_role("button", name="4")).to_have_count(0)

        assert (await host.call("end_question"))["ok"]
        await expect(phone.get_by_role("status").filter(has_text="Correct")).to_be_visible()
        # A reload in the reveal keeps the player in the game, still showing its result
        # (welcome.your_result), and waiting for the next one.
        await phone.reload()
        result = phone.get_by_role("status").filter(has_text="Correct")
        await expect(result).to_contain_text("Rank 1")
        await expect(result).to_contain_text("You are in the lead!")
        await expect(phone.get_by_text("Wait for the next question.")).to_be_visible()
        await check_state(phone, "reveal-after-reload")
        assert (await host.call("next_question"))["ok"]
        await expect(phone.get_by_role("heading", name="Primes?")).to_be_visible()
    finally:
        await other.close()
        await host.close()


async def test_the_host_going_away_shows_a_banner(
    phone: Page, user: ApiUser, base_url: str
) -> None:
    game = await create_game(user)
    host = await connect_host(base_url, game)
    await join_on_phone(phone, game["pin"], "Ada")
    await host.close()
    banner = phone.get_by_text("presenter screen is offline")
    await expect(banner).to_be_visible()
    await check_state(phone, "host-away")
    host = await connect_host(base_url, game)
    try:
        await expect(banner).to_have_count(0)
    finally:
        await host.close()


async def test_a_kick_then_a_ban_are_shown(phone: Page, user: ApiUser, base_url: str) -> None:
    game = await create_game(user)
    host = await connect_host(base_url, game)
    try:
        await join_on_phone(phone, game["pin"], "Ada")
        ada = (await host.wait("player_joined"))["player"]["player_id"]
        assert (await host.call("kick_player", {"player_id": ada}))["ok"]
        await expect(phone.get_by_role("alert")).to_contain_text("removed you from the game")
        await check_state(phone, "kicked")
        # A kicked player may come back as a new player.
        await phone.get_by_role("button", name="Join").click()
        await phone.get_by_role("textbox", name="Nickname").fill("Ada 2")
        await phone.get_by_role("button", name="Join").click()
        await expect(phone.get_by_text("You're in!")).to_be_visible()
        again = (await host.wait("player_joined", count=2))["player"]
        assert again["nickname"] == "Ada 2" and again["player_id"] != ada
        assert (await host.call("kick_player", {"player_id": again["player_id"], "ban": True}))[
            "ok"
        ]
        await expect(phone.get_by_role("alert")).to_contain_text("for good")
        await expect(phone.get_by_role("button", name="Join")).to_have_count(0)
        await check_state(phone, "banned")
        # The ban holds on a reload: the banned token was forgotten, the name stays refused.
        await phone.reload()
        await phone.get_by_role("textbox", name="Nickname").fill("Ada 2")
        await phone.get_by_role("button", name="Join").click()
        await expect(phone.get_by_role("alert")).to_contain_text("banned")
    finally:
        await host.close()


async def test_another_tab_takes_over_and_use_here_takes_it_back(
    phone_context: BrowserContext, phone: Page, user: ApiUser, base_url: str
) -> None:
    game = await create_game(user)
    host = await connect_host(base_url, game)
    try:
        await join_on_phone(phone, game["pin"], "Ada")
        second = await phone_context.new_page()
        await second.goto(f"/play?pin={game['pin']}")  # same browser: the stored token
        await expect(second.get_by_text("You're in!")).to_be_visible()
        await expect(phone.get_by_role("alert")).to_contain_text("open on another device")
        await check_state(phone, "replaced")
        await phone.get_by_role("button", name="Use here").click()
        await expect(second.get_by_role("button", name="Use here")).to_be_visible()
        await expect(phone.get_by_role("button", name="Use here")).to_have_count(0)
        await expect(phone.get_by_text("You're in!")).to_be_visible()
        # Still one player.
        assert len(host.events["player_joined"]) == 1
        await second.close()
    finally:
        await host.close()


async def test_the_player_screen_speaks_german(
    browser: Browser, browser_problems: BrowserProblems, app_url: str, user: ApiUser
) -> None:
    game = await create_game(user, password="sesame")
    context = await browser.new_context(base_url=app_url, locale="de-DE")
    browser_problems.watch(context)
    try:
        page = await context.new_page()
        await page.goto(f"/play?pin={game['pin']}")
        await expect(page.get_by_role("textbox", name="Spitzname")).to_be_visible()
        await page.get_by_role("textbox", name="Spitzname").fill("Ada")
        await page.get_by_role("textbox", name="Spielpasswort").fill("falsch")
        await page.get_by_role("button", name="Beitreten").click()
        await expect(page.get_by_role("alert")).to_contain_text("Falsches Passwort")
        await axe_scan(page)
    finally:
        await context.close()
    browser_problems.assert_none()


async def test_a_lost_network_shows_a_banner_and_the_player_comes_back(
    phone_context: BrowserContext, phone: Page, user: ApiUser, base_url: str
) -> None:
    game = await create_game(user)
    host = await connect_host(base_url, game)
    try:
        await join_on_phone(phone, game["pin"], "Ada")
        player_id = (await host.wait("player_joined"))["player"]["player_id"]
        await phone_context.set_offline(True)
        banner = phone.get_by_text("Connection lost. Reconnecting")
        await expect(banner).to_be_visible(timeout=30_000)
        assert (await host.wait("player_status", timeout=60))["connected"] is False
        await check_state(phone, "reconnecting")
        # Long enough offline for socket.io's backoff to grow to its 5 s cap (± half) ...
        await phone.wait_for_timeout(9_000)
        await phone_context.set_offline(False)
        # ... so a return within 2 s is the page's `online` listener reconnecting at once.
        await expect(banner).to_have_count(0, timeout=2_000)
        back = await host.wait("player_status", count=2)
        assert back == {"player_id": player_id, "connected": True}
        assert len(host.events["player_joined"]) == 1
        await expect(phone.get_by_text("You're in!")).to_be_visible()
    finally:
        await host.close()


# Records the page's Screen Wake Lock requests and releases (the browser's own API,
# wrapped before the app loads; headless Chromium may refuse the lock itself).
RECORD_WAKE_LOCK = """
window.__wakeLock = [];
if (navigator.wakeLock) {
  const request = navigator.wakeLock.request.bind(navigator.wakeLock);
  navigator.wakeLock.request = async (type) => {
    window.__wakeLock.push('request:' + type);
    const sentinel = await request(type);
    window.__wakeLock.push('granted');
    const release = sentinel.release.bind(sentinel);
    sentinel.release = () => { window.__wakeLock.push('release'); return release(); };
    return sentinel;
  };
}
"""


async def test_the_screen_is_kept_awake_while_playing(
    phone_context: BrowserContext, phone: Page, user: ApiUser, base_url: str
) -> None:
    await phone_context.add_init_script(RECORD_WAKE_LOCK)
    game = await create_game(user)
    host = await connect_host(base_url, game)
    try:
        await phone.goto(f"/play?pin={game['pin']}")
        assert await phone.evaluate("'wakeLock' in navigator"), "no Screen Wake Lock API"
        await expect(phone.get_by_role("textbox", name="Nickname")).to_be_visible()
        assert await phone.evaluate("window.__wakeLock") == []  # not before joining
        await phone.get_by_role("textbox", name="Nickname").fill("Ada")
        await phone.get_by_role("button", name="Join").click()
        await expect(phone.get_by_text("You're in!")).to_be_visible()
        await phone.wait_for_function("window.__wakeLock.includes('request:screen')")
        assert (await host.call("end_game"))["ok"]
        await expect(phone.get_by_role("status").filter(has_text="Final rank")).to_be_visible()
        # Released at the end of the game, when the phone may sleep again.
        if "granted" in await phone.evaluate("window.__wakeLock"):
            await phone.wait_for_function("window.__wakeLock.includes('release')")
    finally:
        await host.close()


async def test_a_refused_answer_is_explained_and_not_called_received(
    phone: Page, user: ApiUser, base_url: str
) -> None:
    """The phone misses the end of the question (its `question_ended` and `your_result`
    are held back on the wire), so it still offers the choices; the server refuses the
    late answer (`wrong_state`), and the phone says so instead of "Answer received"."""
    hold_back = {"on": False}

    async def relay(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        ws.on_message(lambda message: server.send(message))

        def to_page(message: str | bytes) -> None:
            text = message if isinstance(message, str) else ""
            if hold_back["on"] and ('"question_ended"' in text or '"your_result"' in text):
                return
            ws.send(message)

        server.on_message(to_page)

    await phone.route_web_socket(re.compile(r"/socket\.io/"), relay)
    game = await create_game(user)
    host = await connect_host(base_url, game)
    try:
        await join_on_phone(phone, game["pin"], "Ada")
        assert (await host.call("start_game"))["ok"]
        await expect(phone.get_by_role("heading", name="2 + 2?")).to_be_visible()
        hold_back["on"] = True
        assert (await host.call("end_question"))["ok"]
        await host.wait("question_ended")
        await phone.get_by_role("button", name="4").click()
        await expect(phone.get_by_role("alert")).to_contain_text("The question has closed")
        await expect(phone.get_by_text("Answer received")).to_have_count(0)
        await check_state(phone, "answer-refused")
        hold_back["on"] = False
        assert (await host.call("next_question"))["ok"]
        await expect(phone.get_by_role("heading", name="Primes?")).to_be_visible()
    finally:
        await host.close()
