"""The presenter screen (/host#token=…) in a real browser against the real server.

The game is created over REST and the players are real python-socketio clients
(tests/support/sockets.py), so each test sees exactly what the server sent to the
projector: the lobby filling up, answers arriving, the reveal of every question
type, the podium; and the presenter's own commands reaching the players (start,
kick, ban, lock).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.quizzes import sample_quiz
from tests.support.sockets import Recorder
from tests.support.users import ApiUser
from tests.web.conftest import PROJECTOR_VIEWPORT, BrowserProblems, _context, axe_scan, shot

# Long enough that no question closes by itself while a test looks at it.
TIME_LIMIT_S = 60

# Per question of sample_quiz(): what the first player (right) and the second (wrong)
# answer, and a text the reveal must show.
ANSWERS: list[tuple[Any, Any, str]] = [
    (1, 0, "Correct answer: 4"),  # single
    ([0, 1], [2], "Correct answer: 2, 3"),  # multiple
    (0, 1, "Correct answer: True"),  # true_false
    ("Paris", "London", "Correct answer: Paris"),  # text
    (90, 150, "Correct answer: 90 ± 2"),  # slider
    ([0, 1, 2], [2, 1, 0], "Correct answer: 1 → 2 → 3"),  # order
    (0, 1, "A poll: there is no right answer."),  # poll
]


def long_quiz(question_count: int | None = None) -> dict[str, Any]:
    quiz = sample_quiz(title="Presenter test")
    for question in quiz["questions"]:
        question["time_limit_s"] = TIME_LIMIT_S
    if question_count is not None:
        quiz["questions"] = quiz["questions"][:question_count]
    return quiz


async def create_game(user: ApiUser, quiz: dict[str, Any], **settings: Any) -> dict[str, Any]:
    status, created = await user.request("POST", "/api/v1/quizzes", json=quiz)
    assert status == 201, created
    body: dict[str, Any] = {"quiz_id": created["id"]}
    if settings:
        body["settings"] = settings
    status, game = await user.request("POST", "/api/v1/games", json=body)
    assert status == 201, game
    return game


def host_link(game: dict[str, Any]) -> str:
    return f"/host#token={game['host_token']}"


class Players:
    """Real Socket.IO players; all closed at the end of the test."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.clients: list[Recorder] = []

    async def join(self, pin: str, nickname: str) -> Recorder:
        player = await Recorder(self.url).connect({"pin": pin, "nickname": nickname})
        await player.wait("welcome")
        self.clients.append(player)
        return player

    async def close(self) -> None:
        for client in self.clients:
            await client.close()


@pytest.fixture
async def players(base_url: str) -> AsyncIterator[Players]:
    crowd = Players(base_url)
    yield crowd
    await crowd.close()


def answered(page: Page) -> Any:
    return page.get_by_role("status").filter(has_text="answered")


async def ranks_kept(page: Page, game_id: str, question_index: int) -> None:
    """Wait until the screen has fetched and kept the ranks of this reveal (its
    get_leaderboard came back): the movement at the next reveal is measured against
    them, so the next press waits for them as a person waits for the standings."""
    await page.wait_for_function(
        """([key, index]) => {
            const kept = JSON.parse(sessionStorage.getItem(key) || '{}');
            return Array.isArray(kept[String(index)]);
        }""",
        arg=[f"cq:host:ranks:{game_id}", question_index],
    )


async def open_lobby(page: Page, game: dict[str, Any]) -> None:
    await page.goto(host_link(game))
    await expect(page.get_by_text(game["pin"], exact=True)).to_be_visible()


