"""The roster picker on the phone (issue 10 follow-ups): in a roster game the phone lists
the class list's free names as large radio buttons with a search box, instead of making
pupils type their name exactly; with a game password the list appears only after the
right password. Real server, real browser; the host and a classmate are real Socket.IO
clients."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.support.sockets import Recorder
from tests.support.users import ApiUser
from tests.web.player_support import check_state, connect_host, create_game

ROSTER = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Zoë Adams"]


async def test_pick_a_free_name_from_the_class_list(
    phone: Page, user: ApiUser, base_url: str
) -> None:
    game = await create_game(user, nicknames={"mode": "roster", "roster": ROSTER})
    host = await connect_host(base_url, game)
    classmate = Recorder(base_url)
    try:
        await classmate.connect({"pin": game["pin"], "nickname": "Ada Lovelace"})
        await classmate.wait("welcome")
        await phone.goto(f"/play?pin={game['pin']}")
        names = phone.get_by_role("group", name="Pick your name")
        await expect(names.get_by_role("radio")).to_have_count(3)
        # A name somebody already has is not offered; typing is not needed.
        await expect(names.get_by_role("radio", name="Ada Lovelace")).to_have_count(0)
        await expect(phone.get_by_role("textbox", name="Nickname")).to_have_count(0)
        for label in await names.locator("label:has(input[type=radio])").all():
            box = await label.bounding_box()
            assert box is not None and box["height"] >= 48, box
        await check_state(phone, "roster-picker")

        await names.get_by_role("searchbox", name="Search the class list").fill("zoe")
        await expect(names.get_by_role("radio")).to_have_count(1)
        await names.get_by_role("searchbox", name="Search the class list").fill("nobody")
        await expect(names.get_by_text("No free name matches")).to_be_visible()
        await names.get_by_role("searchbox", name="Search the class list").fill("gra")
        await names.get_by_role("radio", name="Grace Hopper").check()
        await phone.get_by_role("button", name="Join").click()
        await expect(phone.get_by_text("You're in!")).to_be_visible()
        joined = await host.wait("player_joined", count=2)
        assert joined["player"]["nickname"] == "Grace Hopper"
    finally:
        await classmate.close()
        await host.close()


async def test_with_a_password_the_list_needs_the_right_password(
    phone: Page, user: ApiUser, base_url: str
) -> None:
    game = await create_game(
        user, password="owl-42", nicknames={"mode": "roster", "roster": ROSTER}
    )
    host = await connect_host(base_url, game)
    try:
        await phone.goto(f"/play?pin={game['pin']}")
        await expect(phone.get_by_role("textbox", name="Game password")).to_be_visible()
        await expect(phone.get_by_role("radio")).to_have_count(0)
        await phone.get_by_role("textbox", name="Game password").fill("owl-41")
        await phone.get_by_role("button", name="Show the class list").click()
        await expect(phone.get_by_role("alert")).to_contain_text("Wrong password")
        await expect(phone.get_by_role("radio")).to_have_count(0)

        await phone.get_by_role("textbox", name="Game password").fill("owl-42")
        await phone.get_by_role("button", name="Show the class list").click()
        names = phone.get_by_role("group", name="Pick your name")
        await expect(names.get_by_role("radio")).to_have_count(4)
        await expect(phone.get_by_role("alert")).to_have_count(0)
        await check_state(phone, "roster-picker-password")
        await names.get_by_role("radio", name="Alan Turing").check()
        await phone.get_by_role("button", name="Join").click()
        await expect(phone.get_by_text("You're in!")).to_be_visible()
        assert (await host.wait("player_joined"))["player"]["nickname"] == "Alan Turing"
    finally:
        await host.close()
