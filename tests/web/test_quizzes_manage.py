"""Managing "My quizzes" in a real browser against the real server: the server-side
search, Duplicate, the Public switch (optimistic, put back when the server refuses),
Export and the JSON import (a round trip through a real download and a real file
chooser), the CSV/XLSX table import with its templates, and a broken table's
row-by-row problems with nothing created. Every effect is checked through the REST
API, not only on the screen."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from playwright.async_api import BrowserContext, Locator, Page, expect

from tests.support.quizzes import sample_quiz
from tests.support.users import ApiUser
from tests.web.conftest import REPO, axe_scan, shot
from tests.web.teacher_flows import Teacher, create_sample_quiz, register
from tests.web.test_teacher_quizzes import fits_the_screen

EXAMPLE_CSV = REPO / "docs" / "import-example.csv"
EXAMPLE_TYPES = ["single", "multiple", "true_false", "text", "slider", "order", "poll"]


async def as_api_user(http: ClientSession, context: BrowserContext, teacher: Teacher) -> ApiUser:
    """The teacher signed in in `context`, for REST calls (their session cookie as a
    bearer token)."""
    token = next(c["value"] for c in await context.cookies() if c["name"] == "access_token")
    return ApiUser(http, teacher.username, teacher.email, teacher.password, token)


async def my_quizzes(teacher: ApiUser) -> list[dict[str, Any]]:
    status, page = await teacher.request("GET", "/api/v1/quizzes", params={"limit": 100})
    assert status == 200, page
    return page["items"]


def quiz_list(page: Page) -> Locator:
    return page.get_by_role("list", name="My quizzes")


def item(page: Page, title: str) -> Locator:
    """The list item of the quiz titled exactly `title`."""
    heading = page.get_by_role("heading", name=title, exact=True)
    return quiz_list(page).get_by_role("listitem").filter(has=heading)


def without_ids(question: dict[str, Any]) -> dict[str, Any]:
    """A question as authored: the server gives every question and choice a new id."""
    out = {k: v for k, v in question.items() if k != "id"}
    if out.get("choices"):
        out["choices"] = [{k: v for k, v in c.items() if k != "id"} for c in out["choices"]]
    return out


async def open_import(page: Page) -> Locator:
    """The Import section, opened."""
    summary = page.get_by_text("Import a quiz", exact=True)
    await summary.click()
    section = page.locator("details").filter(has=summary)
    await expect(section.get_by_role("button", name="Choose a table")).to_be_visible()
    return section


async def choose_file(page: Page, button: Locator, path: Path) -> None:
    """Press `button` and pick `path` in the file chooser it opens."""
    async with page.expect_file_chooser() as chooser:
        await button.click()
    await (await chooser.value).set_files(path)


async def test_search_narrows_the_list_on_the_server_and_is_kept_in_the_address(
    projector: Page, projector_context: BrowserContext, http: ClientSession
) -> None:
    teacher = await as_api_user(http, projector_context, await register(projector))
    for title, description in (
        ("Fractions", "Year 5"),
        ("Planets", "The solar system"),
        ("Volcanoes", "Lava, magma and fractional crystals"),
    ):
        status, body = await teacher.request(
            "POST", "/api/v1/quizzes", json=sample_quiz(title=title, description=description)
        )
        assert status == 201, body
    asked: list[str] = []
    projector.on(
        "request",
        lambda r: asked.append(r.url) if "/api/v1/quizzes?" in r.url else None,
    )
    await projector.goto("/quizzes")
    await expect(quiz_list(projector).get_by_role("listitem")).to_have_count(3)

    search = projector.get_by_role("searchbox", name="Search my quizzes")
    await search.press_sequentially("FRACT", delay=30)
    # Title or description, in any case: Fractions and Volcanoes (by its description).
    await expect(quiz_list(projector).get_by_role("listitem")).to_have_count(2)
    await expect(item(projector, "Planets")).to_have_count(0)
    await expect(projector.get_by_text("2 quizzes match “FRACT”")).to_be_visible()
    await expect(projector).to_have_url(re.compile(r"/quizzes\?q=FRACT$"))
    # Debounced: typing five letters asked the server far fewer than five times.
    searched = [url for url in asked if "q=" in url]
    assert 1 <= len(searched) <= 2, searched
    assert searched[-1].endswith("q=FRACT") or "q=FRACT&" in searched[-1], searched

    # The search comes back with the address (the way back from the editor).
    await projector.reload()
    await expect(search).to_have_value("FRACT")
    await expect(quiz_list(projector).get_by_role("listitem")).to_have_count(2)

    await search.fill("nothing like this")
    await expect(
        projector.get_by_text("None of your quizzes has “nothing like this”")
    ).to_be_visible()
    await expect(projector.get_by_role("button", name="Create a sample quiz")).to_have_count(0)
    await search.fill("")
    await expect(quiz_list(projector).get_by_role("listitem")).to_have_count(3)
    await expect(projector).to_have_url(re.compile(r"/quizzes$"))


async def test_duplicate_and_the_public_switch(
    projector: Page, projector_context: BrowserContext, http: ClientSession
) -> None:
    teacher = await as_api_user(http, projector_context, await register(projector))
    await create_sample_quiz(projector)
    title = "Sample quiz: all seven question types"
    [original] = await my_quizzes(teacher)

    await item(projector, title).get_by_role("button", name="Duplicate").click()
    copy_item = item(projector, f"{title} (copy)")
    await expect(copy_item).to_be_visible()
    await expect(copy_item).to_contain_text("new")
    await expect(projector.get_by_role("status")).to_contain_text(f"Copied as “{title} (copy)”")
    quizzes = await my_quizzes(teacher)
    assert len(quizzes) == 2
    [copy] = [q for q in quizzes if q["id"] != original["id"]]
    assert copy["title"] == f"{title} (copy)" and copy["public"] is False
    status, full_copy = await teacher.request("GET", f"/api/v1/quizzes/{copy['id']}")
    status, full_original = await teacher.request("GET", f"/api/v1/quizzes/{original['id']}")
    assert [without_ids(q) for q in full_copy["questions"]] == [
        without_ids(q) for q in full_original["questions"]
    ]

    # The switch is named "Public" with the quiz's title; the server keeps each change.
    switch = projector.get_by_role("switch", name=f"Public {title}", exact=True)
    await expect(switch).not_to_be_checked()
    await switch.click()
    await expect(switch).to_be_checked()
    await expect(item(projector, title)).to_contain_text("Public")
    await expect(projector.get_by_role("status")).to_contain_text("is public now")
    status, body = await teacher.request("GET", f"/api/v1/quizzes/{original['id']}")
    assert status == 200 and body["public"] is True
    await axe_scan(projector)
    await shot(projector, "quizzes-manage-projector")
    await switch.click()
    await expect(projector.get_by_role("status")).to_contain_text("is private now")
    status, body = await teacher.request("GET", f"/api/v1/quizzes/{original['id']}")
    assert body["public"] is False
    copy_switch = projector.get_by_role("switch", name=f"Public {title} (copy)")
    status, body = await teacher.request("GET", f"/api/v1/quizzes/{copy['id']}")
    assert body["public"] is False, "the copy's switch is its own"

    # Refused (the quiz was deleted meanwhile, elsewhere): shown at once, then put back.
    status, _ = await teacher.request("DELETE", f"/api/v1/quizzes/{copy['id']}")
    assert status == 204
    await copy_switch.click()
    await expect(projector.get_by_role("alert")).to_contain_text("could not be changed")
    await expect(copy_switch).not_to_be_checked()
    await expect(item(projector, f"{title} (copy)")).to_contain_text("Private")


async def test_export_then_import_gives_the_same_quiz(
    phone: Page, phone_context: BrowserContext, http: ClientSession, tmp_path: Path
) -> None:
    teacher = await as_api_user(http, phone_context, await register(phone))
    await create_sample_quiz(phone)
    [original] = await my_quizzes(teacher)
    title = original["title"]

    async with phone.expect_download() as download_info:
        await item(phone, title).get_by_role("link", name="Export").click()
    download = await download_info.value
    assert download.suggested_filename.endswith(".classquiz.json"), download.suggested_filename
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    document = json.loads(saved.read_text(encoding="utf-8"))
    assert document["format"] == "classquiz-quiz" and document["version"] == 1
    assert document["quiz"]["title"] == title
    assert [q["type"] for q in document["quiz"]["questions"]] == EXAMPLE_TYPES

    # Imported under another title, to tell the two apart.
    document["quiz"]["title"] = "Brought back"
    saved.write_text(json.dumps(document), encoding="utf-8")
    section = await open_import(phone)
    await choose_file(phone, section.get_by_role("button", name="Choose a quiz file"), saved)
    imported = item(phone, "Brought back")
    await expect(imported).to_be_visible()
    await expect(phone.get_by_role("status")).to_contain_text("“Brought back” was imported")
    await expect(imported).to_contain_text("Private")
    quizzes = await my_quizzes(teacher)
    [copy] = [q for q in quizzes if q["title"] == "Brought back"]
    _, full_copy = await teacher.request("GET", f"/api/v1/quizzes/{copy['id']}")
    _, full_original = await teacher.request("GET", f"/api/v1/quizzes/{original['id']}")
    assert [without_ids(q) for q in full_copy["questions"]] == [
        without_ids(q) for q in full_original["questions"]
    ]
    assert full_copy["description"] == full_original["description"]
    await fits_the_screen(phone)
    await axe_scan(phone)
    await shot(phone, "quizzes-imported-phone")

    # Not JSON: said plainly, nothing sent, nothing created.
    broken = tmp_path / "notes.json"
    broken.write_text("type;question\nsingle;Hello\n", encoding="utf-8")
    await choose_file(phone, section.get_by_role("button", name="Choose a quiz file"), broken)
    await expect(phone.get_by_role("alert")).to_contain_text(
        "“notes.json” is not a ClassQuiz quiz file"
    )
    # A quiz document from a newer server: the server's refusal is shown.
    document["version"] = 99
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(document), encoding="utf-8")
    await choose_file(phone, section.get_by_role("button", name="Choose a quiz file"), newer)
    await expect(phone.get_by_role("alert")).to_contain_text("“newer.json” was not imported")
    await expect(phone.get_by_role("alert")).to_contain_text("99")
    # A rule broken in the third question: the question is named, counted from 1.
    document["version"] = 1
    document["quiz"]["questions"][2]["text"] = ""
    rule = tmp_path / "rule.json"
    rule.write_text(json.dumps(document), encoding="utf-8")
    await choose_file(phone, section.get_by_role("button", name="Choose a quiz file"), rule)
    await expect(phone.get_by_role("alert")).to_contain_text("“rule.json” was not imported")
    await expect(phone.get_by_role("alert")).to_contain_text("Question 3:")
    assert len(await my_quizzes(teacher)) == 2


async def test_the_example_csv_becomes_a_quiz(
    projector: Page, projector_context: BrowserContext, http: ClientSession
) -> None:
    teacher = await as_api_user(http, projector_context, await register(projector))
    section = await open_import(projector)
    await section.get_by_role("textbox", name="Title of the new quiz").fill("Science week")
    await choose_file(projector, section.get_by_role("button", name="Choose a table"), EXAMPLE_CSV)
    await expect(item(projector, "Science week")).to_contain_text("7 questions")
    await expect(projector.get_by_role("status")).to_contain_text("“Science week” was imported")
    [quiz] = await my_quizzes(teacher)
    _, full = await teacher.request("GET", f"/api/v1/quizzes/{quiz['id']}")
    assert [q["type"] for q in full["questions"]] == EXAMPLE_TYPES
    assert full["questions"][0]["text"] == "Which gas do plants take in from the air?"
    assert full["public"] is False
    # The title field is emptied for the next table, which is named after its file.
    await expect(section.get_by_role("textbox", name="Title of the new quiz")).to_have_value("")
    await choose_file(projector, section.get_by_role("button", name="Choose a table"), EXAMPLE_CSV)
    await expect(item(projector, "import-example")).to_be_visible()


async def test_a_broken_table_lists_its_problems_row_by_row_and_creates_nothing(
    phone: Page, phone_context: BrowserContext, http: ClientSession, tmp_path: Path
) -> None:
    teacher = await as_api_user(http, phone_context, await register(phone))
    await create_sample_quiz(phone)
    broken = tmp_path / "broken.csv"
    broken.write_text(
        "type,question,choice_1,choice_2,correct\n"
        "single,Fine question,Yes,No,1\n"
        "single,,Yes,No,1\n"
        "multiple,No correct choice,A,B,\n",
        encoding="utf-8",
    )
    section = await open_import(phone)
    await choose_file(phone, section.get_by_role("button", name="Choose a table"), broken)
    await expect(phone.get_by_role("alert")).to_contain_text("Nothing was created")
    table = phone.get_by_role("table", name="Problems in the table")
    await expect(table).to_be_visible()
    await expect(table.get_by_role("columnheader")).to_have_text(["Row", "Column", "Problem"])
    rows = table.get_by_role("row")
    await expect(rows).to_have_count(3)  # the header row and two problems
    await expect(rows.nth(1).get_by_role("cell")).to_have_text(
        [re.compile("^3$"), "question", re.compile(".+")]
    )
    await expect(rows.nth(2).get_by_role("cell").first).to_have_text("4")
    await expect(phone.get_by_role("heading", name="Problems in the table")).to_be_focused()
    assert [q["title"] for q in await my_quizzes(teacher)] == [
        "Sample quiz: all seven question types"
    ], "nothing was created"
    await expect(quiz_list(phone).get_by_role("listitem")).to_have_count(1)
    await fits_the_screen(phone)
    await axe_scan(phone)
    await shot(phone, "quizzes-import-errors-phone")


async def test_the_templates_download_and_the_xlsx_one_imports_as_it_is(
    projector: Page, projector_context: BrowserContext, http: ClientSession, tmp_path: Path
) -> None:
    teacher = await as_api_user(http, projector_context, await register(projector))
    section = await open_import(projector)
    saved: dict[str, Path] = {}
    for extension in ("csv", "xlsx"):
        async with projector.expect_download() as download_info:
            await section.get_by_role(
                "link", name=f"Download the {extension.upper()} template"
            ).click()
        download = await download_info.value
        assert download.suggested_filename.endswith(f".{extension}"), download.suggested_filename
        saved[extension] = tmp_path / download.suggested_filename
        await download.save_as(saved[extension])
    header = saved["csv"].read_bytes().splitlines()[0].decode("utf-8-sig").lower()
    assert "type" in header and "question" in header, header
    assert saved["xlsx"].read_bytes().startswith(b"PK"), "a workbook is a zip file"
    await axe_scan(projector)
    await shot(projector, "quizzes-import-projector")

    # The workbook, filled with its examples, is a quiz of every type as it comes.
    await choose_file(
        projector, section.get_by_role("button", name="Choose a table"), saved["xlsx"]
    )
    title = saved["xlsx"].stem
    await expect(item(projector, title)).to_contain_text("7 questions")
    [quiz] = await my_quizzes(teacher)
    _, full = await teacher.request("GET", f"/api/v1/quizzes/{quiz['id']}")
    assert [q["type"] for q in full["questions"]] == EXAMPLE_TYPES