async def test_a_whole_game_of_every_type_from_the_presenter_screen(
    projector: Page, user: ApiUser, players: Players, base_url: str
) -> None:
    game = await create_game(user, long_quiz())
    await open_lobby(projector, game)
    # The fragment is read and wiped from the address bar (the token is not on show).
    assert "token" not in projector.url
    qr = projector.get_by_role("img", name=re.compile("QR code"))
    await expect(qr).to_be_visible()
    assert (await qr.get_attribute("src") or "").startswith("data:image/png")
    await expect(projector.get_by_text(f"/play?pin={game['pin']}")).to_be_visible()
    roster = projector.get_by_role("list", name="Players")
    await expect(roster.get_by_role("listitem")).to_have_count(0)
    await axe_scan(projector)
    await shot(projector, "presenter-lobby-empty")

    ada = await players.join(game["pin"], "Ada")
    bob = await players.join(game["pin"], "Bob")
    cy = await players.join(game["pin"], "Cy")
    await expect(roster.get_by_role("listitem")).to_have_count(3)
    await expect(roster).to_contain_text("Ada")
    await expect(projector.get_by_role("status").filter(has_text="players")).to_have_text(
        "3 players"
    )
    # A dropped player's dot goes grey (player_status), and comes back.
    await cy.close()
    await expect(roster.get_by_role("listitem").filter(has_text="Cy")).to_contain_text(
        "not connected"
    )
    token = cy.events["welcome"][0]["player"]["player_token"]
    cy = await Recorder(base_url).connect({"player_token": token})
    players.clients.append(cy)
    await expect(roster.get_by_role("listitem").filter(has_text="Cy")).not_to_contain_text(
        "not connected"
    )
    await axe_scan(projector)
    await shot(projector, "presenter-lobby")

    # Each press waits for the screen to show the state it acts on (as a person would),
    # so the test never sends the presenter's commands faster than a hand does.
    await expect(projector.get_by_role("button", name="Start game")).to_be_enabled()
    await projector.get_by_role("button", name="Start game").click()
    for index, (right, wrong, reveal_text) in enumerate(ANSWERS):
        started = await ada.wait("question_started", count=index + 1)
        question = started["question"]
        assert started["question_index"] == index
        await expect(projector.get_by_role("heading", level=1)).to_have_text(question["text"])
        await expect(projector.get_by_role("timer")).to_be_visible()
        await expect(answered(projector)).to_have_text("0 of 3 answered")
        for choice in question["choices"]:
            await expect(projector.get_by_role("main")).to_contain_text(choice["text"])
        acks = await asyncio.gather(
            ada.call("submit_answer", {"question_index": index, "answer": right}),
            bob.call("submit_answer", {"question_index": index, "answer": wrong}),
        )
        assert all(ack["ok"] for ack in acks), acks
        await expect(answered(projector)).to_have_text("2 of 3 answered")
        await axe_scan(projector)
        await shot(projector, f"presenter-question-{question['type']}")

        await projector.get_by_role("button", name="End question").click()
        leaderboard = projector.get_by_role("list", name="Leaderboard")
        await expect(leaderboard).to_be_visible()
        await expect(projector.get_by_role("main")).to_contain_text(reveal_text)
        await expect(leaderboard.get_by_role("listitem")).to_have_count(3)
        await expect(leaderboard.get_by_role("listitem").first).to_contain_text("Ada")
        distribution = projector.get_by_role("list", name="Answers")
        await expect(distribution).to_be_visible()
        if question["type"] == "text":
            await expect(distribution).to_contain_text("paris")
            await expect(distribution).to_contain_text("london")
        if question["type"] == "order":
            await expect(distribution).to_contain_text("3 → 2 → 1")
        if question["type"] != "poll":
            # The right answer is marked by an icon with a text, not by colour alone.
            await expect(distribution.get_by_text("correct", exact=True).first).to_be_attached()
        if index == 1:
            # Ada stays first, Bob and Cy share the last place: movement since question 1.
            await expect(leaderboard.get_by_role("listitem").first).to_contain_text("same place")
        await axe_scan(projector)
        await shot(projector, f"presenter-reveal-{question['type']}")
        await ranks_kept(projector, game["game_id"], index)
        await projector.get_by_role("button", name="Next question").click()

    # After the last question, Next question finished the game.
    await expect(projector.get_by_role("heading", name="Podium")).to_be_visible()
    finished = await ada.wait("game_finished")
    results = projector.get_by_role("link", name="Results")
    await expect(results).to_have_attribute("href", f"/results/{finished['game_id']}")
    podium = projector.get_by_role("list", name="Podium")
    await expect(podium.get_by_role("listitem")).to_have_count(3)
    await expect(podium).to_contain_text("Ada")
    await axe_scan(projector)
    await shot(projector, "presenter-podium")


