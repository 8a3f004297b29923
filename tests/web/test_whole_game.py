"""A whole live game from browsers alone (issue 10's "done when"): a teacher signs up
in a browser, creates the sample quiz of all seven types with one click, hosts it
through the Host dialog and runs it from the presenter screen; three players join
from the join link /play?pin=… in their own browsers (one an emulated phone) and
answer every question through the UI, by the accessible names of ../shared/UI.md.
The presenter ends each question and moves on, to the podium and the Results link;
every player sees their final rank. Finally PostgreSQL must hold every answer that
was given exactly once, with the value given and the right verdict."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg2
from playwright.async_api import Browser, Page, expect

from tests.web.conftest import BrowserProblems, _context, axe_scan, shot
from tests.web.teacher_flows import create_sample_quiz, register

Answer = Callable[[Page], Awaitable[None]]


def choose(text: str) -> Answer:
    """single, true_false, poll: the choice's button sends the answer."""

    async def act(page: Page) -> None:
        await page.get_by_role("button", name=text).click()

    return act


def tick(*texts: str) -> Answer:
    """multiple: a checkbox per choice, then Submit answer."""

    async def act(page: Page) -> None:
        for text in texts:
            await page.get_by_role(
                "checkbox", name=re.compile(rf"(^|\W){re.escape(text)}$")
            ).check()
        await page.get_by_role("button", name="Submit answer").click()

    return act


def type_answer(text: str) -> Answer:
    async def act(page: Page) -> None:
        await page.get_by_role("textbox", name="Your answer").fill(text)
        await page.get_by_role("button", name="Submit answer").click()

    return act


def slide(value: int) -> Answer:
    """slider: the number field beside the slider, then Submit answer."""

    async def act(page: Page) -> None:
        await expect(page.get_by_role("slider", name="Your answer")).to_be_visible()
        await page.get_by_role("textbox", name="Exact value").fill(str(value))
        await expect(page.get_by_role("slider", name="Your answer")).to_have_value(str(value))
        await page.get_by_role("button", name="Submit answer").click()

    return act


async def order_shown(page: Page) -> list[str]:
    """The order items top to bottom, read from their Move up buttons' names."""
    buttons = page.get_by_role("button", name=re.compile(r"^Move up: "))
    names = [await b.get_attribute("aria-label") or "" for b in await buttons.all()]
    return [name.removeprefix("Move up: ") for name in names]


def arrange(*wanted: str) -> Answer:
    """order: Move up each item into place, then Submit answer."""

    async def act(page: Page) -> None:
        for position, text in enumerate(wanted):
            while (await order_shown(page)).index(text) > position:
                await page.get_by_role("button", name=f"Move up: {text}", exact=True).click()
        assert await order_shown(page) == list(wanted)
        await page.get_by_role("button", name="Submit answer").click()

    return act


PLAYERS = ("Ada", "Bob", "Cy")
# The sample quiz (web/src/lib/teacher/sample.ts, English): per question its text, each
# player's answer through the UI, the verdict each must see, and the value that must
# be stored for text and slider answers (choice answers are stored as choice ids).
GAME: list[tuple[str, dict[str, Answer], dict[str, str], dict[str, Any]]] = [
    (
        "Which planet is known as the red planet?",
        {"Ada": choose("Mars"), "Bob": choose("Venus"), "Cy": choose("Mars")},
        {"Ada": "Correct", "Bob": "Wrong", "Cy": "Correct"},
        {},
    ),
    (
        "Which of these numbers are prime?",
        {"Ada": tick("2", "3"), "Bob": tick("2"), "Cy": tick("3", "2")},
        {"Ada": "Correct", "Bob": "Wrong", "Cy": "Correct"},
        {},
    ),
    (
        "At sea level, water boils at 100 °C.",
        {"Ada": choose("True"), "Bob": choose("False"), "Cy": choose("False")},
        {"Ada": "Correct", "Bob": "Wrong", "Cy": "Wrong"},
        {},
    ),
    (
        "What is the capital of France?",
        {"Ada": type_answer("Paris"), "Bob": type_answer("London"), "Cy": type_answer("Paris")},
        {"Ada": "Correct", "Bob": "Wrong", "Cy": "Correct"},
        {"Ada": "Paris", "Bob": "London", "Cy": "Paris"},
    ),
    (
        "How many degrees are in a right angle?",
        {"Ada": slide(90), "Bob": slide(150), "Cy": slide(93)},  # 93: within the tolerance of 5
        {"Ada": "Correct", "Bob": "Wrong", "Cy": "Correct"},
        {"Ada": 90, "Bob": 150, "Cy": 93},
    ),
    (
        "Put these numbers in order, smallest first.",
        {
            "Ada": arrange("1", "5", "10", "50"),
            "Bob": arrange("50", "10", "5", "1"),
            "Cy": arrange("1", "5", "10", "50"),
        },
        {"Ada": "Correct", "Bob": "Wrong", "Cy": "Correct"},
        {},
    ),
    (
        "How did you like this quiz?",
        {"Ada": choose("A lot"), "Bob": choose("It was OK"), "Cy": choose("Not much")},
        {"Ada": "Thanks", "Bob": "Thanks", "Cy": "Thanks"},
        {},
    ),
]
# Ada is right every time and answers first; Cy is right five times; Bob never.
FINAL = {"Ada": (1, "6 of 7 right"), "Cy": (2, "5 of 7 right"), "Bob": (3, "0 of 7 right")}


