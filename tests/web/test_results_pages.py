"""The results pages in a real browser against the real server: a game really played
over Socket.IO (tests/web/results_support.py), then /results (newest first, paged),
/results/{game_id} with its three tabs (mouse and keyboard), both downloads, and a
player's own /results/{game_id}/me; axe scans and phone/desktop screenshots."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import uuid
from datetime import timedelta
from pathlib import Path

import openpyxl
from playwright.async_api import Browser, BrowserContext, Download, Page, expect

from classquiz.game.final import FinalPlayer
from classquiz.runtime import Services
from tests.support.apps import separate_app
from tests.support.results import BASE, finished_game
from tests.support.users import ApiUser, user_id
from tests.web.conftest import BrowserProblems, _context, axe_scan, shot
from tests.web.results_support import play_sample_game


async def sign_in_as(context: BrowserContext, user: ApiUser, app_url: str) -> None:
    """The session cookie a sign-in sets, with the user's real access token."""
    await context.add_cookies([{"name": "access_token", "value": user.token, "url": app_url}])


async def test_list_tabs_keyboard_and_downloads(
    user: ApiUser,
    base_url: str,
    app_url: str,
    svc: Services,
    projector_context: BrowserContext,
    projector: Page,
) -> None:
    played = await play_sample_game(user, base_url, title="Fractions, week 3")
    owner = await user_id(user)
    for i in range(21):  # older games, stored the way the engine stores them
        older = finished_game(owner, BASE + timedelta(minutes=i), title=f"Older game {i:02}")
        assert await svc.results.finish(older)
    await sign_in_as(projector_context, user, app_url)
    page = projector

    await page.goto("/quizzes")  # signed in: the header leads to the results
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Results").click()
    await expect(page).to_have_url(re.compile(r"/results$"))
    games = page.get_by_role("list", name="Finished games")
    await expect(games.get_by_role("listitem")).to_have_count(20)
    # Newest first: the game just played, then the older ones from the latest down.
    await expect(games.get_by_role("listitem").nth(0)).to_contain_text("Fractions, week 3")
    await expect(games.get_by_role("listitem").nth(0)).to_contain_text("3 players")
    await expect(games.get_by_role("listitem").nth(1)).to_contain_text("Older game 20")
    await expect(page.get_by_text("Page 1 of 2")).to_be_visible()
    await expect(page.get_by_role("link", name="Previous")).to_have_count(0)
    await axe_scan(page)
    await shot(page, "results-list-desktop")
    await page.get_by_role("link", name="Next").click()
    await expect(page).to_have_url(re.compile(r"/results\?page=2$"))
    await expect(games.get_by_role("listitem")).to_have_count(2)
    await expect(games.get_by_role("listitem").nth(1)).to_contain_text("Older game 00")
    await page.get_by_role("link", name="Previous").click()
    await expect(games.get_by_role("listitem")).to_have_count(20)

    await games.get_by_role("link", name="Fractions, week 3").click()
    await expect(page).to_have_url(re.compile(rf"/results/{played.game_id}$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Fractions, week 3")
    overview = page.get_by_role("tab", name="Overview")
    players = page.get_by_role("tab", name="Players")
    questions = page.get_by_role("tab", name="Questions")
    await expect(overview).to_have_attribute("aria-selected", "true")
    panel = page.get_by_role("tabpanel", name="Overview")
    # 11 of 17 graded answers right (the poll is left out): 65 %.
    await expect(panel).to_contain_text("Accuracy")
    await expect(panel).to_contain_text("65 %")
    hardest = panel.get_by_role("listitem")
    await expect(hardest).to_have_count(6)  # every graded question, none is the poll
    await expect(hardest.nth(0)).to_contain_text("Question 4: Capital of France?")
    await expect(hardest.nth(0)).to_contain_text("50 % correct")
    await axe_scan(page)
    await shot(page, "results-overview-desktop")

    # Keyboard: the arrows move between the tabs, focus follows, Home/End go to the ends.
    await overview.focus()
    await page.keyboard.press("ArrowRight")
    await expect(players).to_be_focused()
    await expect(players).to_have_attribute("aria-selected", "true")
    await expect(overview).to_have_attribute("tabindex", "-1")
    ranking = page.get_by_role("list", name="Ranking")
    await expect(ranking.locator(":scope > li")).to_have_count(3)
    ada = ranking.locator(":scope > li").nth(0)
    await expect(ada).to_contain_text("Ada")
    await expect(ada).to_contain_text("6 of 7 correct")
    await ada.get_by_text("Answers").click()
    await expect(ada).to_contain_text("Q1: 4")
    await expect(ada).to_contain_text("Q2: 2, 3")
    await expect(ada).to_contain_text("Q6: 1 → 2 → 3")
    await expect(ada).to_contain_text("Q7: Blue")
    chloe = ranking.locator(":scope > li").filter(has_text="Chloé")
    await chloe.get_by_text("Answers").click()
    await expect(chloe).to_contain_text("Q4: no answer")
    await axe_scan(page)
    await players.focus()  # back from the answers, to the tab list
    await page.keyboard.press("ArrowRight")
    await expect(questions).to_be_focused()
    await expect(questions).to_have_attribute("aria-selected", "true")
    await expect(page.get_by_role("tabpanel", name="Players")).to_be_hidden()

    single = page.get_by_role("list", name="Answers to question 1", exact=True)
    four = single.get_by_role("listitem").filter(has_text="4")
    await expect(four).to_contain_text("2 answers")
    await expect(four).to_contain_text("right answer")
    await expect(single.get_by_role("listitem").filter(has_text="3")).to_contain_text("1 answer")
    poll = page.get_by_role("list", name="Answers to question 7")
    await expect(poll.get_by_role("listitem").nth(1)).to_contain_text("Blue")
    await expect(poll.get_by_role("listitem").nth(1)).to_contain_text("2 answers")
    await expect(poll).not_to_contain_text("right answer")  # a poll has none
    text = page.get_by_role("list", name="Answers to question 4")
    await expect(text.get_by_role("listitem").filter(has_text="paris")).to_contain_text(
        "right answer"
    )
    slider = page.get_by_role("list", name="Answers to question 5")
    await expect(slider.get_by_role("listitem")).to_have_count(3)  # 45, 90, 91
    await expect(page.get_by_text("Right answer: 90 (± 2)")).to_be_visible()
    order = page.get_by_role("list", name="Answers to question 6")
    await expect(order.get_by_role("listitem").nth(0)).to_contain_text("1 → 2 → 3")
    await expect(order.get_by_role("listitem").nth(1)).to_contain_text("3 → 2 → 1")
    await axe_scan(page)
    await shot(page, "results-questions-desktop")

    await page.keyboard.press("ArrowRight")  # wraps around
    await expect(overview).to_be_focused()
    await page.keyboard.press("End")
    await expect(questions).to_have_attribute("aria-selected", "true")
    await page.keyboard.press("Home")
    await expect(overview).to_have_attribute("aria-selected", "true")
    await page.keyboard.press("ArrowLeft")
    await expect(questions).to_be_focused()

    async with page.expect_download() as info:
        await page.get_by_role("link", name="Download CSV").click()
    download = await info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO((await read(download)).decode("utf-8-sig"))))
    assert rows[0] == [
        "nickname", "rank", "score", "correct_count", "answered_count",
        "q1", "q2", "q3", "q4", "q5", "q6", "q7",
    ]  # fmt: skip
    assert rows[1][0] == "Ada" and len(rows) == 4
    chloe_row = next(r for r in rows if r[0] == "Chloé")
    assert chloe_row[1 + 4 + 3] == ""  # she skipped question 4: an empty cell
    assert chloe_row[1 + 4] == "0"  # question 1, wrong
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Download XLSX").click()
    download = await info.value
    workbook = openpyxl.load_workbook(io.BytesIO(await read(download)))
    assert workbook.sheetnames == ["Players", "Answers"]
    assert workbook["Players"].max_row == 4
    assert workbook["Answers"].max_row == 1 + 20  # 3 players × 7 questions, one skipped


