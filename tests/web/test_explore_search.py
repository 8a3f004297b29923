"""/explore in a real browser against the real server and its PostgreSQL search: searching
as you type with a typo, tag and language filters, private quizzes never shown, paging,
the preview, the empty state, and a search engine that is down (503, for real: a server
of its own pointed at a Meilisearch address where nothing listens)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from urllib.parse import parse_qs, urlparse

from aiohttp import ClientSession
from playwright.async_api import Browser, Page, Request, Route, expect
from playwright.async_api import Error as PlaywrightError

from tests.support.apps import separate_app
from tests.support.users import ApiUser
from tests.web.conftest import BrowserProblems, _context, axe_scan, shot
from tests.web.explore_support import make_quiz, unique_word, wait_until_found, with_typo
from tests.web.test_teacher_quizzes import fits_the_screen


def search_requests(page: Page) -> list[dict[str, list[str]]]:
    """The query of every GET /api/v1/search the page sends from now on."""
    seen: list[dict[str, list[str]]] = []

    def note(request: Request) -> None:
        url = urlparse(request.url)
        if url.path == "/api/v1/search":
            seen.append(parse_qs(url.query, keep_blank_values=True))

    page.on("request", note)
    return seen


async def test_typing_with_a_typo_finds_public_quizzes_and_never_private_ones(
    projector: Page, user: ApiUser, http: ClientSession
) -> None:
    word = unique_word()
    await make_quiz(
        user,
        title=f"Volcanoes and {word}",
        description="Lava, ash and plate tectonics",
        tags=["geology", "Earth"],
        public=True,
    )
    await make_quiz(user, title=f"Rivers of {word}", tags=["geography"], public=True)
    await make_quiz(user, title=f"Secret {word} test", tags=["geology"], public=False)
    await make_quiz(user, title=f"Vulkane und {word}", tags=["geology"], language="de", public=True)
    typo = with_typo(word)
    await wait_until_found(http, typo, 3)

    await projector.goto("/explore")
    await expect(projector.get_by_role("heading", level=1)).to_have_text("Explore quizzes")
    status = projector.get_by_role("status").filter(has_text="newest first")
    await expect(status).to_be_visible()  # browsing: the newest public quizzes
    requests = search_requests(projector)

    box = projector.get_by_role("searchbox", name="Search quizzes")
    await box.press_sequentially(typo, delay=30)
    results = projector.get_by_role("list", name="Search results")
    await expect(projector.get_by_role("status")).to_have_text(f"3 quizzes found for “{typo}”")
    await expect(results.locator(":scope > li")).to_have_count(3)
    for title in (f"Volcanoes and {word}", f"Rivers of {word}", f"Vulkane und {word}"):
        await expect(results.get_by_role("heading", name=title)).to_be_visible()
    await expect(projector.get_by_text(f"Secret {word} test")).to_have_count(0)
    # Typing waited for a pause: one request for the whole word, not one per letter.
    typed = [r.get("q", [""])[0] for r in requests]
    assert typed[-1] == typo and len(typed) < len(typo), typed

    hit = results.get_by_role("article", name=f"Volcanoes and {word}")
    await expect(hit).to_contain_text("Lava, ash and plate tectonics")
    await expect(hit).to_contain_text("7 questions")
    await expect(hit).to_contain_text(f"by {user.username}")
    await expect(hit).to_contain_text("English")
    await expect(hit.get_by_role("list", name="Tags")).to_contain_text("#geology")
    for name in ("Host", "Copy to my quizzes", "Preview"):
        await expect(hit.get_by_role("button", name=name, exact=True)).to_be_visible()
    await axe_scan(projector)
    await shot(projector, "explore-search-desktop")

    # A tag chip from the results narrows to the quizzes carrying it (private still hidden).
    suggested = projector.get_by_role("list", name="Tags in these results")
    await suggested.get_by_role("button", name="Filter by tag geology").click()
    await expect(projector.get_by_role("status")).to_have_text(f"2 quizzes found for “{typo}”")
    await expect(results.locator(":scope > li")).to_have_count(2)
    await expect(projector.get_by_text(f"Secret {word} test")).to_have_count(0)
    chosen = projector.get_by_role("list", name="Tag filters")
    await expect(chosen.get_by_role("button", name="Remove tag filter geology")).to_be_visible()
    await expect(projector).to_have_url(re.compile(r"tag=geology"))

    # The language filter: only the German one.
    await projector.get_by_role("combobox", name="Quiz language").select_option("de")
    await expect(projector.get_by_role("status")).to_have_text(f"1 quiz found for “{typo}”")
    await expect(results.get_by_role("heading", name=f"Vulkane und {word}")).to_be_visible()

    # A typed tag no public quiz carries: said plainly, with a way out.
    await projector.get_by_role("combobox", name="Quiz language").select_option("")
    await projector.get_by_role("textbox", name="Filter by a tag").fill("nosuchtag" + word)
    await projector.get_by_role("button", name="Add tag").click()
    await expect(projector.get_by_role("status")).to_have_text(
        "No public quiz matches this search."
    )
    await expect(projector.get_by_text("remove a tag filter")).to_be_visible()
    await axe_scan(projector)
    await shot(projector, "explore-empty-desktop")
    await projector.get_by_role("button", name="Clear search and filters").click()
    await expect(box).to_have_value("")
    await expect(status).to_be_visible()


async def test_a_slow_answer_to_an_old_query_never_replaces_the_new_one(
    projector: Page, user: ApiUser, http: ClientSession
) -> None:
    old_word, new_word = unique_word(), unique_word()
    await make_quiz(user, title=f"Old {old_word}", public=True)
    await make_quiz(user, title=f"New {new_word}", public=True)
    await wait_until_found(http, old_word, 1)
    await wait_until_found(http, new_word, 1)
    await projector.goto("/explore")
    await expect(projector.get_by_role("status")).to_contain_text("newest first")

    # The server's answer to the first query reaches the browser 2 s late (the real
    # answer, held back on the way); the page has moved on to the second query by then.
    held: list[str] = []

    async def hold_old_answers(route: Route) -> None:
        if parse_qs(urlparse(route.request.url).query).get("q") == [old_word]:
            held.append(old_word)
            await asyncio.sleep(2)
        with contextlib.suppress(PlaywrightError):  # the page aborted it meanwhile
            await route.continue_()

    await projector.route("**/api/v1/search?*", hold_old_answers)
    failed: list[str] = []
    projector.on(
        "requestfailed",
        lambda request: failed.append(request.url) if "/api/v1/search" in request.url else None,
    )
    box = projector.get_by_role("searchbox", name="Search quizzes")
    await box.fill(old_word)
    for _ in range(100):  # until the old query went out
        if held:
            break
        await asyncio.sleep(0.05)
    assert held == [old_word]
    await box.fill(new_word)
    results = projector.get_by_role("list", name="Search results")
    await expect(results.get_by_role("heading", name=f"New {new_word}")).to_be_visible()
    await projector.wait_for_timeout(2500)  # the held answer is long due now
    await expect(results.locator(":scope > li")).to_have_count(1)
    await expect(results.get_by_role("heading", name=f"New {new_word}")).to_be_visible()
    await expect(projector.get_by_role("status")).to_have_text(f"1 quiz found for “{new_word}”")
    assert any(f"q={old_word}" in url for url in failed), f"old request not aborted: {failed}"


async def test_preview_shows_the_questions_of_a_public_quiz(
    phone: Page, user: ApiUser, http: ClientSession
) -> None:
    word = unique_word()
    await make_quiz(user, title=f"Preview {word}", tags=["maths"], public=True)
    await wait_until_found(http, word, 1)

    await phone.goto(f"/explore?q={word}")
    await expect(phone.get_by_role("searchbox", name="Search quizzes")).to_have_value(word)
    hit = phone.get_by_role("article", name=f"Preview {word}")
    await expect(hit).to_be_visible()
    await axe_scan(phone)
    await fits_the_screen(phone)
    await shot(phone, "explore-search-phone")

    await hit.get_by_role("button", name="Preview").click()
    dialog = phone.get_by_role("dialog", name="Preview")
    questions = dialog.get_by_role("list", name="Questions")
    await expect(questions.locator(":scope > li")).to_have_count(7)
    await expect(questions).to_contain_text("2 + 2?")
    await expect(questions).to_contain_text("Capital of France?")
    await expect(questions.locator(":scope > li").first).to_contain_text("Question 1 · One answer")
    await axe_scan(phone)
    await fits_the_screen(phone)
    await shot(phone, "explore-preview-phone")
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_be_hidden()


async def test_load_more_pages_through_every_hit_once(
    projector: Page, user: ApiUser, http: ClientSession
) -> None:
    word = unique_word()
    for n in range(23):
        await make_quiz(user, title=f"Paging {word} {n:02d}", public=True)
    await wait_until_found(http, word, 23)

    await projector.goto(f"/explore?q={word}")
    results = projector.get_by_role("list", name="Search results")
    await expect(results.locator(":scope > li")).to_have_count(20)
    await projector.get_by_role("button", name="Load more").click()
    await expect(results.locator(":scope > li")).to_have_count(23)
    await expect(projector.get_by_role("button", name="Load more")).to_have_count(0)
    titles = await results.get_by_role("heading").all_inner_texts()
    assert sorted(titles) == [f"Paging {word} {n:02d}" for n in range(23)]


async def test_a_search_engine_that_is_down_is_said_plainly(
    browser: Browser,
    browser_problems: BrowserProblems,
    storage: dict[str, str],
    app_url: str,  # the shared server owns the database connection the second app uses
) -> None:
    # Nothing listens on port 9 of this machine: every search gets 503 search_unavailable.
    prefix = storage["redis_prefix"] + "explore503" + uuid.uuid4().hex[:6]
    async with separate_app(
        storage, redis_prefix=prefix, meilisearch_url="http://127.0.0.1:9"
    ) as server:
        url = str(server.make_url("")).rstrip("/")
        async with ClientSession(url) as http:
            async with http.get("/api/v1/search", params={"q": "maths"}) as resp:
                assert resp.status == 503
                assert (await resp.json())["error"]["code"] == "search_unavailable"
        context = await _context(
            browser, browser_problems, url, viewport={"width": 1280, "height": 800}
        )
        try:
            page = await context.new_page()
            await page.goto("/explore")
            alert = page.get_by_role("alert")
            await expect(alert).to_contain_text("Search is not available right now")
            await page.get_by_role("searchbox", name="Search quizzes").fill("maths")
            await expect(alert).to_contain_text("Search is not available right now")
            await expect(page.get_by_role("list", name="Search results")).to_have_count(0)
            await axe_scan(page)
            await shot(page, "explore-unavailable-desktop")
            await page.get_by_role("button", name="Try again").click()
            await expect(alert).to_contain_text("Search is not available right now")
        finally:
            await context.close()
