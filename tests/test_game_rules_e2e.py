"""SPEC §4/§5 over real sockets: timing, refused commands, invalid answers, handshake refusals."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import ClientSession
from redis.asyncio import Redis

from classquiz.config import Settings
from classquiz.game.rules import GRACE_MS, base_points
from classquiz.game.store import GameStore
from tests.support.live import SocketGroup, create_game, paced, stored_results, wait_disconnected
from tests.support.quizzes import single_choice
from tests.support.users import ApiUser

# -- helpers ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
async def fresh_failure_budget(settings: Settings) -> AsyncIterator[None]:
    """These tests fail handshakes on purpose; keep them from rate-limiting 127.0.0.1."""
    redis = Redis.from_url(settings.require_redis_url())

    async def reset() -> None:
        async for key in redis.scan_iter(match=f"{settings.redis_prefix}:rl:*", count=1000):
            await redis.delete(key)

    await reset()
    try:
        yield
    finally:
        await reset()
        await redis.aclose()


def code(ack: dict[str, Any]) -> str:
    assert ack.get("ok") is False, ack
    assert set(ack["error"]) >= {"code", "message"}, ack
    return ack["error"]["code"]


# -- game flow and timing ------------------------------------------------------------------------


async def test_commands_in_the_wrong_state(user: ApiUser, sockets: SocketGroup) -> None:
    game = await create_game(user, [single_choice(), single_choice("Second")])
    host = await sockets.host(game)
    ada = await sockets.player(game, "Ada")
    bob = await sockets.player(game, "Bob")

    # Before start_game: no question is open.
    assert code(await paced(ada, "submit_answer", {"question_index": 0, "answer": 0})) == (
        "wrong_state"
    )
    assert code(await paced(host, "end_question")) == "wrong_state"
    assert code(await paced(host, "next_question")) == "wrong_state"
    # Each role's events are refused to the other role.
    assert code(await paced(ada, "start_game")) == "forbidden"
    assert code(await paced(ada, "end_game")) == "forbidden"
    assert code(await paced(host, "submit_answer", {"question_index": 0, "answer": 0})) == (
        "forbidden"
    )
    assert code(await paced(host, "kick_player", {"player_id": str(uuid.uuid4())})) == (
        "player_not_found"
    )

    assert await paced(host, "start_game") == {"ok": True, "question_index": 0}
    assert code(await paced(host, "start_game")) == "wrong_state"
    assert code(await paced(host, "next_question")) == "wrong_state"  # a question is open
    assert (await paced(ada, "submit_answer", {"question_index": 0, "answer": 0}))["ok"] is True
    assert code(await paced(ada, "submit_answer", {"question_index": 0, "answer": 1})) == (
        "already_answered"
    )
    assert (await paced(bob, "submit_answer", {"question_index": 0, "answer": 1}))["ok"] is True
    ended = await host.wait("question_ended")  # everyone answered: ended by the server
    assert ended["answered"] == 2
    # After the question ended by itself, a late answer meets a closed question.
    assert code(await paced(ada, "submit_answer", {"question_index": 0, "answer": 0})) == (
        "wrong_state"
    )
    assert code(await paced(host, "end_question")) == "wrong_state"
    assert await paced(host, "next_question") == {"ok": True, "question_index": 1}
    # An answer to the previous question while the next one is open.
    assert code(await paced(bob, "submit_answer", {"question_index": 0, "answer": 0})) == (
        "wrong_question"
    )


async def test_question_ends_by_itself_at_the_deadline(
    http: ClientSession, user: ApiUser, sockets: SocketGroup
) -> None:
    game = await create_game(user, [single_choice(time_limit_s=5), single_choice("Second")])
    host = await sockets.host(game)
    ada = await sockets.player(game, "Ada")
    await sockets.player(game, "Bob")

    assert await host.call("start_game") == {"ok": True, "question_index": 0}
    started = await ada.wait("question_started")
    assert started["deadline_at_ms"] - started["opens_at_ms"] == 5000
    ended = await host.wait("question_ended", timeout=10)  # no host command
    arrived_ms = time.time() * 1000
    assert arrived_ms >= started["deadline_at_ms"] + GRACE_MS - 50
    assert arrived_ms <= started["deadline_at_ms"] + GRACE_MS + 1500
    assert ended["answered"] == 0 and ended["distribution"] == {}
    result = await ada.wait("your_result")
    assert result == {
        "question_index": 0,
        "answered": False,
        "correct": False,
        "points": 0,
        "streak": 0,
        "score": 0,
        "rank": 1,
    }
    async with http.get(f"/api/v1/games/{game['pin']}") as resp:
        assert (await resp.json())["status"] == "reveal"
    assert code(await ada.call("submit_answer", {"question_index": 0, "answer": 0})) == (
        "wrong_state"
    )
    assert len(host.events["question_ended"]) == 1


async def test_too_late_in_the_answer_script(settings: Settings) -> None:
    """An answer after deadline + grace while the question is still open gets `too_late`."""
    redis = Redis.from_url(settings.require_redis_url())
    store = GameStore(redis, settings.redis_prefix, 60)
    pin = f"late{uuid.uuid4().hex[:8]}"
    keys = store.keys(pin)
    player = str(uuid.uuid4())
    try:
        seconds, micros = await redis.time()
        now = seconds * 1000 + micros // 1000
        limit = 5000
        await redis.hset(
            keys.game,
            mapping={
                "status": "question",
                "qi": 0,
                "opens_at": now - limit - GRACE_MS - 800,
                "deadline_at": now - GRACE_MS - 800,
                "active": 1,
                "id": "late-game",
            },
        )
        await redis.hset(keys.online, player, "sid")
        await redis.hset(keys.players, player, '{"n":"Late","k":"late"}')

        async def submit(correct: bool = True, qi: int = 0) -> Any:
            return await store.submit(
                pin,
                game_id="late-game",
                player_id=player,
                question_index=qi,
                correct=correct,
                points=1,
                time_limit_ms=limit,
                streak_bonus=True,
                grace_ms=GRACE_MS,
                stored=1,
                buckets=("1",),
            )

        late = await submit()
        assert late.code == "too_late", late
        assert not await redis.hexists(keys.answers(0), player)
        assert await redis.zscore(keys.scores, player) is None

        # Within the grace it counts, with the elapsed time clamped to the limit.
        await redis.hset(keys.game, "deadline_at", now - GRACE_MS + 1000)
        await redis.hset(keys.game, "opens_at", now - limit - 200)
        ok = await submit()
        assert ok.code == "ok", ok
        _, points, answered, everyone = ok.values
        record = orjson.loads(await redis.hget(keys.answers(0), player))
        assert record["e"] == limit and record["c"] == 1
        assert points == record["p"] == base_points(1, limit, limit) == 500
        assert answered == 1 and everyone == 1
        assert (await submit()).code == "already_answered"
        assert (await submit(qi=1)).code == "wrong_question"
        await redis.hset(keys.game, "deadline_at", now - GRACE_MS - 800)
        assert (await submit()).code == "too_late"  # late wins over already answered
        await redis.hset(keys.game, "status", "reveal")
        assert (await submit()).code == "wrong_state"
        assert await redis.zscore(keys.scores, player) == 500  # scored once
    finally:
        await redis.delete(*keys.all(2))
        await redis.aclose()


async def test_auto_end_off_keeps_the_question_open(
    http: ClientSession, user: ApiUser, sockets: SocketGroup
) -> None:
    game = await create_game(
        user, [single_choice(), single_choice("Second")], settings={"auto_end_question": False}
    )
    host = await sockets.host(game)
    ada = await sockets.player(game, "Ada")
    bob = await sockets.player(game, "Bob")
    assert await host.call("start_game") == {"ok": True, "question_index": 0}
    acks = await asyncio.gather(
        ada.call("submit_answer", {"question_index": 0, "answer": 0}),
        bob.call("submit_answer", {"question_index": 0, "answer": 2}),
    )
    assert all(a["ok"] for a in acks), acks
    await asyncio.sleep(0.8)
    assert not host.events["question_ended"]
    async with http.get(f"/api/v1/games/{game['pin']}") as resp:
        assert (await resp.json())["status"] == "question"
    assert code(await host.call("next_question")) == "wrong_state"  # still open
    assert await host.call("end_question") == {"ok": True}
    ended = await host.wait("question_ended")
    assert ended["answered"] == 2 and ended["distribution"] == {"0": 1, "2": 1}
    assert ended["correct"] == [0]


async def test_end_game_during_a_question_keeps_the_answers(
    http: ClientSession, user: ApiUser, sockets: SocketGroup
) -> None:
    game = await create_game(user, [single_choice(), single_choice("Second")])
    host = await sockets.host(game)
    ada = await sockets.player(game, "Ada")
    bob = await sockets.player(game, "Bob")
    assert await host.call("start_game") == {"ok": True, "question_index": 0}
    ack = await ada.call("submit_answer", {"question_index": 0, "answer": 0})
    assert ack["ok"] is True
    assert await host.call("end_game") == {"ok": True, "game_id": game["game_id"]}
    finished = await bob.wait("game_finished")
    assert finished["players_count"] == 2
    assert finished["podium"][0]["nickname"] == "Ada" and finished["podium"][0]["rank"] == 1
    final = await ada.wait("final_result")
    assert final["correct_count"] == 1 and final["score"] >= 500 and final["rank"] == 1
    assert (await bob.wait("final_result"))["score"] == 0
    assert code(await bob.call("submit_answer", {"question_index": 0, "answer": 0})) == (
        "wrong_state"
    )

    stats = await stored_results(user, game["game_id"])
    assert stats["questions"][0]["answered"] == 1
    assert stats["questions"][0]["distribution"] == {"0": 1}
    assert stats["questions"][1]["answered"] == 0
    rows = {p["nickname"]: p for p in stats["players"]}
    assert rows["Ada"]["score"] == final["score"] and rows["Ada"]["answered_count"] == 1
    assert rows["Bob"]["answered_count"] == 0
    token = (ada.events["welcome"][0])["player"]["player_token"]
    async with http.get(
        f"/api/v1/results/{game['game_id']}/me", headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        own = await resp.json()
    assert [(a["question_index"], a["answer"], a["correct"]) for a in own["answers"]] == [
        (0, 0, True)
    ]
    assert own["answers"][0]["points"] == final["score"]


# -- invalid answers ---------------------------------------------------------------------------


async def test_invalid_answers(user: ApiUser, sockets: SocketGroup) -> None:
    questions = [
        single_choice(),
        {
            "type": "multiple",
            "text": "Two",
            "time_limit_s": 30,
            "choices": [
                {"text": "A", "correct": True},
                {"text": "B", "correct": True},
                {"text": "C"},
            ],
        },
        {
            "type": "order",
            "text": "Order",
            "time_limit_s": 30,
            "choices": [{"text": "1"}, {"text": "2"}, {"text": "3"}],
        },
        {
            "type": "slider",
            "text": "Slide",
            "time_limit_s": 30,
            "slider": {"min": 0, "max": 100, "step": 10, "correct": 50, "tolerance": 0},
        },
        {"type": "text", "text": "Word", "time_limit_s": 30, "accepted_answers": ["yes"]},
    ]
    game = await create_game(user, questions)
    host = await sockets.host(game)
    ada = await sockets.player(game, "Ada")
    bob = await sockets.player(game, "Bob")

    async def expect(qi: int, answer: Any, expected: str, field: str | None = None) -> None:
        ack = await paced(ada, "submit_answer", {"question_index": qi, "answer": answer})
        assert code(ack) == expected, (qi, answer, ack)
        if field is not None:
            # (a union's member may follow the field name: "answer.int")
            assert ack["error"].get("field", "").split(".")[0] == field, ack

    async def finish(qi: int, valid: Any, other: Any) -> dict[str, Any]:
        ack = await paced(ada, "submit_answer", {"question_index": qi, "answer": valid})
        assert ack["ok"] is True, (qi, valid, ack)
        ack = await paced(bob, "submit_answer", {"question_index": qi, "answer": other})
        assert ack["ok"] is True, ack
        ended = await host.wait("question_ended", count=qi + 1)
        assert ended["answered"] == 2
        return ended

    assert (await host.call("start_game"))["ok"]
    await ada.wait("question_started")
    # single
    await expect(1, [0], "wrong_question")  # exists, but is not the open one
    await expect(99, 0, "wrong_question")
    await expect(0, 3, "invalid_answer")
    await expect(0, -1, "invalid_answer")
    await expect(0, "1", "invalid_answer")
    await expect(0, [1], "invalid_answer")
    await expect(0, 1.0, "invalid_answer")
    await expect(0, True, "invalid_payload", "answer")
    await expect(0, None, "invalid_payload", "answer")
    await expect(0, {"id": 1}, "invalid_payload", "answer")
    ack = await paced(ada, "submit_answer", {"question_index": "0", "answer": 0})
    assert code(ack) == "invalid_payload" and ack["error"]["field"] == "question_index"
    ack = await paced(ada, "submit_answer", {"question_index": 0})
    assert code(ack) == "invalid_payload" and ack["error"]["field"] == "answer"
    ack = await paced(ada, "submit_answer", {"question_index": 0, "answer": 0, "x": 1})
    assert code(ack) == "invalid_payload"
    assert code(await paced(ada, "submit_answer", [0, 0])) == "invalid_payload"
    await finish(0, 0, 1)  # the refusals did not use up the answer

    assert (await host.call("next_question"))["ok"]
    await ada.wait("question_started", count=2)
    # multiple
    await expect(1, [], "invalid_answer")
    await expect(1, [0, 0], "invalid_answer")
    await expect(1, [0, 5], "invalid_answer")
    await expect(1, 0, "invalid_answer")
    ended = await finish(1, [1, 0], [0])
    assert ended["distribution"] == {"0": 2, "1": 1}

    assert (await host.call("next_question"))["ok"]
    await ada.wait("question_started", count=3)
    # order: every choice id exactly once
    await expect(2, [0, 1], "invalid_answer")
    await expect(2, [0, 0, 1], "invalid_answer")
    await expect(2, [0, 1, 2, 3], "invalid_answer")
    await expect(2, [0, 1, 3], "invalid_answer")
    await expect(2, 0, "invalid_answer")
    ended = await finish(2, [0, 1, 2], [2, 1, 0])
    assert ended["distribution"] == {"0,1,2": 1, "2,1,0": 1}

    assert (await host.call("next_question"))["ok"]
    await ada.wait("question_started", count=4)
    # slider: within [min, max]; off the step grid is fine
    await expect(3, 101, "invalid_answer")
    await expect(3, -0.5, "invalid_answer")
    await expect(3, "50", "invalid_answer")
    await expect(3, [50], "invalid_answer")
    ended = await finish(3, 50, 33.5)
    assert ended["distribution"] == {"50": 1, "33.5": 1}
    assert (await ada.wait("your_result", count=4))["correct"] is True
    assert (await bob.wait("your_result", count=4))["correct"] is False

    assert (await host.call("next_question"))["ok"]
    await ada.wait("question_started", count=5)
    # text: at most 200 characters (validated as payload), not empty, text only
    await expect(4, "y" * 201, "invalid_payload", "answer")
    await expect(4, "   ", "invalid_answer")
    await expect(4, 5, "invalid_answer")
    ended = await finish(4, "  YES ", "n" * 200)
    assert ended["distribution"] == {"yes": 1, "n" * 200: 1}


# -- the handshake -----------------------------------------------------------------------------


async def test_unknown_and_malformed_pins(sockets: SocketGroup) -> None:
    assert await sockets.refused({"pin": "012345", "nickname": "Ada"}) == "game_not_found"
    assert await sockets.refused({"pin": "12ab56", "nickname": "Ada"}) == "game_not_found"
    assert await sockets.refused({"pin": "1234567", "nickname": "Ada"}) == "game_not_found"
    assert await sockets.refused({"pin": ["123456"], "nickname": "Ada"}) == "game_not_found"


async def test_game_over(user: ApiUser, sockets: SocketGroup) -> None:
    game = await create_game(user, [single_choice()])
    host = await sockets.host(game)
    ada = await sockets.player(game, "Ada")
    token = ada.events["welcome"][0]["player"]["player_token"]
    assert (await host.call("end_game"))["ok"]
    await ada.wait("game_finished")
    await ada.close()
    assert await sockets.refused({"player_token": token}) == "game_over"
    assert await sockets.refused({"host_token": game["host_token"]}) == "game_over"
    assert await sockets.refused({"pin": game["pin"], "nickname": "Late"}) == "game_over"
    # A player token wins over a pin and nickname sent with it.
    assert (
        await sockets.refused({"player_token": token, "pin": game["pin"], "nickname": "Zed"})
        == "game_over"
    )


async def test_locked_game(http: ClientSession, user: ApiUser, sockets: SocketGroup) -> None:
    game = await create_game(user, [single_choice()])
    host = await sockets.host(game)
    ada = await sockets.player(game, "Ada")
    token = ada.events["welcome"][0]["player"]["player_token"]
    assert await host.call("lock_game", {"locked": True}) == {"ok": True, "locked": True}
    async with http.get(f"/api/v1/games/{game['pin']}") as resp:
        assert (await resp.json())["accepting_players"] is False
    assert await sockets.refused({"pin": game["pin"], "nickname": "Bob"}) == "game_locked"
    await ada.close()
    await host.wait("player_status")
    back = await sockets.connect({"player_token": token})
    welcome = await back.wait("welcome")
    assert welcome["player"]["nickname"] == "Ada"
    assert await host.call("lock_game", {"locked": False}) == {"ok": True, "locked": False}
    await sockets.player(game, "Bob")


async def test_full_game(user: ApiUser, sockets: SocketGroup) -> None:
    game = await create_game(user, [single_choice()], settings={"max_players": 2})
    await sockets.host(game)
    ada = await sockets.player(game, "Ada")
    await sockets.player(game, "Bob")
    assert await sockets.refused({"pin": game["pin"], "nickname": "Cy"}) == "game_full"
    # A returning player still gets in.
    token = ada.events["welcome"][0]["player"]["player_token"]
    await ada.close()
    again = await sockets.connect({"player_token": token})
    assert (await again.wait("welcome"))["player"]["nickname"] == "Ada"


async def test_password(http: ClientSession, user: ApiUser, sockets: SocketGroup) -> None:
    game = await create_game(user, [single_choice()], settings={"password": "sesame"})
    await sockets.host(game)
    async with http.get(f"/api/v1/games/{game['pin']}") as resp:
        assert (await resp.json())["requires_password"] is True
    pin = game["pin"]
    assert await sockets.refused({"pin": pin, "nickname": "Ada"}) == "wrong_password"
    assert await sockets.refused({"pin": pin, "nickname": "Ada", "password": "open"}) == (
        "wrong_password"
    )
    ada = await sockets.player(game, "Ada", password="sesame")
    assert ada.events["welcome"][0]["player"]["nickname"] == "Ada"


async def test_nicknames(user: ApiUser, sockets: SocketGroup) -> None:
    game = await create_game(user, [single_choice()])
    await sockets.host(game)
    pin = game["pin"]
    ada = await sockets.player(game, "Ada")
    assert ada.events["welcome"][0]["player"]["nickname"] == "Ada"
    assert await sockets.refused({"pin": pin, "nickname": "ada"}) == "nickname_taken"
    assert await sockets.refused({"pin": pin, "nickname": "  ADA "}) == "nickname_taken"
    assert await sockets.refused({"pin": pin, "nickname": "x" * 21}) == "nickname_invalid"
    assert await sockets.refused({"pin": pin, "nickname": "A\u200bda"}) == "nickname_invalid"
    assert await sockets.refused({"pin": pin, "nickname": ""}) == "nickname_invalid"
    assert await sockets.refused({"pin": pin}) == "nickname_invalid"
    spaced = await sockets.player(game, "  Grace   Hopper ")
    assert spaced.events["welcome"][0]["player"]["nickname"] == "Grace Hopper"


async def test_invalid_tokens(user: ApiUser, sockets: SocketGroup) -> None:
    game = await create_game(user, [single_choice()])
    await sockets.host(game)
    ada = await sockets.player(game, "Ada")
    token = ada.events["welcome"][0]["player"]["player_token"]
    assert await sockets.refused({"player_token": "garbage"}) == "invalid_token"
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert await sockets.refused({"player_token": tampered}) == "invalid_token"
    assert await sockets.refused({"player_token": game["host_token"]}) == "invalid_token"
    assert await sockets.refused({"host_token": token}) == "invalid_token"
    assert await sockets.refused(None) == "invalid_token"
    assert await sockets.refused({}) == "invalid_token"


async def test_kick_and_ban(user: ApiUser, sockets: SocketGroup) -> None:
    game = await create_game(user, [single_choice()])
    host = await sockets.host(game)
    pin = game["pin"]
    ada = await sockets.player(game, "Ada")
    bob = await sockets.player(game, "Bob")
    ada_me = ada.events["welcome"][0]["player"]
    bob_me = bob.events["welcome"][0]["player"]

    # Kick with a ban: token and nickname refused with `banned` for the rest of the game.
    ack = await host.call("kick_player", {"player_id": ada_me["player_id"], "ban": True})
    assert ack == {"ok": True}
    assert await ada.wait("kicked") == {"reason": "banned"}
    await wait_disconnected(ada)
    left = await host.wait("player_left")
    assert left == {
        "player": {"player_id": ada_me["player_id"], "nickname": "Ada"},
        "players_count": 1,
    }
    assert await sockets.refused({"player_token": ada_me["player_token"]}) == "banned"
    assert await sockets.refused({"pin": pin, "nickname": "Ada"}) == "banned"
    assert await sockets.refused({"pin": pin, "nickname": "aDA"}) == "banned"
    assert code(await host.call("kick_player", {"player_id": ada_me["player_id"]})) == (
        "player_not_found"
    )

    # Kick without a ban: the token is dead, the nickname free again.
    ack = await host.call("kick_player", {"player_id": bob_me["player_id"], "ban": False})
    assert ack == {"ok": True}
    assert await bob.wait("kicked") == {"reason": "kicked"}
    await wait_disconnected(bob)
    left = await host.wait("player_left", count=2)
    assert left["players_count"] == 0
    assert await sockets.refused({"player_token": bob_me["player_token"]}) == "invalid_token"
    again = await sockets.player(game, "Bob")
    me = again.events["welcome"][0]["player"]
    assert me["nickname"] == "Bob" and me["player_id"] != bob_me["player_id"]
    joined = await host.wait("player_joined", count=3)
    assert joined["players_count"] == 1
    # Players never hear about each other's comings and goings.
    assert not again.events["player_left"] and not again.events["player_joined"]