async def read(download: Download) -> bytes:
    return await asyncio.to_thread(Path(await download.path()).read_bytes)


async def test_results_on_a_phone_and_for_strangers(
    user: ApiUser,
    other_user: ApiUser,
    base_url: str,
    app_url: str,
    phone_context: BrowserContext,
    phone: Page,
) -> None:
    played = await play_sample_game(user, base_url)
    page = phone
    await page.goto(f"/results/{played.game_id}")  # not signed in: the way in
    await expect(page.get_by_role("main").get_by_role("link", name="Sign in")).to_be_visible()

    await sign_in_as(phone_context, other_user, app_url)
    await page.goto(f"/results/{played.game_id}")  # another teacher's game: not found
    await expect(page.get_by_role("alert")).to_contain_text("do not exist", timeout=15_000)
    await expect(page.get_by_role("tab")).to_have_count(0)

    await sign_in_as(phone_context, user, app_url)
    await page.goto("/results")
    await expect(
        page.get_by_role("list", name="Finished games").get_by_role("listitem")
    ).to_have_count(1)
    await expect(page.get_by_role("link", name="Next")).to_have_count(0)
    await shot(page, "results-list-phone")
    await page.goto(f"/results/{played.game_id}")
    await expect(page.get_by_role("tab", name="Overview")).to_be_visible()
    await fits_the_screen(page)
    await axe_scan(page)
    await shot(page, "results-overview-phone")
    await page.get_by_role("tab", name="Questions").tap()
    await expect(page.get_by_role("list", name="Answers to question 1", exact=True)).to_be_visible()
    await fits_the_screen(page)
    await axe_scan(page)
    await shot(page, "results-questions-phone")
    await page.get_by_role("tab", name="Players").tap()
    await expect(page.get_by_role("list", name="Ranking").locator(":scope > li")).to_have_count(3)
    await fits_the_screen(page)
    await shot(page, "results-players-phone")


