"""The quiz editor (/quizzes/new, /quizzes/{id}) in a real browser against the real
server, by the accessible names of ../shared/UI.md: a quiz of all seven types written
and saved (checked through the REST API), questions and choices reordered by keyboard
and by drag, the server's 422 shown at the field it names, the local draft across a
reload, the warning before leaving with unsaved changes, the player preview, export
and delete; axe scans and screenshots on a phone and a desktop."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from aiohttp import ClientSession
from playwright.async_api import Browser, BrowserContext, Dialog, Locator, Page, expect

from tests.web.conftest import ARTIFACTS, BrowserProblems, _context, axe_scan, shot
from tests.web.teacher_flows import register

QUIZ_URL = re.compile(r"/quizzes/([0-9a-f-]{36})$")


async def api_get(http: ClientSession, context: BrowserContext, path: str) -> tuple[int, Any]:
    """GET as the teacher signed in in `context` (their session cookie as a bearer token)."""
    token = next(c["value"] for c in await context.cookies() if c["name"] == "access_token")
    async with http.get(path, headers={"Authorization": f"Bearer {token}"}) as resp:
        body = await resp.json() if resp.content_type == "application/json" else await resp.read()
        return resp.status, body


def question(page: Page, n: int) -> Locator:
    return page.get_by_role("group", name=f"Question {n}", exact=True)


async def fill_choices(group: Locator, texts: list[str], correct: Sequence[int] = ()) -> None:
    for i, text in enumerate(texts, start=1):
        if i > 2:
            await group.get_by_role("button", name="Add choice").click()
        await group.get_by_role("textbox", name=f"Choice {i}", exact=True).fill(text)
    for i in correct:
        await group.get_by_role("checkbox", name=f"Choice {i} correct").check()


async def new_question(page: Page, n: int, kind: str, text: str) -> Locator:
    await page.get_by_role("button", name="Add question").click()
    group = question(page, n)
    await expect(group.get_by_role("textbox", name="Question", exact=True)).to_be_focused()
    await group.get_by_role("combobox", name="Question type").select_option(kind)
    await group.get_by_role("textbox", name="Question", exact=True).fill(text)
    return group


async def open_new_quiz(page: Page) -> None:
    await register(page)
    await page.get_by_role("link", name="New quiz").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("New quiz")
    await expect(question(page, 1)).to_be_visible()


async def save_new(page: Page) -> str:
    await page.get_by_role("button", name="Save quiz").click()
    await expect(page).to_have_url(QUIZ_URL)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Edit quiz")
    match = QUIZ_URL.search(page.url)
    assert match
    return match.group(1)


async def write_two_question_quiz(page: Page) -> None:
    await page.get_by_role("textbox", name="Title").fill("Order test")
    first = question(page, 1)
    await first.get_by_role("textbox", name="Question", exact=True).fill("First")
    await fill_choices(first, ["a", "b", "c"], [1])
    second = await new_question(page, 2, "single", "Second")
    await fill_choices(second, ["x", "y"], [2])


async def test_a_quiz_of_every_type_is_written_in_the_browser_and_saved(
    projector: Page, projector_context: BrowserContext, http: ClientSession
) -> None:
    page = projector
    await open_new_quiz(page)
    first = question(page, 1)
    # A new quiz starts with one single-choice question (UI.md).
    await expect(first.get_by_role("combobox", name="Question type")).to_have_value("single")
    await expect(page.get_by_role("group", name=re.compile(r"^Question \d+$"))).to_have_count(1)

    await page.get_by_role("textbox", name="Title").fill("Every type")
    await page.get_by_role("textbox", name="Description").fill("All seven")
    await page.get_by_role("checkbox", name="Public").check()
    await page.get_by_role("textbox", name="Tags").fill("science,  geography ,")
    await first.get_by_role("textbox", name="Question", exact=True).fill("Capital of France?")
    await fill_choices(first, ["Berlin", "Paris", "Rome"], [2])
    await first.get_by_role("spinbutton", name="Time (seconds)").fill("30")
    await first.get_by_role("combobox", name="Points").select_option("2")
    await first.get_by_role("textbox", name="Image URL").fill("https://example.org/paris.png")
    # (no Internet here: the browser cannot load it, and the editor says so)
    await expect(first.get_by_text("The image could not be loaded")).to_be_visible()

    multiple = await new_question(page, 2, "multiple", "Prime numbers?")
    await fill_choices(multiple, ["2", "3", "4"], [1, 2])

    true_false = await new_question(page, 3, "true_false", "The sun is a star.")
    # true/false comes with its two choices, the first marked correct; no Add choice.
    await expect(true_false.get_by_role("textbox", name="Choice 1", exact=True)).to_have_value(
        "True"
    )
    await expect(true_false.get_by_role("textbox", name="Choice 2", exact=True)).to_have_value(
        "False"
    )
    await expect(true_false.get_by_role("button", name="Add choice")).to_have_count(0)
    await true_false.get_by_role("checkbox", name="Choice 1 correct").check()

    text = await new_question(page, 4, "text", "Largest planet?")
    await text.get_by_role("textbox", name="Accepted answer 1").fill("Jupiter")
    await text.get_by_role("button", name="Add accepted answer").click()
    await expect(text.get_by_role("textbox", name="Accepted answer 2")).to_be_focused()
    await text.get_by_role("textbox", name="Accepted answer 2").fill("Jove")

    slider = await new_question(page, 5, "slider", "Boiling point of water (°C)?")
    for name, value in (
        ("Minimum", "0"),
        ("Maximum", "200"),
        ("Step", "5"),
        ("Correct value", "100"),
        ("Tolerance (±)", "10"),
    ):
        await slider.get_by_role("spinbutton", name=name).fill(value)

    order = await new_question(page, 6, "order", "Smallest first")
    await fill_choices(order, ["1", "10", "100"])
    await expect(order.get_by_role("checkbox")).to_have_count(0)

    poll = await new_question(page, 7, "poll", "Favourite season?")
    await fill_choices(poll, ["Summer", "Winter"])
    await expect(poll.get_by_role("checkbox")).to_have_count(0)
    await expect(page.get_by_text("Unsaved changes")).to_be_visible()

    await axe_scan(page)
    await shot(page, "editor-every-type-desktop")
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(
        path=str(ARTIFACTS / "editor-desktop-view.png"),
        clip={"x": 560, "y": 0, "width": 800, "height": 1080},
        scale="css",
    )
    quiz_id = await save_new(page)
    await expect(page.get_by_role("status").filter(has_text="Quiz saved.")).to_be_attached()
    await expect(page.get_by_text("All changes saved")).to_be_visible()

    status, saved = await api_get(http, projector_context, f"/api/v1/quizzes/{quiz_id}")
    assert status == 200
    assert (saved["title"], saved["description"], saved["public"], saved["tags"]) == (
        "Every type",
        "All seven",
        True,
        ["science", "geography"],
    )

    def pick(q: dict[str, Any]) -> dict[str, Any]:
        keys = ("type", "text", "choices", "accepted_answers", "slider", "time_limit_s", "points")
        return {k: q.get(k) for k in keys}

    got = [pick(q) for q in saved["questions"]]
    assert got[0] == {
        "type": "single",
        "text": "Capital of France?",
        "choices": [
            {"text": "Berlin", "correct": False},
            {"text": "Paris", "correct": True},
            {"text": "Rome", "correct": False},
        ],
        "accepted_answers": None,
        "slider": None,
        "time_limit_s": 30,
        "points": 2,
    }
    assert saved["questions"][0]["image"] == "https://example.org/paris.png"
    assert [c["correct"] for c in got[1]["choices"]] == [True, True, False]
    assert got[2]["choices"] == [
        {"text": "True", "correct": True},
        {"text": "False", "correct": False},
    ]
    assert got[3]["accepted_answers"] == ["Jupiter", "Jove"] and got[3]["choices"] is None
    assert got[4]["slider"] == {"min": 0, "max": 200, "step": 5, "correct": 100, "tolerance": 10}
    assert [c["text"] for c in got[5]["choices"]] == ["1", "10", "100"]
    assert not any(c["correct"] for c in got[5]["choices"] + got[6]["choices"])
    assert [q["type"] for q in got] == [
        "single",
        "multiple",
        "true_false",
        "text",
        "slider",
        "order",
        "poll",
    ]

    # Reopened from the server, the editor shows what was saved.
    await page.reload()
    await expect(question(page, 5).get_by_role("spinbutton", name="Maximum")).to_have_value("200")
    await expect(question(page, 4).get_by_role("textbox", name="Accepted answer 2")).to_have_value(
        "Jove"
    )
    await expect(page.get_by_role("checkbox", name="Public")).to_be_checked()
    await expect(page.get_by_role("region", name="Unsaved draft found")).to_have_count(0)

    # An edit is saved with PUT; the status says so.
    await question(page, 1).get_by_role("textbox", name="Question", exact=True).fill("Capital?")
    await page.get_by_role("button", name="Save quiz").click()
    await expect(page.get_by_text("All changes saved")).to_be_visible()
    _, again = await api_get(http, projector_context, f"/api/v1/quizzes/{quiz_id}")
    assert again["questions"][0]["text"] == "Capital?"

    # Export downloads the quiz document; Delete (after a confirmation) removes it.
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Export").click()
    download = await info.value
    document = json.loads((await download.path()).read_text())
    assert document["format"] == "classquiz-quiz"
    assert len(document["quiz"]["questions"]) == 7
    await page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete this quiz?")
    await dialog.get_by_role("button", name="Delete").click()
    await expect(page).to_have_url(re.compile(r"/quizzes$"))
    status, _ = await api_get(http, projector_context, f"/api/v1/quizzes/{quiz_id}")
    assert status == 404


async def test_questions_and_choices_reorder_by_keyboard(
    projector: Page, projector_context: BrowserContext, http: ClientSession
) -> None:
    page = projector
    await open_new_quiz(page)
    await write_two_question_quiz(page)

    first = question(page, 1)
    down = first.get_by_role("button", name="Move down: Question 1")
    await down.focus()
    await page.keyboard.press("Enter")
    # The question moved and the focus went with it (now Question 2's Move up).
    await expect(
        question(page, 1).get_by_role("textbox", name="Question", exact=True)
    ).to_have_value("Second")
    await expect(
        question(page, 2).get_by_role("button", name="Move up: Question 2")
    ).to_be_focused()

    moved = question(page, 2)
    await moved.get_by_role("button", name="Move down: Choice 1").focus()
    await page.keyboard.press("Enter")
    await expect(moved.get_by_role("button", name="Move down: Choice 2")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(moved.get_by_role("textbox", name="Choice 3", exact=True)).to_have_value("a")
    await expect(moved.get_by_role("button", name="Move up: Choice 3")).to_be_focused()

    quiz_id = await save_new(page)
    _, saved = await api_get(http, projector_context, f"/api/v1/quizzes/{quiz_id}")
    assert [q["text"] for q in saved["questions"]] == ["Second", "First"]
    assert saved["questions"][1]["choices"] == [
        {"text": "b", "correct": False},
        {"text": "c", "correct": False},
        {"text": "a", "correct": True},
    ]


async def drag(page: Page, handle: Locator, target: Locator) -> None:
    """Press on `handle`, move the pointer in steps onto the middle of `target`, release."""
    start = await handle.bounding_box()
    end = await target.bounding_box()
    assert start and end
    await page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    await page.mouse.down()
    await page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2 + 2, steps=12)
    await page.mouse.up()


async def test_questions_and_choices_reorder_by_drag(
    projector: Page, projector_context: BrowserContext, http: ClientSession
) -> None:
    page = projector
    await open_new_quiz(page)
    await write_two_question_quiz(page)

    # Choice 1 ("a") of question 1 dragged onto the row of choice 3.
    first = question(page, 1)
    await drag(
        page,
        first.locator("[data-drag-choice]").nth(0),
        first.get_by_role("textbox", name="Choice 3", exact=True),
    )
    texts = [
        await first.get_by_role("textbox", name=f"Choice {i}", exact=True).input_value()
        for i in (1, 2, 3)
    ]
    assert texts == ["b", "c", "a"]

    # Question 2 dragged above question 1.
    await drag(
        page,
        question(page, 2).locator("[data-drag-question]"),
        question(page, 1).get_by_role("heading", name="Question 1"),
    )
    await expect(
        question(page, 1).get_by_role("textbox", name="Question", exact=True)
    ).to_have_value("Second")

    quiz_id = await save_new(page)
    _, saved = await api_get(http, projector_context, f"/api/v1/quizzes/{quiz_id}")
    assert [q["text"] for q in saved["questions"]] == ["Second", "First"]
    assert [c["text"] for c in saved["questions"][1]["choices"]] == ["b", "c", "a"]
    assert [c["correct"] for c in saved["questions"][1]["choices"]] == [False, False, True]


async def test_server_validation_errors_are_shown_at_the_field_they_name(
    projector: Page, projector_context: BrowserContext, http: ClientSession
) -> None:
    page = projector
    await open_new_quiz(page)
    await page.get_by_role("textbox", name="Title").fill("Broken")
    first = question(page, 1)
    await first.get_by_role("textbox", name="Question", exact=True).fill("Fine question")
    await fill_choices(first, ["a", "b"], [1])
    second = await new_question(page, 2, "single", "Empty third choice")
    await fill_choices(second, ["x", "y", ""], [1])
    slider = await new_question(page, 3, "slider", "Bad range")
    await slider.get_by_role("spinbutton", name="Minimum").fill("50")
    await slider.get_by_role("spinbutton", name="Maximum").fill("10")

    await page.get_by_role("button", name="Save quiz").click()
    # questions.1.choices.2.text: next to Choice 3 of Question 2, which gets the focus.
    choice = second.get_by_role("textbox", name="Choice 3", exact=True)
    await expect(choice).to_be_focused()
    await expect(choice).to_have_attribute("aria-invalid", "true")
    described = await choice.get_attribute("aria-describedby")
    assert described
    message = page.locator(f"[id='{described}']")
    await expect(message).to_have_attribute("role", "alert")
    await expect(message).to_contain_text("at least 1 character")
    # questions.2.slider.min: next to Minimum of Question 3.
    minimum = slider.get_by_role("spinbutton", name="Minimum")
    await expect(minimum).to_have_attribute("aria-invalid", "true")
    await expect(slider.get_by_role("alert")).to_have_text("slider min must be below max")
    # Nothing else is marked, and nothing was stored.
    await expect(first.get_by_role("alert")).to_have_count(0)
    await expect(page).to_have_url(re.compile(r"/quizzes/new$"))
    _, mine = await api_get(http, projector_context, "/api/v1/quizzes")
    assert mine["total"] == 0
    await axe_scan(page)
    await shot(page, "editor-errors-desktop")

    # Fixed, it saves.
    await choice.fill("z")
    await slider.get_by_role("spinbutton", name="Minimum").fill("0")
    await save_new(page)
    _, mine = await api_get(http, projector_context, "/api/v1/quizzes")
    assert mine["total"] == 1


async def test_a_draft_survives_a_reload_and_leaving_warns(phone: Page) -> None:
    page = phone
    await open_new_quiz(page)
    await page.get_by_role("textbox", name="Title").fill("Half written")
    await (
        question(page, 1).get_by_role("textbox", name="Question", exact=True).fill("Not saved yet")
    )

    # Leaving inside the app asks first; Cancel stays with the work.
    await page.get_by_role("link", name="Back to my quizzes").click()
    leave = page.get_by_role("dialog", name="Leave without saving?")
    await expect(leave).to_be_visible()
    await leave.get_by_role("button", name="Cancel").click()
    await expect(page).to_have_url(re.compile(r"/quizzes/new$"))

    # Reloading the tab: the browser asks (beforeunload).
    dialogs: list[str] = []

    async def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.type)
        await dialog.accept()

    page.on("dialog", accept)
    await page.reload()
    assert dialogs == ["beforeunload"]

    # After the reload the draft is offered back.
    offer = page.get_by_role("region", name="Unsaved draft found")
    await expect(offer).to_be_visible()
    await axe_scan(page)
    await shot(page, "editor-draft-phone")
    await expect(page.get_by_role("textbox", name="Title")).to_have_value("")
    await offer.get_by_role("button", name="Restore draft").click()
    await expect(page.get_by_role("textbox", name="Title")).to_have_value("Half written")
    await expect(
        question(page, 1).get_by_role("textbox", name="Question", exact=True)
    ).to_have_value("Not saved yet")
    await expect(offer).to_have_count(0)

    # Leave anyway: the draft stays for next time; a discarded one is gone.
    await page.get_by_role("link", name="Back to my quizzes").click()
    await (
        page.get_by_role("dialog", name="Leave without saving?")
        .get_by_role("button", name="Leave without saving")
        .click()
    )
    await expect(page).to_have_url(re.compile(r"/quizzes$"))
    await page.get_by_role("link", name="New quiz").click()
    await offer.get_by_role("button", name="Discard draft").click()
    await expect(offer).to_have_count(0)
    await page.reload()
    await expect(question(page, 1)).to_be_visible()
    await expect(offer).to_have_count(0)
    assert dialogs == ["beforeunload"]  # nothing unsaved: no question on the way out


async def test_preview_shows_a_question_as_a_player_sees_it(phone: Page) -> None:
    page = phone
    await open_new_quiz(page)
    first = question(page, 1)
    await first.get_by_role("textbox", name="Question", exact=True).fill("Capital of Italy?")
    await fill_choices(first, ["Rome", "Milan"], [1])
    order = await new_question(page, 2, "order", "Smallest first")
    await fill_choices(order, ["1", "2", "3"])

    await first.get_by_role("button", name="Preview Question 1").click()
    preview = page.get_by_role("dialog", name="Preview of question 1")
    await expect(preview.get_by_role("heading", name="Capital of Italy?")).to_be_visible()
    await expect(preview.get_by_role("button", name="Rome")).to_be_visible()
    await expect(preview.get_by_role("timer")).to_contain_text("20")
    await axe_scan(page)
    await shot(page, "editor-preview-phone")
    await preview.get_by_role("button", name="Milan").click()
    await expect(preview.get_by_role("alert")).to_have_text("This is a preview: nothing was sent.")
    await preview.get_by_role("button", name="Close preview").click()
    await expect(preview).to_be_hidden()

    await order.get_by_role("button", name="Preview Question 2").click()
    preview = page.get_by_role("dialog", name="Preview of question 2")
    items = preview.get_by_role("listitem")
    await expect(items).to_have_count(3)
    await expect(preview.get_by_role("button", name=re.compile("Move up")).first).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(preview).to_be_hidden()


async def test_the_editor_fits_a_phone(phone: Page) -> None:
    page = phone
    await open_new_quiz(page)
    await page.get_by_role("textbox", name="Title").fill("On a phone")
    first = question(page, 1)
    await first.get_by_role("textbox", name="Question", exact=True).fill("Which one?")
    await fill_choices(first, ["One", "Two", "Three"], [1])
    await new_question(page, 2, "slider", "How many?")
    width = await page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport and width <= viewport["width"], f"{width} px wide"
    await axe_scan(page)
    await shot(page, "editor-phone")
    await (
        question(page, 1)
        .get_by_role("heading", name="Question 1")
        .evaluate("e => e.scrollIntoView()")
    )
    await page.evaluate("window.scrollBy(0, -16)")
    await page.screenshot(path=str(ARTIFACTS / "editor-phone-view.png"), scale="css")


async def test_someone_elses_or_a_missing_quiz_says_so(projector: Page) -> None:
    await register(projector)
    await projector.goto("/quizzes/00000000-0000-0000-0000-000000000000")
    await expect(projector.get_by_role("alert")).to_have_text(
        "This quiz does not exist or is not yours."
    )
    await projector.context.clear_cookies()
    await projector.evaluate("localStorage.clear()")
    await projector.goto("/quizzes/new")
    await expect(projector.locator("#main").get_by_role("link", name="Sign in")).to_be_visible()


async def test_usable_at_200_percent_zoom(
    browser: Browser, browser_problems: BrowserProblems, app_url: str
) -> None:
    """200 % zoom on a phone halves its width in CSS pixels: a choice row with its
    handle, letter, text, correct box and buttons, and the slider's five numbers,
    must still fit without sideways scrolling."""
    context = await _context(
        browser,
        browser_problems,
        app_url,
        viewport={"width": 206, "height": 457},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    try:
        page = await context.new_page()
        await open_new_quiz(page)
        await fill_choices(question(page, 1), ["One", "Two", "Three"], [1])
        await new_question(page, 2, "slider", "How many?")
        await new_question(page, 3, "text", "Name it")
        width = await page.evaluate("document.documentElement.scrollWidth")
        wide = await page.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
            " > 206.5).map(e => e.tagName + '.' + e.className.toString().slice(0, 60)).slice(0, 8)"
        )
        assert width <= 206, f"{width} px wide at 200 % zoom: {wide}"
        await axe_scan(page)
        await shot(page, "editor-zoom-200")
    finally:
        await context.close()
    browser_problems.assert_none()
