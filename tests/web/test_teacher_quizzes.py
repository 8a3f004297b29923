"""My quizzes and the Host dialog in a real browser against the real server: the
sample quiz of all seven types from the empty list, the list itself, delete with a
confirmation, the editor placeholders, and the Host dialog, whose every setting must
reach the live game (checked with GET /api/v1/games/{pin} and in Redis)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession
from playwright.async_api import Browser, BrowserContext, Page, Route, expect
from redis.asyncio import Redis

from classquiz.config import Settings
from classquiz.game.keys import GameKeys
from tests.web.conftest import BrowserProblems, _context, axe_scan, shot
from tests.web.teacher_flows import create_sample_quiz, register

SEVEN_TYPES = ["single", "multiple", "true_false", "text", "slider", "order", "poll"]


@pytest.fixture
async def redis_client(storage: dict[str, str]) -> AsyncIterator[Redis]:
    client = Redis.from_url(storage["redis_url"])
    yield client
    await client.aclose()


async def api_get(http: ClientSession, context: BrowserContext, path: str) -> tuple[int, Any]:
    """GET as the teacher signed in in `context` (their session cookie as a bearer token)."""
    token = next(c["value"] for c in await context.cookies() if c["name"] == "access_token")
    async with http.get(path, headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.json() if resp.content_type == "application/json" else None


async def record_created_games(page: Page) -> list[dict[str, Any]]:
    """Every game the page creates (the body of each successful POST /api/v1/games):
    read on the way through, since the page navigates away at once."""
    created: list[dict[str, Any]] = []

    async def record(route: Route) -> None:
        response = await route.fetch()
        if route.request.method == "POST" and response.status == 201:
            created.append(await response.json())
        await route.fulfill(response=response)

    await page.route("**/api/v1/games", record)
    return created


def record_navigations(page: Page) -> list[str]:
    """Every URL the page's main frame navigates to from now on."""
    urls: list[str] = []
    page.on(
        "framenavigated", lambda frame: urls.append(frame.url) if frame == page.main_frame else None
    )
    return urls


async def fits_the_screen(page: Page) -> None:
    viewport = page.viewport_size
    assert viewport is not None
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"{width} px wide on {viewport['width']}"


async def test_an_empty_list_offers_the_sample_quiz_of_all_seven_types(
    phone: Page, phone_context: BrowserContext, http: ClientSession
) -> None:
    await register(phone)
    await expect(phone.get_by_role("heading", name="No quizzes yet")).to_be_visible()
    await axe_scan(phone)
    await fits_the_screen(phone)
    await shot(phone, "teacher-quizzes-empty-phone")

    await create_sample_quiz(phone)
    item = phone.get_by_role("list", name="My quizzes").get_by_role("listitem")
    await expect(item).to_contain_text("Sample quiz: all seven question types")
    await expect(item).to_contain_text("Private")
    await expect(phone.get_by_role("status")).to_contain_text("sample quiz was created")
    for name in ("Edit", "Host", "Delete"):
        await expect(item.get_by_role("button", name=name, exact=True)).to_be_visible()
    await expect(phone.get_by_role("link", name="New quiz")).to_have_attribute(
        "href", "/quizzes/new"
    )
    await axe_scan(phone)
    await fits_the_screen(phone)
    await shot(phone, "teacher-quizzes-phone")

    # The server holds one question of each type, in that order.
    status, page = await api_get(http, phone_context, "/api/v1/quizzes")
    assert status == 200 and page["total"] == 1
    status, quiz = await api_get(http, phone_context, f"/api/v1/quizzes/{page['items'][0]['id']}")
    assert status == 200
    assert [q["type"] for q in quiz["questions"]] == SEVEN_TYPES


async def test_delete_asks_first_and_cancel_keeps_the_quiz(
    projector: Page, projector_context: BrowserContext, http: ClientSession
) -> None:
    await register(projector)
    await create_sample_quiz(projector)
    _, page = await api_get(http, projector_context, "/api/v1/quizzes")
    quiz_id = page["items"][0]["id"]
    item = projector.get_by_role("list", name="My quizzes").get_by_role("listitem")

    await item.get_by_role("button", name="Delete").click()
    dialog = projector.get_by_role("dialog", name="Delete this quiz?")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("Sample quiz: all seven question types")
    await axe_scan(projector)
    await shot(projector, "teacher-quizzes-delete-projector")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    status, _ = await api_get(http, projector_context, f"/api/v1/quizzes/{quiz_id}")
    assert status == 200, "Cancel must keep the quiz"

    # Escape cancels as well.
    await item.get_by_role("button", name="Delete").click()
    await expect(dialog).to_be_visible()
    await projector.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    status, _ = await api_get(http, projector_context, f"/api/v1/quizzes/{quiz_id}")
    assert status == 200

    await item.get_by_role("button", name="Delete").click()
    await dialog.get_by_role("button", name="Delete").click()
    await expect(projector.get_by_role("heading", name="No quizzes yet")).to_be_visible()
    status, _ = await api_get(http, projector_context, f"/api/v1/quizzes/{quiz_id}")
    assert status == 404


