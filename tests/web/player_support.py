"""Helpers for the player-screen browser tests (tests/web/test_player_*.py).

The presenter screen is written in parallel, so the host side here is a real
python-socketio host client (tests/support/sockets.py) driving the real server, and
games are created over the real REST API.
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from tests.support.quizzes import sample_quiz
from tests.support.sockets import Recorder
from tests.support.users import ApiUser
from tests.web.conftest import axe_scan, shot


async def create_game(
    user: ApiUser, quiz: dict[str, Any] | None = None, **settings: Any
) -> dict[str, Any]:
    """A new game of `quiz` (default: every question type once) with these settings."""
    status, created = await user.request("POST", "/api/v1/quizzes", json=quiz or sample_quiz())
    assert status == 201, created
    status, game = await user.request(
        "POST", "/api/v1/games", json={"quiz_id": created["id"], "settings": settings}
    )
    assert status == 201, game
    return game


async def connect_host(base_url: str, game: dict[str, Any]) -> Recorder:
    host = Recorder(base_url)
    await host.connect({"host_token": game["host_token"]})
    await host.wait("welcome")
    return host


async def join_on_phone(page: Page, pin: str, nickname: str, password: str | None = None) -> None:
    """Open the QR code's link and join with a nickname (and password)."""
    await page.goto(f"/play?pin={pin}")
    await page.get_by_role("textbox", name="Nickname").fill(nickname)
    if password is not None:
        await page.get_by_role("textbox", name="Game password").fill(password)
    await page.get_by_role("button", name="Join").click()
    await expect(page.get_by_text("You're in!")).to_be_visible()


async def check_state(page: Page, name: str) -> None:
    """Every player state: no serious axe violation, nothing wider than the phone, a screenshot."""
    await axe_scan(page)
    viewport = page.viewport_size
    assert viewport is not None
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"{name}: {width} px wide on {viewport['width']}"
    await shot(page, f"player-{name}")