async def test_a_reload_mid_question_takes_over_with_the_server_deadline(
    projector: Page, user: ApiUser, players: Players
) -> None:
    # The projector's clock is ten minutes fast: only the measured offset gives the
    # right countdown (a local clock or a local one-second timer would not).
    await projector.add_init_script(
        "(() => { const real = Date.now.bind(Date); Date.now = () => real() + 600000; })()"
    )
    game = await create_game(user, long_quiz(2))
    await open_lobby(projector, game)
    ada = await players.join(game["pin"], "Ada")
    await expect(
        projector.get_by_role("list", name="Players").get_by_role("listitem")
    ).to_have_count(1)
    await projector.get_by_role("button", name="Start game").click()
    started = await ada.wait("question_started")
    deadline_ms = started["deadline_at_ms"]

    async def assert_timer_matches_the_deadline() -> None:
        timer = projector.get_by_role("timer")
        await expect(timer).to_be_visible()
        shown = int((await timer.inner_text()).strip())
        expected = math.ceil((deadline_ms - time.time() * 1000) / 1000)
        assert abs(shown - expected) <= 2, (shown, expected)

    await assert_timer_matches_the_deadline()
    await asyncio.sleep(3)
    await projector.reload()
    await expect(projector.get_by_role("heading", level=1)).to_have_text(
        started["question"]["text"]
    )
    # Not restarted at the full time: still counting to the server's deadline.
    await assert_timer_matches_the_deadline()
    assert int(await projector.get_by_role("timer").inner_text()) <= TIME_LIMIT_S - 3
    # The reloaded screen is the host: it gets the game's events, and its commands count.
    await ada.call("submit_answer", {"question_index": 0, "answer": 1})  # all answered: closes
    await expect(projector.get_by_role("list", name="Leaderboard")).to_contain_text("Ada")
    # A reload during the reveal shows the current standings and can go on.
    await projector.reload()
    await expect(projector.get_by_role("list", name="Leaderboard")).to_contain_text("Ada")
    await axe_scan(projector)
    await projector.get_by_role("button", name="Next question").click()
    assert (await ada.wait("question_started", count=2))["question_index"] == 1
    await shot(projector, "presenter-reloaded-reveal")


async def test_the_link_on_another_device_takes_over_and_can_be_taken_back(
    projector: Page,
    user: ApiUser,
    browser: Browser,
    browser_problems: BrowserProblems,
    app_url: str,
) -> None:
    game = await create_game(user, long_quiz(2))
    await open_lobby(projector, game)
    other_device = await _context(browser, browser_problems, app_url, viewport=PROJECTOR_VIEWPORT)
    try:
        laptop = await other_device.new_page()
        await open_lobby(laptop, game)
        alert = projector.get_by_role("alert")
        await expect(alert).to_contain_text("open on another device")
        await axe_scan(projector)
        await shot(projector, "presenter-replaced")
        # The old screen can no longer start the game: its controls are inert.
        start = projector.get_by_role("button", name="Start game")
        assert await start.evaluate("el => el.closest('[inert]') !== null")
        await projector.keyboard.press("Space")
        await projector.get_by_role("button", name="Use here").click()
        await expect(laptop.get_by_role("alert")).to_contain_text("open on another device")
        await expect(projector.get_by_role("alert")).to_have_count(0)
        # The screen that took it back is the host again (and Space above started nothing).
        await expect(projector.get_by_role("heading", level=1)).to_contain_text("Join at")
        await projector.get_by_role("button", name="Start game").click()
        await expect(projector.get_by_role("timer")).to_be_visible()
    finally:
        await other_device.close()


