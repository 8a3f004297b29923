"""The web app in Chromium through the project's Caddyfile on Debian's Caddy, two
workers behind it (issue 14 "Through Caddy, in the suite"; issue 13 PIN routing).

The presenter screen opens the link the host dialog makes (`/host#token=…&pin=…`)
on Caddy's address; a phone joins by PIN and plays a question. Both pages' Socket.IO
requests carry the PIN in the query (the presenter's first connection included), and
every event of the game, the presenter's and the phone's, is handled by one worker
(each worker's own /metrics says which).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.async_api import Browser, Page, Playwright, Request, WebSocket, expect

from tests.support.caddy import CaddyFront, events_by_worker, events_since
from tests.support.users import register_user
from tests.web.conftest import PHONE_DEVICE, PROJECTOR_VIEWPORT, BrowserProblems, _context, shot
from tests.web.player_support import create_game, join_on_phone


@pytest.fixture
async def phone_via_caddy(
    playwright: Playwright,
    browser: Browser,
    browser_problems: BrowserProblems,
    caddy_front: CaddyFront,
    web_build: Path,
) -> AsyncIterator[Page]:
    """An emulated phone whose base URL is Caddy's."""
    device = dict(playwright.devices[PHONE_DEVICE])
    device.pop("default_browser_type", None)
    context = await _context(browser, browser_problems, caddy_front.url, **device)
    yield await context.new_page()
    await context.close()
    browser_problems.assert_none()


@pytest.fixture
async def projector_via_caddy(
    browser: Browser, browser_problems: BrowserProblems, caddy_front: CaddyFront, web_build: Path
) -> AsyncIterator[Page]:
    """The presenter's big screen, on Caddy's address."""
    context = await _context(
        browser, browser_problems, caddy_front.url, viewport=PROJECTOR_VIEWPORT
    )
    yield await context.new_page()
    await context.close()


async def test_presenter_and_phone_play_a_question_through_caddy(
    phone_via_caddy: Page, projector_via_caddy: Page, caddy_front: CaddyFront
) -> None:
    phone, projector = phone_via_caddy, projector_via_caddy
    assert caddy_front.http is not None
    owner = await register_user(caddy_front.http)
    game = await create_game(owner)
    pin = game["pin"]

    socket_queries: list[dict[str, list[str]]] = []

    def record_request(request: Request) -> None:
        if "/socket.io/" in request.url:
            socket_queries.append(parse_qs(urlparse(request.url).query))

    def record_websocket(ws: WebSocket) -> None:
        socket_queries.append(parse_qs(urlparse(ws.url).query))

    for page in (phone, projector):
        page.on("request", record_request)
        page.on("websocket", record_websocket)

    before = await events_by_worker(caddy_front)
    # The link HostDialog opens after creating the game.
    await projector.goto(f"/host#token={game['host_token']}&pin={pin}")
    await expect(projector.get_by_text(pin, exact=True)).to_be_visible()
    await join_on_phone(phone, pin, "Ada")
    roster = projector.get_by_role("list", name="Players")
    await expect(roster.get_by_role("listitem")).to_have_count(1)

    await expect(projector.get_by_role("button", name="Start game")).to_be_enabled()
    await projector.get_by_role("button", name="Start game").click()
    await expect(phone.get_by_role("heading", name="2 + 2?")).to_be_visible()
    await phone.get_by_role("button", name="4", exact=False).filter(has_text="4").click()
    # The only player answered: the question ends by itself (auto_end_question).
    result = phone.get_by_role("status").filter(has_text="Correct")
    await expect(result).to_be_visible()
    await expect(result).to_contain_text("Rank 1")
    await expect(projector.get_by_role("list", name="Leaderboard")).to_contain_text("Ada")
    await shot(phone, "proxy-player-result")
    await shot(projector, "proxy-presenter-reveal")

    assert socket_queries, "the page opened no Socket.IO connection"
    assert all(query.get("pin") == [pin] for query in socket_queries), socket_queries
    delta = events_since(before, await events_by_worker(caddy_front))
    busy = [i for i, counts in enumerate(delta) if counts]
    assert len(busy) == 1, f"the game's events were handled by workers {busy}: {delta}"
    assert delta[busy[0]].get(("submit_answer", "ok")) == 1, delta
    assert delta[busy[0]].get(("start_game", "ok")) == 1, delta