async def test_edit_and_new_quiz_lead_to_the_editor(
    projector: Page, projector_context: BrowserContext, http: ClientSession
) -> None:
    # (The editor itself is issue 11's, with its own tests; here only the way there.)
    await register(projector)
    await create_sample_quiz(projector)
    _, page = await api_get(http, projector_context, "/api/v1/quizzes")
    quiz_id = page["items"][0]["id"]
    await projector.get_by_role("button", name="Edit").click()
    await expect(projector).to_have_url(re.compile(rf"/quizzes/{quiz_id}$"))
    await expect(projector.get_by_role("heading", level=1)).to_be_visible()
    await projector.goto("/quizzes")
    await projector.get_by_role("link", name="New quiz").click()
    await expect(projector).to_have_url(re.compile(r"/quizzes/new$"))
    await expect(projector.get_by_role("heading", level=1)).to_be_visible()


async def test_every_host_setting_reaches_the_live_game(
    projector: Page,
    projector_context: BrowserContext,
    http: ClientSession,
    redis_client: Redis,
    settings: Settings,
) -> None:
    await register(projector)
    await create_sample_quiz(projector)
    await projector.get_by_role("button", name="Host").click()
    dialog = projector.get_by_role("dialog", name="Host a live game")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("Sample quiz: all seven question types")
    await axe_scan(projector)
    await shot(projector, "teacher-host-dialog-projector")

    # Free names first: their rules and the blocklist.
    await dialog.get_by_role("spinbutton", name="Shortest name").fill("2")
    await dialog.get_by_role("spinbutton", name="Longest name").fill("12")
    await dialog.get_by_role("combobox", name="Allowed characters").select_option(
        "letters_digits_space"
    )
    await dialog.get_by_role("checkbox", name="Refuse rude names").uncheck()
    await dialog.get_by_role("textbox", name="Blocked words").fill("darn, heck\nblast")
    await dialog.get_by_role("textbox", name="Game password").fill("owl")
    await dialog.get_by_role("spinbutton", name="Maximum players").fill("30")
    await dialog.get_by_role("checkbox", name="Lock the game when it starts").check()
    await dialog.get_by_role("checkbox", name="End a question as soon as").uncheck()
    await dialog.get_by_role("checkbox", name="Bonus points for answer streaks").uncheck()
    await dialog.get_by_role("checkbox", name="Shuffle the questions").check()
    await dialog.get_by_role("checkbox", name="Shuffle the choices").check()

    games = await record_created_games(projector)
    opened = record_navigations(projector)
    await dialog.get_by_role("button", name="Start hosting").click()
    await expect(projector).to_have_url(re.compile(r"/host"))
    [created] = games
    # The presenter screen was opened with the new game's host token in the fragment
    # (which it then wipes from the address bar), and its PIN to route the connection.
    link = f"/host#token={created['host_token']}&pin={created['pin']}"
    assert any(url.endswith(link) for url in opened), opened

    async with http.get(f"/api/v1/games/{created['pin']}") as resp:
        info = await resp.json()
    assert info["requires_password"] is True
    assert info["nicknames"] == {
        "mode": "free",
        "min_length": 2,
        "max_length": 12,
        "charset": "letters_digits_space",
        "roster_available": None,
    }
    game = GameKeys(settings.redis_prefix, created["pin"]).game
    stored = json.loads(await redis_client.hget(game, "settings"))
    assert stored["nicknames"]["blocklist"] == ["darn", "heck", "blast"]
    assert stored["nicknames"]["filter_profanity"] is False
    assert (
        stored["max_players"],
        stored["lock_on_start"],
        stored["auto_end_question"],
        stored["streak_bonus"],
        stored["randomize_questions"],
        stored["randomize_choices"],
    ) == (30, True, False, False, True, True)
    assert (await redis_client.hget(game, "password")).decode() == "owl"


async def test_a_roster_game_takes_the_pasted_class_list(
    phone: Page, http: ClientSession, redis_client: Redis, settings: Settings
) -> None:
    await register(phone)
    await create_sample_quiz(phone)
    await phone.get_by_role("button", name="Host").click()
    dialog = phone.get_by_role("dialog", name="Host a live game")
    await dialog.get_by_role("radio", name="Names from a class list").check()
    roster = dialog.get_by_role("textbox", name="Class list")
    # As pasted from a spreadsheet column: blank lines, stray spaces, a repeat.
    await roster.fill("Doe, Jane\n\n  Ada Lovelace \nGrace Hopper\nada lovelace\n")
    await expect(dialog).to_contain_text("3 names")
    # The picker is on by default; this teacher would rather not show the list.
    picker = dialog.get_by_role("checkbox", name="Let players pick their name from the list")
    await expect(picker).to_be_checked()
    await picker.uncheck()
    await axe_scan(phone)
    await fits_the_screen(phone)
    await shot(phone, "teacher-host-dialog-phone")
    games = await record_created_games(phone)
    opened = record_navigations(phone)
    await dialog.get_by_role("button", name="Start hosting").click()
    await expect(phone).to_have_url(re.compile(r"/host"))
    [created] = games
    link = f"/host#token={created['host_token']}&pin={created['pin']}"
    assert any(url.endswith(link) for url in opened), opened
    async with http.get(f"/api/v1/games/{created['pin']}") as resp:
        info = await resp.json()
    assert info["nicknames"]["mode"] == "roster"
    assert info["nicknames"]["roster_available"] is None  # picker off
    assert info["requires_password"] is False
    game = GameKeys(settings.redis_prefix, created["pin"]).game
    stored = json.loads(await redis_client.hget(game, "settings"))
    assert stored["nicknames"]["roster"] == ["Doe, Jane", "Ada Lovelace", "Grace Hopper"]
    assert stored["nicknames"]["roster_picker"] is False
    # Left empty: the schema default, within the server's cap.
    assert stored["max_players"] == min(2000, settings.max_players_per_game)


