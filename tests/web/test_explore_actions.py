"""What a teacher does with a quiz found on /explore, in a real browser against the real
server: copy it into my quizzes (a private copy of their own, opened in the editor), host
it (the Host dialog of /quizzes, then the presenter screen), and, signed out, sign in
first and come back to the same search."""

from __future__ import annotations

import re

from aiohttp import ClientSession
from playwright.async_api import BrowserContext, Page, expect

from tests.support.users import ApiUser
from tests.web.conftest import axe_scan, shot
from tests.web.explore_support import make_quiz, unique_word, wait_until_found, with_typo
from tests.web.teacher_flows import register
from tests.web.test_teacher_quizzes import api_get, record_created_games


async def test_copy_to_my_quizzes_makes_a_private_copy_and_opens_the_editor(
    projector: Page, projector_context: BrowserContext, user: ApiUser, http: ClientSession
) -> None:
    word = unique_word()
    original = await make_quiz(user, title=f"Fractions {word}", tags=["maths"], public=True)
    await wait_until_found(http, word, 1)
    await register(projector)

    await projector.goto("/explore")
    await projector.get_by_role("searchbox", name="Search quizzes").fill(with_typo(word))
    hit = projector.get_by_role("article", name=f"Fractions {word}")
    await hit.get_by_role("button", name="Copy to my quizzes").click()

    await expect(projector).to_have_url(re.compile(r"/quizzes/[0-9a-f-]{36}$"))
    copy_id = projector.url.rsplit("/", 1)[1]
    assert copy_id != original["id"]
    status, copy = await api_get(http, projector_context, f"/api/v1/quizzes/{copy_id}")
    assert status == 200
    status, me = await api_get(http, projector_context, "/api/v1/users/me")
    assert status == 200 and copy["owner_id"] == me["id"] != original["owner_id"]
    assert copy["public"] is False
    assert copy["question_count"] == original["question_count"] == 7
    status, mine = await api_get(http, projector_context, "/api/v1/quizzes")
    assert [q["id"] for q in mine["items"]] == [copy_id]


async def test_host_from_a_hit_opens_the_presenter(
    phone: Page, user: ApiUser, http: ClientSession
) -> None:
    word = unique_word()
    await make_quiz(user, title=f"Planets {word}", public=True)
    await wait_until_found(http, word, 1)
    await register(phone)

    await phone.goto(f"/explore?q={word}")
    await (
        phone.get_by_role("article", name=f"Planets {word}")
        .get_by_role("button", name="Host")
        .click()
    )
    dialog = phone.get_by_role("dialog", name="Host a live game")
    await expect(dialog).to_contain_text(f"Planets {word}")
    await axe_scan(phone)
    await shot(phone, "explore-host-dialog-phone")

    created = await record_created_games(phone)
    await dialog.get_by_role("button", name="Start hosting").click()
    await expect(phone).to_have_url(re.compile(r"/host"))
    [game] = created
    async with http.get(f"/api/v1/games/{game['pin']}") as resp:
        assert resp.status == 200, "the game of the public quiz is live"
    # The presenter screen runs the new game: its PIN, its join QR code, its player list.
    await expect(phone.get_by_text(game["pin"], exact=True)).to_be_visible()
    await expect(phone.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    await expect(phone.get_by_role("list", name="Players")).to_be_attached()


async def test_signed_out_host_signs_in_and_comes_back_to_the_search(
    projector: Page, user: ApiUser, http: ClientSession
) -> None:
    word = unique_word()
    await make_quiz(user, title=f"Magnets {word}", tags=["physics"], public=True)
    await wait_until_found(http, word, 1)

    await projector.goto(f"/explore?q={word}&tag=physics")
    await (
        projector.get_by_role("article", name=f"Magnets {word}")
        .get_by_role("button", name="Host")
        .click()
    )
    await expect(projector).to_have_url(re.compile(r"/login\?next="))
    # Signing in right here (not through a fresh /login, which would forget where to return).
    await projector.get_by_role("textbox", name="Email or username").fill(user.username)
    await projector.get_by_label("Password", exact=True).fill(user.password)
    await projector.get_by_role("button", name="Sign in").click()
    await expect(projector).to_have_url(re.compile(rf"/explore\?q={word}&tag=physics$"))
    await expect(projector.get_by_role("searchbox", name="Search quizzes")).to_have_value(word)
    chosen = projector.get_by_role("list", name="Tag filters")
    await expect(chosen.get_by_role("button", name="Remove tag filter physics")).to_be_visible()
    hit = projector.get_by_role("article", name=f"Magnets {word}")
    await hit.get_by_role("button", name="Host").click()
    await expect(projector.get_by_role("dialog", name="Host a live game")).to_be_visible()
