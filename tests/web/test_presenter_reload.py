"""A presenter that reloads draws everything from the host's `welcome` (issue 10 follow-ups):
the open question's "N of M answered", the reveal (distribution, leaderboard, movement) and
the lock, which a full game must not be mistaken for. Real browser, real server, real
python-socketio players."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page, expect

from tests.support.users import ApiUser
from tests.web.conftest import axe_scan, shot
from tests.web.test_presenter_game import Players, answered, create_game, long_quiz, open_lobby


@pytest.fixture
async def players(base_url: str) -> AsyncIterator[Players]:
    crowd = Players(base_url)
    yield crowd
    await crowd.close()


async def test_reload_mid_question_and_in_the_reveal_keeps_count_distribution_and_movement(
    projector: Page, user: ApiUser, players: Players
) -> None:
    game = await create_game(user, long_quiz(2))
    await open_lobby(projector, game)
    ada = await players.join(game["pin"], "Ada")
    bob = await players.join(game["pin"], "Bob")
    await players.join(game["pin"], "Cy")
    await expect(
        projector.get_by_role("list", name="Players").get_by_role("listitem")
    ).to_have_count(3)
    await projector.get_by_role("button", name="Start game").click()
    await ada.wait("question_started")
    assert (await ada.call("submit_answer", {"question_index": 0, "answer": 1}))["ok"]
    assert (await bob.call("submit_answer", {"question_index": 0, "answer": 0}))["ok"]
    await expect(answered(projector)).to_have_text("2 of 3 answered")

    # Mid-question: the count comes back from the welcome (it used to restart at 0).
    await projector.reload()
    await expect(projector.get_by_role("timer")).to_be_visible()
    await expect(answered(projector)).to_have_text("2 of 3 answered")

    await projector.get_by_role("button", name="End question").click()
    distribution = projector.get_by_role("list", name="Answers")
    board = projector.get_by_role("list", name="Leaderboard")
    await expect(distribution.get_by_role("listitem")).to_have_count(3)
    await expect(board.get_by_role("listitem").first).to_contain_text("Ada")

    # In the reveal: the distribution and the leaderboard come back.
    await projector.reload()
    await expect(distribution.get_by_role("listitem")).to_have_count(3)
    await expect(distribution.get_by_role("listitem").nth(1)).to_contain_text("1")
    await expect(distribution.get_by_text("correct", exact=True)).to_have_count(1)
    await expect(projector.get_by_text("Correct answer: 4")).to_be_visible()
    await expect(board.get_by_role("listitem")).to_have_count(3)
    await expect(board.get_by_role("listitem").first).to_contain_text("Ada")
    await axe_scan(projector)

    # Question 2: Bob overtakes Ada. After a reload in that reveal the movement is still
    # measured against the ranks of the first reveal (kept in the tab's session storage).
    await projector.get_by_role("button", name="Next question").click()
    await bob.wait("question_started", count=2)
    assert (await bob.call("submit_answer", {"question_index": 1, "answer": [0, 1]}))["ok"]
    assert (await ada.call("submit_answer", {"question_index": 1, "answer": [2]}))["ok"]
    await projector.get_by_role("button", name="End question").click()
    await expect(board.get_by_role("listitem").first).to_contain_text("Bob")
    await expect(board.get_by_role("listitem").first).to_contain_text("up 1")
    await projector.reload()
    await expect(board.get_by_role("listitem").first).to_contain_text("Bob")
    await expect(board.get_by_role("listitem").first).to_contain_text("up 1")
    await expect(board.get_by_role("listitem").nth(1)).to_contain_text("down 1")
    await expect(distribution.get_by_role("listitem")).to_have_count(3)
    await shot(projector, "presenter-reloaded-reveal-distribution")


async def test_a_full_game_is_not_shown_as_locked(
    projector: Page, user: ApiUser, players: Players
) -> None:
    game = await create_game(user, long_quiz(2), max_players=1)
    await open_lobby(projector, game)
    await players.join(game["pin"], "Ada")
    await expect(projector.get_by_role("list", name="Players")).to_contain_text("Ada")
    # Full (GET /games/{pin} says accepting_players: false), but not locked.
    await projector.reload()
    await expect(projector.get_by_role("list", name="Players")).to_contain_text("Ada")
    await expect(projector.get_by_role("button", name="Lock game")).to_be_visible()
    await expect(projector.get_by_role("button", name="Unlock game")).to_have_count(0)
    # Locking it and reloading shows it locked.
    await projector.get_by_role("button", name="Lock game").click()
    await expect(projector.get_by_role("button", name="Unlock game")).to_be_visible()
    await projector.reload()
    await expect(projector.get_by_role("button", name="Unlock game")).to_be_visible()
