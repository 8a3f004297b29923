"""The web app in Chromium through the project's Caddyfile on Debian's Caddy, two
workers behind it (issue 14 "Through Caddy, in the suite"; issue 13 PIN routing).

A phone opens the join link on Caddy's address, joins by PIN and plays a question
against a host (a python-socketio client, also through Caddy). The page's Socket.IO
requests carry the PIN in the query, and every event of the game, the phone's
included, is handled by one worker (each worker's own /metrics says which).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.async_api import Browser, Page, Playwright, Request, WebSocket, expect

from tests.support.caddy import CaddyFront, events_by_worker, events_since
from tests.support.sockets import Recorder
from tests.support.users import register_user
from tests.web.conftest import PHONE_DEVICE, BrowserProblems, _context, shot
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


async def test_a_phone_joins_by_pin_and_plays_through_caddy(
    phone_via_caddy: Page, caddy_front: CaddyFront
) -> None:
    phone = phone_via_caddy
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

    phone.on("request", record_request)
    phone.on("websocket", record_websocket)

    before = await events_by_worker(caddy_front)
    host = Recorder(f"{caddy_front.url}/?pin={pin}")
    try:
        await host.connect({"host_token": game["host_token"]})
        await host.wait("welcome")
        await join_on_phone(phone, pin, "Ada")
        assert (await host.wait("player_joined"))["player"]["nickname"] == "Ada"

        assert (await host.call("start_game"))["ok"]
        await expect(phone.get_by_role("heading", name="2 + 2?")).to_be_visible()
        await phone.get_by_role("button", name="4", exact=False).filter(has_text="4").click()
        # The only player answered: the question ends by itself (auto_end_question).
        assert (await host.wait("question_ended"))["answered"] == 1
        result = phone.get_by_role("status").filter(has_text="Correct")
        await expect(result).to_be_visible()
        await expect(result).to_contain_text("Rank 1")
        await shot(phone, "proxy-player-result")
    finally:
        await host.close()

    assert socket_queries, "the page opened no Socket.IO connection"
    assert all(query.get("pin") == [pin] for query in socket_queries), socket_queries
    delta = events_since(before, await events_by_worker(caddy_front))
    busy = [i for i, counts in enumerate(delta) if counts]
    assert len(busy) == 1, f"the game's events were handled by workers {busy}: {delta}"
    assert delta[busy[0]].get(("submit_answer", "ok")) == 1, delta