async def fits_the_screen(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert page.viewport_size is not None
    assert width <= page.viewport_size["width"], f"the page is {width} px wide"


async def test_a_players_own_results(
    user: ApiUser, base_url: str, phone_context: BrowserContext, phone: Page
) -> None:
    played = await play_sample_game(user, base_url)
    page = phone
    # A link with the token in its fragment: shown, and the token leaves the address bar.
    await page.goto(f"/results/{played.game_id}/me#token={played.player_tokens['Bruno']}")
    status = page.get_by_role("status")
    await expect(status).to_contain_text("Bruno")
    await expect(status).to_contain_text("1 of 7 correct")
    assert "token" not in page.url
    answers = page.get_by_role("list", name="Answers")
    await expect(answers.get_by_role("listitem")).to_have_count(7)
    await expect(answers.get_by_role("listitem").nth(0)).to_contain_text("✓ correct")
    await expect(answers.get_by_role("listitem").nth(6)).to_contain_text("poll")
    await fits_the_screen(page)
    await axe_scan(page)
    await shot(page, "results-me-phone")

    # The phone that played keeps the finished game (the player page's record, per PIN):
    # the page finds Chloé's token there, without any link.
    record = {
        "gameId": played.game_id,
        "nickname": "Chloé",
        "title": "Sample quiz",
        "final": {"rank": 2, "score": 0, "correct_count": 4, "question_count": 7},
        "playerToken": played.player_tokens["Chloé"],
    }
    await page.evaluate(
        "([key, value]) => localStorage.setItem(key, value)",
        [f"cq:player_final:{played.pin}", json.dumps(record)],
    )
    await page.goto(f"/results/{played.game_id}/me")
    await expect(page.get_by_role("status")).to_contain_text("Chloé")
    await expect(page.get_by_role("list", name="Answers").get_by_role("listitem")).to_have_count(6)

    # Another game's token, and no token at all: told so, nothing shown.
    await page.goto(f"/results/{played.game_id}/me")
    await page.evaluate("localStorage.clear()")
    await page.goto(f"/results/{played.game_id}/me")
    await expect(page.get_by_role("alert")).to_contain_text("no player link")
    other = await play_sample_game(user, base_url)
    await page.goto(f"/results/{played.game_id}/me#token={other.player_tokens['Ada']}")
    await expect(page.get_by_role("alert")).to_contain_text("no longer valid")
    await expect(page.get_by_role("status")).to_have_count(0)


async def test_players_tab_pages_a_big_class(
    user: ApiUser, app_url: str, svc: Services, projector_context: BrowserContext, projector: Page
) -> None:
    """30 players: the Players tab shows 25, then the other 5 (paged on the server)."""
    game = finished_game(await user_id(user), title="Big class")
    crowd = [
        FinalPlayer(
            player_id=uuid.uuid4(),
            nickname=f"Player {i:02}",
            score=3000 - i * 10,
            rank=i + 1,
            correct_count=0,
            answered_count=0,
        )
        for i in range(30)
    ]
    assert await svc.results.finish(game.model_copy(update={"players": crowd, "answers": []}))
    await sign_in_as(projector_context, user, app_url)
    page = projector
    await page.goto(f"/results/{game.game_id}")
    await page.get_by_role("tab", name="Players").click()
    ranking = page.get_by_role("list", name="Ranking").locator(":scope > li")
    await expect(ranking).to_have_count(25)
    await expect(ranking.nth(0)).to_contain_text("Player 00")
    previous = page.get_by_role("button", name="Previous")
    await expect(previous).to_be_disabled()
    await expect(page.get_by_text("Page 1 of 2")).to_be_visible()
    await page.get_by_role("button", name="Next").click()
    await expect(ranking).to_have_count(5)
    await expect(ranking.nth(0)).to_contain_text("Player 25")
    await expect(page.get_by_role("button", name="Next")).to_be_disabled()
    # Another tab and back: still on the second page.
    await page.get_by_role("tab", name="Overview").click()
    await page.get_by_role("tab", name="Players").click()
    await expect(ranking.nth(0)).to_contain_text("Player 25")
    await previous.click()
    await expect(ranking).to_have_count(25)


async def test_results_followed_before_they_are_stored(
    user: ApiUser, app_url: str, svc: Services, projector_context: BrowserContext, projector: Page
) -> None:
    """The presenter's Results link is followed as the game ends: the page waits for the
    results to be stored instead of saying at once that there are none."""
    game = finished_game(await user_id(user), title="Stored a moment later")
    await sign_in_as(projector_context, user, app_url)
    await projector.goto(f"/results/{game.game_id}")
    await asyncio.sleep(1.5)
    assert await svc.results.finish(game)
    await expect(projector.get_by_role("heading", level=1)).to_have_text(
        "Stored a moment later", timeout=10_000
    )
    await expect(projector.get_by_role("alert")).to_have_count(0)


async def test_the_host_deletes_a_games_results(
    user: ApiUser,
    base_url: str,
    app_url: str,
    svc: Services,
    projector_context: BrowserContext,
    projector: Page,
    phone: Page,
) -> None:
    """Delete results asks first (Cancel keeps them), then deletes them for good: the list
    says which went, the game's page and the players' own pages no longer show them."""
    played = await play_sample_game(user, base_url, title="Spelling test, draft")
    kept = finished_game(await user_id(user), title="Kept game")
    assert await svc.results.finish(kept)
    await sign_in_as(projector_context, user, app_url)
    page = projector
    await page.goto(f"/results/{played.game_id}")
    delete = page.get_by_role("button", name="Delete results")
    await delete.click()
    dialog = page.get_by_role("dialog", name="Delete these results?")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("Spelling test, draft")
    await axe_scan(page)
    await shot(page, "results-delete-confirm-desktop")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    status, _ = await user.request("GET", f"/api/v1/results/{played.game_id}")
    assert status == 200  # cancelled: nothing happened

    await delete.click()
    await dialog.get_by_role("button", name="Delete results").click()
    await expect(page).to_have_url(re.compile(r"/results$"))
    await expect(page.get_by_role("status")).to_have_text(
        "The results of “Spelling test, draft” were deleted."
    )
    games = page.get_by_role("list", name="Finished games")
    await expect(games.get_by_role("listitem")).to_have_count(1)
    await expect(games.get_by_role("listitem")).to_contain_text("Kept game")
    await axe_scan(page)
    await shot(page, "results-deleted-desktop")
    status, _ = await user.request("GET", f"/api/v1/results/{played.game_id}")
    assert status == 404
    # Said once: back on the list later, it is not said again.
    await games.get_by_role("link", name="Kept game").click()
    await expect(page.get_by_role("tab", name="Overview")).to_be_visible()
    await page.go_back()
    await expect(games.get_by_role("listitem")).to_have_count(1)
    await expect(page.get_by_role("status")).to_have_text("")

    await page.goto(f"/results/{played.game_id}")
    await expect(page.get_by_role("alert")).to_contain_text("do not exist", timeout=15_000)
    # A player who opens their own results afterwards is told why they are not there.
    await phone.goto(f"/results/{played.game_id}/me#token={played.player_tokens['Ada']}")
    await expect(phone.get_by_role("alert")).to_contain_text("deleted them")


async def test_a_server_with_a_retention_period_says_when_results_go(
    user: ApiUser,
    storage: dict[str, str],
    svc: Services,
    browser: Browser,
    browser_problems: BrowserProblems,
    projector_context: BrowserContext,
    projector: Page,
    app_url: str,
) -> None:
    """With RESULTS_RETENTION_DAYS set, a game's page says on which day the server deletes
    its results (a century here, so this app's purge never touches the run's games); the
    shared app, which keeps results, says nothing of the kind."""
    final = finished_game(await user_id(user), title="Kept a century")
    assert await svc.results.finish(final)
    prefix = f"{svc.settings.redis_prefix}-keep{uuid.uuid4().hex[:6]}"
    async with separate_app(storage, redis_prefix=prefix, results_retention_days=36_500) as app:
        url = str(app.make_url("")).rstrip("/")
        context = await _context(
            browser, browser_problems, url, viewport={"width": 1280, "height": 800}
        )
        try:
            await sign_in_as(context, user, url)
            page = await context.new_page()
            await page.goto(f"/results/{final.game_id}")
            await expect(page.get_by_role("heading", name="Kept a century")).to_be_visible()
            notice = page.get_by_text("This server deletes these results by itself on")
            await expect(notice).to_contain_text("2125")  # 36,500 days after January 2026
            await axe_scan(page)
            await shot(page, "results-retention-desktop")
        finally:
            await context.close()
    await sign_in_as(projector_context, user, app_url)
    await projector.goto(f"/results/{final.game_id}")
    await expect(projector.get_by_role("heading", name="Kept a century")).to_be_visible()
    await expect(projector.get_by_text("deletes these results by itself")).to_have_count(0)
