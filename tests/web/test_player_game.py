"""A whole game of all seven question types on an emulated phone (issue 10, player screen).

The host is a real Socket.IO host client; two more players (real socket clients)
share the game: Bob answers the first question right before the phone (so the
phone is second and sees its gap to the player ahead), Cy never answers (so each
question stays open after the phone answered, and "Answer received" is seen
before the host closes it). Every state is scanned with axe and
photographed (tests/web/artifacts/player-*.png), and every script and stylesheet
the phone loaded during the whole game is added up against the 150 kB budget.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from playwright.async_api import Page, Request, expect

from tests.support.sockets import Recorder
from tests.support.users import ApiUser
from tests.web.player_support import check_state, connect_host, create_game, join_on_phone
from tests.web.test_bundle_size import PLAY_BUDGET_BYTES, compressed_size


async def _close_and_check(host: Recorder, phone: Page, count: int, headline: str) -> None:
    """Host closes the question; the phone shows the outcome with points and rank."""
    ack = await host.call("end_question")
    assert ack["ok"], ack
    await host.wait("question_ended", count=count)
    result = phone.get_by_role("status").filter(has_text=headline)
    await expect(result).to_be_visible()
    await expect(result).to_contain_text("Rank")


async def _next(host: Recorder, phone: Page, text: str) -> None:
    ack = await host.call("next_question")
    assert ack["ok"], ack
    await expect(phone.get_by_role("heading", name=text)).to_be_visible()


async def _answer_received(phone: Page) -> None:
    await expect(phone.get_by_role("status").filter(has_text="Answer received")).to_be_visible()


async def _order_items(phone: Page) -> list[str]:
    rows = phone.locator("[data-order-row]")
    texts = await rows.evaluate_all(
        "rows => rows.map(r => r.querySelector('span.flex-1').textContent.trim())"
    )
    return list(texts)


async def test_a_whole_game_of_every_type_on_a_phone(
    phone: Page, user: ApiUser, base_url: str, web_build: Path
) -> None:
    fetched: set[str] = set()

    def record(request: Request) -> None:
        if request.resource_type in ("script", "stylesheet"):
            fetched.add(urlparse(request.url).path)

    phone.on("request", record)
    game = await create_game(user)
    host = await connect_host(base_url, game)
    bob = Recorder(base_url)
    await bob.connect({"pin": game["pin"], "nickname": "Bob"})
    bob_welcome = await bob.wait("welcome")
    cy = Recorder(base_url)  # never answers: every question stays open until the host ends it
    await cy.connect({"pin": game["pin"], "nickname": "Cy"})
    await cy.wait("welcome")
    try:
        await join_on_phone(phone, game["pin"], "Ada")
        await check_state(phone, "lobby")
        assert (await host.wait("player_joined", count=3))["player"]["nickname"] == "Ada"

        # 1. single: Bob answers right first, so the phone is second and sees the gap.
        assert (await host.call("start_game"))["ok"]
        await expect(phone.get_by_role("heading", name="2 + 2?")).to_be_visible()
        await expect(phone.get_by_role("timer")).to_contain_text("s left")
        await check_state(phone, "question-single")
        started = await bob.wait("question_started")
        four = next(c["id"] for c in started["question"]["choices"] if c["text"] == "4")
        assert (await bob.call("submit_answer", {"question_index": 0, "answer": four}))["ok"]
        button = phone.get_by_role("button", name="4", exact=False).filter(has_text="4")
        box = await button.bounding_box()
        assert box is not None and box["height"] >= 48, box
        await button.click()
        await _answer_received(phone)
        await check_state(phone, "answer-received")
        await _close_and_check(host, phone, 1, "Correct")
        await expect(phone.get_by_role("status")).to_contain_text("Rank 2")
        await expect(phone.get_by_role("status")).to_contain_text("behind the player ahead")
        await check_state(phone, "result-correct")

        # 2. multiple: checkboxes, then Submit answer.
        await _next(host, phone, "Primes?")
        await check_state(phone, "question-multiple")
        await phone.get_by_role("button", name="Submit answer").click()
        await expect(phone.get_by_role("alert")).to_contain_text("Choose at least one answer")
        await phone.get_by_role("checkbox", name="2").check()
        await phone.get_by_role("checkbox", name="3").check()
        await phone.get_by_role("button", name="Submit answer").click()
        await _answer_received(phone)
        await _close_and_check(host, phone, 2, "Correct")
        await expect(phone.get_by_role("status")).to_contain_text("Streak: 2")

        # 3. true_false: answered wrong on purpose.
        await _next(host, phone, "The sky is blue")
        await check_state(phone, "question-true-false")
        await phone.get_by_role("button", name="False").click()
        await _answer_received(phone)
        await _close_and_check(host, phone, 3, "Wrong")
        await check_state(phone, "result-wrong")

        # 4. text: a counter of at most 200 characters.
        await _next(host, phone, "Capital of France?")
        answer = phone.get_by_role("textbox", name="Your answer")
        await answer.fill("x" * 201)
        await expect(phone.get_by_text("201 of 200 characters")).to_be_visible()
        await phone.get_by_role("button", name="Submit answer").click()
        await expect(phone.get_by_role("alert")).to_contain_text("At most 200 characters")
        await answer.fill("Paris")
        await expect(phone.get_by_text("5 of 200 characters")).to_be_visible()
        await check_state(phone, "question-text")
        await phone.get_by_role("button", name="Submit answer").click()
        await _answer_received(phone)
        await _close_and_check(host, phone, 4, "Correct")

        # 5. slider with a number field beside it.
        await _next(host, phone, "Degrees in a right angle")
        slider = phone.get_by_role("slider", name="Your answer")
        await expect(slider).to_have_value("90")
        await slider.fill("120")
        await expect(phone.get_by_role("textbox", name="Exact value")).to_have_value("120")
        await phone.get_by_role("textbox", name="Exact value").fill("90")
        await expect(slider).to_have_value("90")
        await check_state(phone, "question-slider")
        await phone.get_by_role("button", name="Submit answer").click()
        await _answer_received(phone)
        await _close_and_check(host, phone, 5, "Correct")

        # 6. order: one drag, then Move up / Move down into 1, 2, 3.
        await _next(host, phone, "Smallest first")
        await check_state(phone, "question-order")
        before = await _order_items(phone)
        handle = phone.locator("[data-order-row]").nth(2).locator("[aria-hidden=true]").first
        target = phone.locator("[data-order-row]").nth(0)
        hbox, tbox = await handle.bounding_box(), await target.bounding_box()
        assert hbox and tbox
        await phone.mouse.move(hbox["x"] + hbox["width"] / 2, hbox["y"] + hbox["height"] / 2)
        await phone.mouse.down()
        await phone.mouse.move(hbox["x"] + 10, tbox["y"] + tbox["height"] / 2, steps=8)
        await phone.mouse.up()
        dragged = await _order_items(phone)
        assert dragged == [before[2], before[0], before[1]], (before, dragged)
        for position, text in enumerate(["1", "2", "3"]):
            while (await _order_items(phone)).index(text) > position:
                await phone.get_by_role("button", name=f"Move up: {text}").click()
        assert await _order_items(phone) == ["1", "2", "3"]
        await expect(phone.get_by_role("button", name="Move down: 3")).to_be_disabled()
        await phone.get_by_role("button", name="Submit answer").click()
        await _answer_received(phone)
        await _close_and_check(host, phone, 6, "Correct")

        # 7. poll: Thanks, no points.
        await _next(host, phone, "Favourite colour?")
        await check_state(phone, "question-poll")
        await phone.get_by_role("button", name="Blue").click()
        await _answer_received(phone)
        await _close_and_check(host, phone, 7, "Thanks")
        await check_state(phone, "result-poll")

        # The end: final rank, then the player's own results rendered from the REST JSON.
        ack = await host.call("next_question")
        assert ack.get("finished"), ack
        final = phone.get_by_role("status").filter(has_text="Final rank")
        await expect(final).to_be_visible()
        await expect(final).to_contain_text("5 of 7 right")
        await check_state(phone, "final")
        await phone.get_by_role("button", name="My results").click()
        results = phone.get_by_role("region", name="Your answers")
        await expect(results.get_by_role("listitem")).to_have_count(7)
        await expect(results).to_contain_text("✗ Wrong")
        await check_state(phone, "final-results")
        # The server closes the game's sockets a little later; the results stay.
        await phone.wait_for_timeout(500)
        await expect(final).to_be_visible()
        # A reload after the end brings the final screen back (no welcome comes any more).
        await phone.reload()
        await expect(final).to_be_visible()
        await phone.get_by_role("button", name="My results").click()
        await expect(results.get_by_role("listitem")).to_have_count(7)
        # Another phone (nothing stored) is told the game is over.
        await phone.evaluate("localStorage.clear()")
        await phone.reload()
        await expect(phone.get_by_role("alert")).to_contain_text("This game has ended")
        await check_state(phone, "game-over")
    finally:
        await bob.close()
        await cy.close()
        await host.close()
    assert bob_welcome["player"]["nickname"] == "Bob"

    sizes = {path: compressed_size(web_build, path) for path in sorted(fetched)}
    total = sum(sizes.values())
    print(f"/play loaded {total} compressed bytes of JS + CSS during a whole game: {sizes}")
    assert total < PLAY_BUDGET_BYTES, sizes
