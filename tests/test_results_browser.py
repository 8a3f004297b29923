"""What the results pages of the web app read, against the real server and database:
the Overview numbers in the stats call, the Players tab's paged players with their
answers, and downloads that work as a plain browser link with the session cookie."""

from __future__ import annotations

import csv
import io

from aiohttp import ClientSession

from classquiz.runtime import Services
from tests.support.results import NICKS, PLAN, finished_game
from tests.support.users import ApiUser, user_id


async def test_overview_numbers(user: ApiUser, svc: Services) -> None:
    final = finished_game(await user_id(user))
    await svc.results.finish(final)
    status, stats = await user.request("GET", f"/api/v1/results/{final.game_id}")
    assert status == 200, stats
    # Graded questions 0, 1 and 3: 3 + 2 + 2 correct of 4 + 4 + 5 answers (the poll is left out).
    assert stats["accuracy"] == 7 / 13
    assert stats["answers_count"] == len(PLAN) == 18
    # Every answer's elapsed time: 61,502 ms over 18 answers = 3,416.8, rounded half up.
    assert stats["avg_time_ms"] == 3417
    assert stats["hardest_questions"] == [3, 1, 0]  # accuracy 0.4, 0.5, 0.75; no poll
    assert stats["hardest_question"] == 3
    assert stats["game"]["players_count"] == len(NICKS)


async def test_overview_of_a_game_nobody_answered(user: ApiUser, svc: Services) -> None:
    final = finished_game(await user_id(user)).model_copy(update={"answers": []})
    await svc.results.finish(final)
    status, stats = await user.request("GET", f"/api/v1/results/{final.game_id}")
    assert status == 200
    assert (stats["accuracy"], stats["avg_time_ms"], stats["answers_count"]) == (None, None, 0)
    assert stats["hardest_questions"] == []


async def test_players_tab_pages_players_with_their_answers(
    user: ApiUser, other_user: ApiUser, svc: Services
) -> None:
    final = finished_game(await user_id(user))
    await svc.results.finish(final)
    path = f"/api/v1/results/{final.game_id}/players"
    status, page = await user.request("GET", f"{path}?limit=2")
    assert status == 200, page
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 0)
    assert [p["nickname"] for p in page["items"]] == ["Ada", "Ann"]
    ada = page["items"][0]
    assert (ada["rank"], ada["score"], ada["correct_count"], ada["answered_count"]) == (
        1,
        2800,
        2,
        4,
    )
    assert set(ada["answers"][0]) == {
        "question_index", "answer", "correct", "points", "elapsed_ms"
    }  # fmt: skip
    assert [tuple(a.values()) for a in ada["answers"]] == [
        (0, 1, True, 950, 2000),
        (1, [0, 1], True, 1850, 3000),
        (2, 0, None, 0, 1000),
        (3, "Lyon", False, 0, 1000),
    ]
    status, page = await user.request("GET", f"{path}?limit=2&offset=3")
    assert [p["nickname"] for p in page["items"]] == ["Zoë", "=SUM(1)"]
    zoe = page["items"][0]
    # Zoë skipped question 1: three answers, none for index 1.
    assert [a["question_index"] for a in zoe["answers"]] == [0, 2, 3]
    assert all(p["game_id"] == str(final.game_id) for p in page["items"])

    status, body = await other_user.request("GET", path)
    assert status == 404 and body["error"]["code"] == "game_not_found"
    status, _ = await user.request("GET", f"{path}?limit=101")
    assert status == 422


async def test_downloads_work_as_a_browser_link_with_the_cookie(
    user: ApiUser, base_url: str, svc: Services
) -> None:
    final = finished_game(await user_id(user))
    await svc.results.finish(final)
    cookie = {"Cookie": f"access_token={user.token}"}
    async with ClientSession(base_url) as browser:
        for fmt, kind in (("csv", "text/csv"), ("xlsx", "spreadsheetml.sheet")):
            async with browser.get(
                f"/api/v1/results/{final.game_id}/export?format={fmt}", headers=cookie
            ) as resp:
                assert resp.status == 200
                assert kind in resp.content_type
                assert resp.headers["Content-Disposition"].startswith("attachment;")
                assert f".{fmt}" in resp.headers["Content-Disposition"]
                body = await resp.read()
            if fmt == "csv":
                rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
                # The nickname `=SUM(1)` cannot run as a formula in a spreadsheet app.
                assert rows[-1][0] == "'=SUM(1)"
        async with browser.get(f"/api/v1/results/{final.game_id}/export?format=csv") as resp:
            assert resp.status == 401  # no cookie, no file