async def test_kick_and_kick_and_ban_through_the_dialog(
    projector: Page, user: ApiUser, players: Players, base_url: str
) -> None:
    game = await create_game(user, long_quiz(2))
    await open_lobby(projector, game)
    ada = await players.join(game["pin"], "Ada")
    bob = await players.join(game["pin"], "Bob")
    roster = projector.get_by_role("list", name="Players")
    await expect(roster.get_by_role("listitem")).to_have_count(2)

    # Cancel changes nothing and gives the focus back.
    await roster.get_by_role("button", name="Kick Ada").click()
    dialog = projector.get_by_role("dialog")
    await expect(dialog).to_contain_text("Remove Ada")
    for name in ("Kick", "Kick and ban", "Cancel"):
        await expect(dialog.get_by_role("button", name=name, exact=True)).to_be_visible()
    await axe_scan(projector)
    await shot(projector, "presenter-kick-dialog")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_have_count(0)
    await expect(roster.get_by_role("button", name="Kick Ada")).to_be_focused()
    await expect(roster.get_by_role("listitem")).to_have_count(2)

    await roster.get_by_role("button", name="Kick Ada").click()
    await dialog.get_by_role("button", name="Kick", exact=True).click()
    assert await ada.wait("kicked") == {"reason": "kicked"}
    await expect(roster.get_by_role("listitem")).to_have_count(1)
    await expect(roster).not_to_contain_text("Ada")
    # A plain kick lets the person join again.
    await players.join(game["pin"], "Ada")
    await expect(roster.get_by_role("listitem")).to_have_count(2)

    await roster.get_by_role("button", name="Kick Bob").click()
    await dialog.get_by_role("button", name="Kick and ban").click()
    assert await bob.wait("kicked") == {"reason": "banned"}
    await expect(roster).not_to_contain_text("Bob")
    refusal = await Recorder(base_url).try_connect({"pin": game["pin"], "nickname": "Bob"})
    assert refusal is not None and refusal["code"] == "banned", refusal


async def test_lock_and_unlock_the_game(
    projector: Page, user: ApiUser, players: Players, base_url: str
) -> None:
    game = await create_game(user, long_quiz(2))
    await open_lobby(projector, game)
    await projector.get_by_role("button", name="Lock game").click()
    await expect(projector.get_by_role("button", name="Unlock game")).to_be_visible()
    refusal = await Recorder(base_url).try_connect({"pin": game["pin"], "nickname": "Late"})
    assert refusal is not None and refusal["code"] == "game_locked", refusal
    await shot(projector, "presenter-lobby-locked")
    # A reload still knows the game is locked.
    await projector.reload()
    await expect(projector.get_by_role("button", name="Unlock game")).to_be_visible()
    await projector.get_by_role("button", name="Unlock game").click()
    await expect(projector.get_by_role("button", name="Lock game")).to_be_visible()
    await players.join(game["pin"], "Late")
    await expect(projector.get_by_role("list", name="Players")).to_contain_text("Late")


async def test_a_command_refused_for_coming_too_fast_is_sent_again_once(
    projector: Page, user: ApiUser, players: Players, base_url: str
) -> None:
    """More than 10 commands in one second (SPEC §5): the one past the limit is refused
    `rate_limited` without effect; the screen sends it again after the window and the
    person sees no error. The lock presses that did get through are not sent again."""
    game = await create_game(user, long_quiz(2))
    await open_lobby(projector, game)
    ada = await players.join(game["pin"], "Ada")
    await expect(projector.get_by_role("list", name="Players")).to_contain_text("Ada")
    start = projector.get_by_role("button", name="Start game")
    await expect(start).to_be_enabled()
    # Ten presses of Lock game and then Start game, all in one turn of the page: eleven
    # events within a few milliseconds, so the server refuses the start.
    await projector.evaluate(
        """() => {
            const buttons = [...document.querySelectorAll('button')];
            const lock = buttons.find((b) => b.textContent.trim() === 'Lock game');
            const start = buttons.find((b) => b.textContent.trim() === 'Start game');
            for (let i = 0; i < 10; i++) lock.click();
            start.click();
        }"""
    )
    # The retried start is what starts the game (only once: one question_started).
    started = await ada.wait("question_started")
    assert started["question_index"] == 0
    await expect(projector.get_by_role("timer")).to_be_visible()
    await expect(projector.get_by_role("button", name="End question")).to_be_enabled()
    await expect(projector.get_by_role("alert")).to_have_count(0)
    assert len(ada.events["question_started"]) == 1
    # The lock held (set by the presses that got through).
    refusal = await Recorder(base_url).try_connect({"pin": game["pin"], "nickname": "Late"})
    assert refusal is not None and refusal["code"] == "game_locked", refusal


