"""The phone after a question when the player is far down the leaderboard (issue 10
follow-ups): the gap to the player ahead comes from the server (`gap_to_next`), also
outside the top 5, and a reload during the reveal shows the same result again
(`welcome.your_result`). Eight players: seven real Socket.IO clients and the phone."""

from __future__ import annotations

import asyncio

from playwright.async_api import Page, expect

from tests.support.sockets import Recorder
from tests.support.users import ApiUser
from tests.web.player_support import check_state, connect_host, create_game, join_on_phone
from tests.web.test_presenter_game import long_quiz


async def test_eighth_place_sees_the_gap_and_keeps_it_after_a_reload(
    phone: Page, user: ApiUser, base_url: str
) -> None:
    game = await create_game(user, long_quiz(2))
    host = await connect_host(base_url, game)
    others = [Recorder(base_url) for _ in range(7)]
    try:
        for i, other in enumerate(others):
            await other.connect({"pin": game["pin"], "nickname": f"Runner {i}"})
            await other.wait("welcome")
        await join_on_phone(phone, game["pin"], "Ada")
        await host.wait("player_joined", count=8)
        assert (await host.call("start_game"))["ok"]
        # The seven answer right one after the other (60 s limit: different points each).
        for other in others:
            started = await other.wait("question_started")
            four = next(c["id"] for c in started["question"]["choices"] if c["text"] == "4")
            assert (await other.call("submit_answer", {"question_index": 0, "answer": four}))["ok"]
            await asyncio.sleep(0.15)
        await phone.get_by_role("button", name="5").click()
        # The phone's answer is the last one, so the question closes at once: "Answer
        # received" may show for a moment only, and the result below proves the answer.
        await host.wait("question_ended")

        board = (await host.call("get_leaderboard", {"limit": 100}))["entries"]
        lowest_right = min(e["score"] for e in board if e["score"] > 0)
        result = phone.get_by_role("status").filter(has_text="Wrong")
        await expect(result).to_contain_text("Rank 8")
        # Nobody in the top 5 is just ahead: only the server's gap can say this.
        await expect(result).to_contain_text(f"{lowest_right} points behind the player ahead")
        await check_state(phone, "result-gap-outside-top5")

        await phone.reload()
        result = phone.get_by_role("status").filter(has_text="Wrong")
        await expect(result).to_contain_text("Rank 8")
        await expect(result).to_contain_text(f"{lowest_right} points behind the player ahead")
        await expect(phone.get_by_text("Wait for the next question.")).to_be_visible()
        await check_state(phone, "result-after-reload")
    finally:
        for other in others:
            await other.close()
        await host.close()
