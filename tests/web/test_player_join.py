"""Joining on the player screen: the PIN step, a wrong password, a roster game,
generated names with "Another name", and the screen at 200 % zoom (issue 10).
Real server, real browser; the host is a real Socket.IO client."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from tests.support.quizzes import sample_quiz
from tests.support.sockets import Recorder
from tests.support.users import ApiUser
from tests.web.conftest import BrowserProblems
from tests.web.player_support import check_state, connect_host, create_game, join_on_phone


async def test_the_pin_step_then_an_unknown_pin_is_explained(phone: Page, user: ApiUser) -> None:
    game = await create_game(user)
    await phone.goto("/play")
    await check_state(phone, "pin")
    pin = phone.get_by_role("textbox", name="Game PIN")
    await pin.fill("12345")
    await phone.get_by_role("button", name="Next").click()
    await expect(phone.get_by_role("alert")).to_contain_text("exactly 6 digits")
    # A PIN that no game has (the real one with its digits rotated; PINs are unique).
    wrong = game["pin"][1:] + game["pin"][0]
    if wrong != game["pin"]:
        await pin.fill(wrong)
        await phone.get_by_role("button", name="Next").click()
        await expect(phone.get_by_role("alert")).to_contain_text("no game with this PIN")
    await pin.fill(game["pin"][:3] + " " + game["pin"][3:])
    await phone.get_by_role("button", name="Next").click()
    await expect(phone.get_by_role("textbox", name="Nickname")).to_be_visible()
    await expect(phone).to_have_url(re.compile(rf"/play\?pin={game['pin']}$"))
    await expect(phone.get_by_role("textbox", name="Game password")).to_have_count(0)
    # Inputs of 16 px or more, so phones do not zoom.
    size = await phone.get_by_role("textbox", name="Nickname").evaluate(
        "el => parseFloat(getComputedStyle(el).fontSize)"
    )
    assert size >= 16


async def test_a_wrong_password_is_refused_then_the_right_one_joins(
    phone: Page, user: ApiUser, base_url: str
) -> None:
    game = await create_game(user, password="sesame")
    host = await connect_host(base_url, game)
    try:
        await phone.goto(f"/play?pin={game['pin']}")
        await phone.get_by_role("textbox", name="Nickname").fill("Ada")
        await phone.get_by_role("textbox", name="Game password").fill("wrong")
        await phone.get_by_role("button", name="Join").click()
        await expect(phone.get_by_role("alert")).to_contain_text("Wrong password")
        await check_state(phone, "wrong-password")
        assert not host.events["player_joined"]
        await phone.get_by_role("textbox", name="Game password").fill("sesame")
        await phone.get_by_role("button", name="Join").click()
        await expect(phone.get_by_text("You're in!")).to_be_visible()
        await expect(phone.get_by_role("alert")).to_have_count(0)
        assert (await host.wait("player_joined"))["player"]["nickname"] == "Ada"
    finally:
        await host.close()


async def test_a_roster_game_takes_only_names_from_the_class_list(
    phone: Page, user: ApiUser, base_url: str
) -> None:
    # The teacher turned the picker off: the phone asks to type the name.
    game = await create_game(
        user,
        nicknames={
            "mode": "roster",
            "roster": ["Ada Lovelace", "Alan Turing"],
            "roster_picker": False,
        },
    )
    host = await connect_host(base_url, game)
    try:
        await phone.goto(f"/play?pin={game['pin']}")
        await expect(phone.get_by_text("exactly as it is on the class list")).to_be_visible()
        await expect(phone.get_by_role("radio")).to_have_count(0)
        await phone.get_by_role("textbox", name="Nickname").fill("Bob")
        await phone.get_by_role("button", name="Join").click()
        await expect(phone.get_by_role("alert")).to_contain_text("not on the class list")
        await check_state(phone, "roster-refused")
        await phone.get_by_role("textbox", name="Nickname").fill("Ada Lovelace")
        await phone.get_by_role("button", name="Join").click()
        await expect(phone.get_by_text("You're in!")).to_be_visible()
        joined = await host.wait("player_joined")
        assert joined["player"]["nickname"] == "Ada Lovelace"
    finally:
        await host.close()


async def test_generated_names_with_another_name(phone: Page, user: ApiUser, base_url: str) -> None:
    game = await create_game(user, nicknames={"mode": "generated"})
    host = await connect_host(base_url, game)
    try:
        await phone.goto(f"/play?pin={game['pin']}")
        await expect(phone.get_by_role("textbox", name="Nickname")).to_have_count(0)
        await phone.get_by_role("button", name="Join").click()
        await expect(phone.get_by_text("You're in!")).to_be_visible()
        first = (await host.wait("player_joined"))["player"]["nickname"]
        name = phone.locator("main p.text-3xl")
        await expect(name).to_have_text(first)
        await check_state(phone, "generated-lobby")
        await phone.get_by_role("button", name="Another name").click()
        renamed = (await host.wait("player_renamed"))["player"]["nickname"]
        assert renamed != first
        await expect(name).to_have_text(renamed)
        # The server allows a few draws; after that the phone says this name stays.
        for _ in range(5):
            if await phone.get_by_role("alert").count():
                break
            await phone.get_by_role("button", name="Another name").click()
            await phone.wait_for_timeout(200)
        await expect(phone.get_by_role("alert")).to_contain_text("this one is yours")
        current = await name.text_content()
        assert current == host.events["player_renamed"][-1]["player"]["nickname"]
    finally:
        await host.close()


async def test_usable_at_200_percent_zoom(
    browser: Browser, browser_problems: BrowserProblems, app_url: str, user: ApiUser, base_url: str
) -> None:
    """200 % zoom on a phone halves its width in CSS pixels: the widest screens (order,
    slider) must still fit without sideways scrolling, and stay accessible."""
    order = sample_quiz()["questions"][5]
    slider = sample_quiz()["questions"][4]
    game = await create_game(user, sample_quiz(questions=[order, slider]))
    host = await connect_host(base_url, game)
    other = Recorder(base_url)  # keeps each question open
    await other.connect({"pin": game["pin"], "nickname": "Cy"})
    context = await browser.new_context(
        base_url=app_url,
        locale="en-US",
        viewport={"width": 206, "height": 457},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    browser_problems.watch(context)
    try:
        page = await context.new_page()
        await join_on_phone(page, game["pin"], "Ada")
        await check_state(page, "zoom-lobby")
        assert (await host.call("start_game"))["ok"]
        await expect(page.get_by_role("heading", name="Smallest first")).to_be_visible()
        await check_state(page, "zoom-order")
        await page.get_by_role("button", name="Move up: 2").first.scroll_into_view_if_needed()
        await page.get_by_role("button", name="Submit answer").click()
        await expect(page.get_by_role("status").filter(has_text="Answer received")).to_be_visible()
        assert (await host.call("end_question"))["ok"]
        await check_state(page, "zoom-result")
        assert (await host.call("next_question"))["ok"]
        await expect(page.get_by_role("slider", name="Your answer")).to_be_visible()
        await check_state(page, "zoom-slider")
    finally:
        await context.close()
        await other.close()
        await host.close()
    browser_problems.assert_none()