async def test_space_and_enter_move_the_game_on(
    projector: Page, user: ApiUser, players: Players
) -> None:
    game = await create_game(user, long_quiz(2))
    await open_lobby(projector, game)
    ada = await players.join(game["pin"], "Ada")
    await expect(projector.get_by_role("list", name="Players")).to_contain_text("Ada")
    await projector.keyboard.press("Space")  # lobby → question 1
    await ada.wait("question_started")
    await expect(projector.get_by_role("timer")).to_be_visible()
    await projector.keyboard.press("Enter")  # end question 1
    await ada.wait("question_ended")
    await expect(projector.get_by_role("list", name="Leaderboard")).to_be_visible()
    await projector.keyboard.press("Space")  # question 2
    await ada.wait("question_started", count=2)
    await expect(projector.get_by_role("heading", level=1)).to_have_text("Primes?")
    await projector.keyboard.press("Space")  # end question 2
    await ada.wait("question_ended", count=2)
    await expect(projector.get_by_role("list", name="Leaderboard")).to_be_visible()
    await projector.keyboard.press("Enter")  # after the last: the podium
    await expect(projector.get_by_role("heading", name="Podium")).to_be_visible()
    await expect(projector.locator("canvas")).to_have_count(1)  # confetti
    await ada.wait("game_finished")
    # F asks for full screen (and again leaves it).
    await projector.keyboard.press("f")
    await projector.wait_for_function("!!document.fullscreenElement", timeout=5000)
    await projector.keyboard.press("f")
    await projector.wait_for_function("!document.fullscreenElement", timeout=5000)


async def test_end_game_at_any_time_and_the_small_projector(
    browser: Browser,
    browser_problems: BrowserProblems,
    app_url: str,
    user: ApiUser,
    players: Players,
) -> None:
    # 1280×720, the other common projector: nothing wider than the screen. This computer
    # asks for reduced motion: no confetti.
    context = await _context(
        browser,
        browser_problems,
        app_url,
        viewport={"width": 1280, "height": 720},
        reduced_motion="reduce",
    )
    try:
        page = await context.new_page()
        game = await create_game(user, long_quiz(2))
        await open_lobby(page, game)
        ada = await players.join(game["pin"], "Ada")
        await expect(page.get_by_role("list", name="Players")).to_contain_text("Ada")
        await shot(page, "presenter-lobby-720p")
        await page.get_by_role("button", name="Start game").click()
        await ada.wait("question_started")
        await expect(page.get_by_role("timer")).to_be_visible()
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1280, width
        await shot(page, "presenter-question-720p")
        await page.get_by_role("button", name="End game").click()
        await expect(page.get_by_role("heading", name="Podium")).to_be_visible()
        assert (await ada.wait("game_finished"))["game_id"] == game["game_id"]
        await page.wait_for_timeout(500)
        assert await page.locator("canvas").count() == 0
        await shot(page, "presenter-podium-720p")
        # A finished game's screen says so on a reload (the server refuses: game_over).
        await page.reload()
        await expect(page.get_by_role("alert")).to_have_text("This game has ended.")
        await axe_scan(page)
    finally:
        await context.close()


async def test_without_a_token_the_screen_explains_where_to_start(
    projector: Page, user: ApiUser
) -> None:
    game = await create_game(user, long_quiz(2))
    await projector.goto("/host")
    await expect(projector.get_by_role("heading", level=1)).to_have_text("Presenter screen")
    await expect(projector.get_by_role("main")).to_contain_text("/host#token=")
    await axe_scan(projector)
    # Pasting a presenter link into this tab changes only the fragment: it is picked up.
    await projector.goto(host_link(game))
    await expect(projector.get_by_text(game["pin"], exact=True)).to_be_visible()
    assert "token" not in projector.url


async def test_the_german_presenter_screen(
    projector: Page, user: ApiUser, players: Players
) -> None:
    await projector.add_init_script("localStorage.setItem('cq:language', 'de')")
    game = await create_game(user, long_quiz(2))
    await open_lobby(projector, game)
    await players.join(game["pin"], "Ada")
    await expect(projector.get_by_role("button", name="Spiel starten")).to_be_visible()
    await expect(projector.get_by_role("list", name="Spielende")).to_contain_text("Ada")
    await axe_scan(projector)
    await shot(projector, "presenter-lobby-de")