async def test_the_servers_refusals_are_shown_at_the_setting_they_name(
    projector: Page, settings: Settings
) -> None:
    await register(projector)
    await create_sample_quiz(projector)
    answers: list[int] = []
    projector.on(
        "response",
        lambda r: answers.append(r.status) if r.url.endswith("/api/v1/games") else None,
    )
    await projector.get_by_role("button", name="Host").click()
    dialog = projector.get_by_role("dialog", name="Host a live game")
    start = dialog.get_by_role("button", name="Start hosting")

    # Out of the schema's range: refused with the field named.
    shortest = dialog.get_by_role("spinbutton", name="Shortest name")
    await shortest.fill("0")
    await start.click()
    await expect(shortest).to_have_attribute("aria-invalid", "true")
    await expect(dialog.get_by_role("alert")).to_have_count(1)
    # Above this server's own cap (a rule of the service, not of the schema).
    await shortest.fill("1")
    players = dialog.get_by_role("spinbutton", name="Maximum players")
    await players.fill(str(settings.max_players_per_game + 1))
    await start.click()
    await expect(players).to_have_attribute("aria-invalid", "true")
    await expect(players).to_be_focused()  # taken to the problem, below the fold
    await expect(dialog).to_contain_text("More players than this server allows")
    await expect(shortest).not_to_have_attribute("aria-invalid", "true")
    await expect(dialog.get_by_role("alert")).to_have_count(1)
    await axe_scan(projector)
    await shot(projector, "teacher-host-dialog-errors-projector")

    # A captcha on a server with no captcha provider set up: refused at the checkbox.
    await players.fill("")
    captcha = dialog.get_by_role("checkbox", name="Players solve a captcha")
    await captcha.check()
    await start.click()
    await expect(captcha).to_have_attribute("aria-invalid", "true")
    await expect(dialog.get_by_role("alert")).to_contain_text("no captcha service")
    await expect(dialog.get_by_role("alert")).to_have_count(1)
    await shot(projector, "teacher-host-dialog-captcha-projector")
    await captcha.uncheck()

    # Roster mode without a roster: the server's complaint appears in the dialog.
    await dialog.get_by_role("radio", name="Names from a class list").check()
    await start.click()
    await expect(dialog.get_by_role("alert")).to_contain_text("roster")
    await expect(projector).to_have_url(re.compile(r"/quizzes$"))
    assert answers == [422, 422, 422, 422], "every attempt refused: no game was created"
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()


async def test_the_teacher_pages_work_at_200_percent_zoom(
    browser: Browser, browser_problems: BrowserProblems, app_url: str
) -> None:
    """A 1280 px laptop at 200 % zoom lays pages out in 640 CSS pixels: nothing may need
    sideways scrolling, and no input may be under 16 px (phones zoom into those)."""
    context = await _context(
        browser, browser_problems, app_url, viewport={"width": 640, "height": 400}
    )
    try:
        page = await context.new_page()
        for path in ("/register", "/login"):
            await page.goto(path)
            await expect(page.get_by_role("heading", level=1)).to_be_visible()
            await fits_the_screen(page)
            await inputs_are_16px(page)
        await register(page)
        await create_sample_quiz(page)
        await fits_the_screen(page)
        await page.goto("/account")
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        await fits_the_screen(page)
        await inputs_are_16px(page)
        await page.goto("/quizzes")
        await page.get_by_role("button", name="Host").click()
        dialog = page.get_by_role("dialog", name="Host a live game")
        await expect(dialog).to_be_visible()
        await fits_the_screen(page)
        await inputs_are_16px(page)
        # The dialog scrolls within the screen; its buttons stay reachable.
        await expect(dialog.get_by_role("button", name="Start hosting")).to_be_in_viewport()
        await shot(page, "teacher-host-dialog-zoom200")
    finally:
        await context.close()
    browser_problems.assert_none()


async def inputs_are_16px(page: Page) -> None:
    sizes = await page.evaluate(
        "[...document.querySelectorAll('input, select, textarea')]"
        ".filter(el => el.offsetParent !== null)"
        ".map(el => [el.id || el.name || el.type, parseFloat(getComputedStyle(el).fontSize)])"
    )
    small = [(name, size) for name, size in sizes if size < 16]
    assert not small, f"inputs under 16 px: {small}"