def stored_answers(database_url: str, game_id: str) -> list[tuple[str, int, Any, bool | None]]:
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT p.nickname, a.question_index, a.answer, a.correct"
                " FROM game_answers a JOIN game_players p ON p.id = a.player_id"
                " WHERE a.game_id = %s ORDER BY a.question_index, p.nickname",
                (game_id,),
            )
            return [
                (
                    nick,
                    qi,
                    (answer if isinstance(answer, dict) else json.loads(answer))["value"],
                    ok,
                )
                for nick, qi, answer, ok in cur.fetchall()
            ]
    finally:
        conn.close()


async def wait_for_stored(database_url: str, game_id: str, rows: int) -> list[Any]:
    """The stored answers once the game's results are written (a background pass)."""
    deadline = time.monotonic() + 30
    while True:
        found = await asyncio.to_thread(stored_answers, database_url, game_id)
        if len(found) >= rows or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.5)


async def test_a_whole_game_from_browsers_alone(
    browser: Browser,
    browser_problems: BrowserProblems,
    app_url: str,
    projector: Page,
    phone: Page,
    storage: dict[str, str],
) -> None:
    # The teacher: sign up, the sample quiz, the Host dialog (the presenter ends each
    # question, so every player's answer is seen arriving first).
    await register(projector)
    await create_sample_quiz(projector)
    await projector.get_by_role("button", name="Host").click()
    dialog = projector.get_by_role("dialog", name="Host a live game")
    await dialog.get_by_role("checkbox", name="End a question as soon as").uncheck()
    await dialog.get_by_role("button", name="Start hosting").click()
    await expect(projector).to_have_url(re.compile(r"/host"))
    await expect(projector.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    join_text = await projector.get_by_text(re.compile(r"/play\?pin=\d{6}$")).inner_text()
    join_path = join_text[join_text.index("/play?pin=") :]
    pin = join_path.removeprefix("/play?pin=")
    await expect(projector.get_by_text(pin, exact=True)).to_be_visible()

    # The players: a phone, a laptop and a tablet, each its own browser.
    laptop_context = await _context(
        browser, browser_problems, app_url, viewport={"width": 1280, "height": 800}
    )
    tablet_context = await _context(
        browser, browser_problems, app_url, viewport={"width": 820, "height": 1180}, has_touch=True
    )
    try:
        pages = {
            "Ada": phone,
            "Bob": await laptop_context.new_page(),
            "Cy": await tablet_context.new_page(),
        }
        roster = projector.get_by_role("list", name="Players")
        for count, (nickname, page) in enumerate(pages.items(), start=1):
            await page.goto(join_path)
            await page.get_by_role("textbox", name="Nickname").fill(nickname)
            await page.get_by_role("button", name="Join").click()
            await expect(page.get_by_text("You're in!")).to_be_visible()
            await expect(roster.get_by_role("listitem")).to_have_count(count)
            await expect(roster).to_contain_text(nickname)
        await shot(projector, "whole-game-lobby")

        await projector.get_by_role("button", name="Start game").click()
        answered = projector.get_by_role("status").filter(has_text="answered")
        for index, (text, answers, verdicts, _) in enumerate(GAME):
            await expect(projector.get_by_role("heading", level=1)).to_have_text(text)
            await expect(projector.get_by_role("timer")).to_be_visible()
            for done, nickname in enumerate(PLAYERS, start=1):
                page = pages[nickname]
                await expect(page.get_by_role("heading", name=text)).to_be_visible()
                await answers[nickname](page)
                received = page.get_by_role("status").filter(has_text="Answer received")
                await expect(received).to_be_visible()
                await expect(answered).to_have_text(f"{done} of 3 answered")
            if index == 0:
                await axe_scan(phone)
                await shot(phone, "whole-game-phone-answered")

            await projector.get_by_role("button", name="End question").click()
            await expect(projector.get_by_role("list", name="Leaderboard")).to_be_visible()
            for nickname, verdict in verdicts.items():
                outcome = pages[nickname].get_by_role("status").filter(has_text=verdict)
                await expect(outcome).to_be_visible()
            await shot(projector, f"whole-game-reveal-{index + 1}")
            await projector.get_by_role("button", name="Next question").click()

        # After the last question, Next question finished the game.
        await expect(projector.get_by_role("heading", name="Podium")).to_be_visible()
        results = projector.get_by_role("link", name="Results")
        href = await results.get_attribute("href") or ""
        match = re.fullmatch(r"/results/([0-9a-f-]{36})", href)
        assert match, href
        game_id = match.group(1)
        podium = projector.get_by_role("list", name="Podium")
        for nickname, (rank, _) in FINAL.items():
            place = podium.get_by_role("listitem").filter(has_text=nickname)
            await expect(place).to_contain_text(f"Place {rank}")
        await axe_scan(projector)
        await shot(projector, "whole-game-podium")
        for nickname, (rank, right) in FINAL.items():
            final = pages[nickname].get_by_role("status").filter(has_text="Final rank")
            await expect(final).to_contain_text(f"Final rank: {rank}")
            await expect(final).to_contain_text(right)
        await axe_scan(phone)
        await shot(phone, "whole-game-phone-final")
    finally:
        await laptop_context.close()
        await tablet_context.close()

    # Every answer given is stored exactly once, as given, with its verdict.
    rows = await wait_for_stored(storage["database_url"], game_id, len(PLAYERS) * len(GAME))
    keys = [(nickname, index) for nickname, index, _, _ in rows]
    assert len(keys) == len(set(keys)), "an answer was stored twice"
    assert sorted(keys) == sorted((n, i) for n in PLAYERS for i in range(len(GAME)))
    for nickname, index, value, correct in rows:
        verdict = GAME[index][2][nickname]
        expected = None if verdict == "Thanks" else verdict == "Correct"
        assert correct == expected, (nickname, index, value, correct)
        if nickname in GAME[index][3]:
            assert value == GAME[index][3][nickname], (nickname, index, value)
