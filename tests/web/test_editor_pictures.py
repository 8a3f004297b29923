"""Pictures in a real browser (issue 15): the teacher adds a picture to a question in
the quiz editor with "Add picture" (a file that is no picture is refused at the
question, and changes nothing), saves, hosts; the picture is on the projector and on
the player's phone while the question is open. Screenshots of the editor (desktop and
phone), the projector and the phone are kept in tests/web/artifacts/."""

from __future__ import annotations

import re

from aiohttp import ClientSession
from playwright.async_api import BrowserContext, Locator, Page, expect

from tests.support.pictures import picture
from tests.web.conftest import axe_scan, shot
from tests.web.player_support import join_on_phone
from tests.web.test_editor_quiz import api_get, open_new_quiz, question

MEDIA_URL = re.compile(r"^/media/[0-9a-f-]{36}\.png$")


async def choose_file(page: Page, group: Locator, name: str, data: bytes, mime: str) -> None:
    async with page.expect_file_chooser() as chooser:
        await group.get_by_role("button", name=re.compile(r"^Add picture")).click()
    await (await chooser.value).set_files({"name": name, "mimeType": mime, "buffer": data})


async def loaded(image: Locator) -> bool:
    """The browser fetched and decoded the picture (not just an <img> with a src)."""
    return bool(await image.evaluate("(img) => img.complete && img.naturalWidth > 0"))


async def test_a_picture_added_in_the_editor_is_on_the_projector_and_the_phone(
    projector_context: BrowserContext, phone: Page, http: ClientSession
) -> None:
    page = await projector_context.new_page()
    await open_new_quiz(page)
    await page.get_by_role("textbox", name="Title").fill("Animals")
    first = question(page, 1)
    await first.get_by_role("textbox", name="Question", exact=True).fill("Which colours?")
    await first.get_by_role("textbox", name="Choice 1", exact=True).fill("Red and blue")
    await first.get_by_role("textbox", name="Choice 2", exact=True).fill("Green")
    await first.get_by_role("checkbox", name="Choice 1 correct").check()
    address = first.get_by_role("textbox", name="Image URL")

    # Not a picture: said at the question, and the question keeps no address.
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    await choose_file(page, first, "drawing.svg", svg, "image/svg+xml")
    await expect(first.get_by_role("alert")).to_contain_text("drawing.svg was not added")
    await expect(first.get_by_role("alert")).to_contain_text("not a picture")
    await expect(address).to_have_value("")

    await choose_file(page, first, "colours.png", picture("PNG", (640, 360)), "image/png")
    await expect(address).to_have_value(MEDIA_URL)
    await expect(first.get_by_role("alert")).to_have_count(0)
    preview = first.get_by_role("img", name="Uploaded picture")
    await expect(preview).to_be_visible()
    assert await loaded(preview)
    url = await address.input_value()
    await axe_scan(page)
    await shot(page, "editor-picture-desktop")

    await page.get_by_role("button", name="Save quiz").click()
    await expect(page).to_have_url(re.compile(r"/quizzes/[0-9a-f-]{36}$"))
    quiz_id = page.url.rsplit("/", 1)[-1]
    status, saved = await api_get(http, projector_context, f"/api/v1/quizzes/{quiz_id}")
    assert status == 200 and saved["questions"][0]["image"] == url

    # The editor on a phone shows the same control.
    editor_phone = await phone.context.browser.new_context(  # type: ignore[union-attr]
        base_url=page.url.split("/quizzes")[0],
        viewport={"width": 390, "height": 844},
        storage_state=await projector_context.storage_state(),
        is_mobile=True,
        has_touch=True,
    )
    try:
        small = await editor_phone.new_page()
        await small.goto(f"/quizzes/{quiz_id}")
        await expect(question(small, 1).get_by_role("img", name="Uploaded picture")).to_be_visible()
        width = await small.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        await shot(small, "editor-picture-phone")
    finally:
        await editor_phone.close()

    # Host it: the presenter on the projector, a player on the phone.
    cookies = await projector_context.cookies()
    token = next(c["value"] for c in cookies if c["name"] == "access_token")
    async with http.post(
        "/api/v1/games",
        json={"quiz_id": quiz_id, "settings": {}},
        headers={"Authorization": f"Bearer {token}"},
    ) as resp:
        assert resp.status == 201
        game = await resp.json()
    presenter = await projector_context.new_page()
    await presenter.goto(f"/host#token={game['host_token']}")
    await join_on_phone(phone, game["pin"], "Robin")
    await expect(presenter.get_by_role("button", name="Start game")).to_be_enabled()
    await presenter.get_by_role("button", name="Start game").click()

    await expect(phone.get_by_role("button", name=re.compile("Red and blue"))).to_be_visible()
    on_phone = phone.locator(f'img[src="{url}"]')
    await expect(on_phone).to_be_visible()
    assert await loaded(on_phone)
    box = await on_phone.bounding_box()
    assert box is not None and box["width"] > 100
    await shot(phone, "player-question-picture")

    on_projector = presenter.locator(f'img[src="{url}"]')
    await expect(on_projector).to_be_visible()
    assert await loaded(on_projector)
    await shot(presenter, "presenter-question-picture")
