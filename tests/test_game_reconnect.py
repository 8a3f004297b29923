"""Dropped and returning sockets over real connections: players, the host, and takeovers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.support.live import SocketGroup, create_game, wait_disconnected
from tests.support.quizzes import single_choice
from tests.support.users import ApiUser

COMEBACKS = [single_choice(f"Q{i}", 60, choices=("A", "B")) for i in range(3)]


async def wait_until(predicate: Any, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_player_drops_and_returns_mid_question(user: ApiUser, sockets: SocketGroup) -> None:
    game = await create_game(user, COMEBACKS, title="Comebacks")
    host = await sockets.connect({"host_token": game["host_token"]})
    ada = await sockets.connect({"pin": game["pin"], "nickname": "Ada"})
    bob = await sockets.connect({"pin": game["pin"], "nickname": "Bob"})
    ada_me = ada.events["welcome"][0]["player"]
    bob_me = bob.events["welcome"][0]["player"]

    # Question 0: both answer right; the question ends by itself.
    assert await host.call("start_game") == {"ok": True, "question_index": 0}
    for p in (ada, bob):
        await p.wait("question_started")
        assert (await p.call("submit_answer", {"question_index": 0, "answer": 0}))["ok"]
    await host.wait("question_ended")
    ada_result = await ada.wait("your_result")
    bob_result = await bob.wait("your_result")
    assert ada_result["streak"] == 1 and ada_result["score"] >= 500

    # Question 1: Ada drops before answering and comes back with her token.
    assert await host.call("next_question") == {"ok": True, "question_index": 1}
    started = await ada.wait("question_started", count=2)
    await ada.close()
    status = await host.wait("player_status")
    assert status == {"player_id": ada_me["player_id"], "connected": False}
    assert not host.events["question_ended"][1:]  # Bob has not answered: still open

    ada2 = await sockets.connect({"player_token": ada_me["player_token"]})
    welcome = ada2.events["welcome"][0]
    assert welcome["role"] == "player"
    assert welcome["player"] == {
        "player_id": ada_me["player_id"],
        "nickname": "Ada",
        "player_token": ada_me["player_token"],
        "score": ada_result["score"],
        "streak": 1,
    }
    assert welcome["answered"] is False
    state = welcome["game"]
    assert state["status"] == "question" and state["question_index"] == 1
    assert state["opens_at_ms"] == started["opens_at_ms"]
    assert state["deadline_at_ms"] == started["deadline_at_ms"]
    assert state["question"] == started["question"]
    assert state["players_count"] == 2 and "players" not in state
    status = await host.wait("player_status", count=2)
    assert status == {"player_id": ada_me["player_id"], "connected": True}
    assert not host.events["player_joined"][2:]  # a return is not a join

    # Bob answers, drops, and returns: his welcome says he already answered.
    assert (await bob.call("submit_answer", {"question_index": 1, "answer": 1}))["ok"]
    await bob.close()
    assert await host.wait("player_status", count=3) == {
        "player_id": bob_me["player_id"],
        "connected": False,
    }
    assert len(host.events["question_ended"]) == 1  # Ada is online and has not answered
    bob2 = await sockets.connect({"player_token": bob_me["player_token"]})
    welcome = bob2.events["welcome"][0]
    assert welcome["answered"] is True
    assert welcome["player"]["player_id"] == bob_me["player_id"]
    assert welcome["player"]["nickname"] == "Bob"
    assert welcome["player"]["player_token"] == bob_me["player_token"]
    # (score and streak mid-question: see test_welcome_mid_question_keeps_the_answer_secret)
    assert await host.wait("player_status", count=4) == {
        "player_id": bob_me["player_id"],
        "connected": True,
    }
    ack = await bob2.call("submit_answer", {"question_index": 1, "answer": 0})
    assert ack["error"]["code"] == "already_answered"

    # Ada answers on her new socket: everyone online answered, the question ends.
    assert (await ada2.call("submit_answer", {"question_index": 1, "answer": 0}))["ok"]
    ended = await host.wait("question_ended", count=2)
    assert ended["answered"] == 2
    result = await ada2.wait("your_result")
    assert result["streak"] == 2 and result["score"] > ada_result["score"]
    bob_now = await bob2.wait("your_result")
    assert bob_now["streak"] == 0 and bob_now["score"] == bob_result["score"]
    assert result["rank"] == 1 and bob_now["rank"] == 2


async def test_host_drops_and_returns_mid_question(user: ApiUser, sockets: SocketGroup) -> None:
    game = await create_game(user, COMEBACKS, title="Comebacks")
    host = await sockets.connect({"host_token": game["host_token"]})
    ada = await sockets.connect({"pin": game["pin"], "nickname": "Ada"})
    bob = await sockets.connect({"pin": game["pin"], "nickname": "Bob"})
    assert await host.call("start_game") == {"ok": True, "question_index": 0}
    started = await ada.wait("question_started")
    assert (await ada.call("submit_answer", {"question_index": 0, "answer": 0}))["ok"]

    await host.close()
    for p in (ada, bob):
        assert await p.wait("host_status") == {"connected": False}
    # The game goes on without its host.
    assert (await bob.call("submit_answer", {"question_index": 0, "answer": 1}))["ok"]
    ended = await ada.wait("question_ended")
    assert ended["answered"] == 2

    host2 = await sockets.connect({"host_token": game["host_token"]})
    for p in (ada, bob):
        assert await p.wait("host_status", count=2) == {"connected": True}
    state = host2.events["welcome"][0]["game"]
    assert host2.events["welcome"][0]["role"] == "host"
    assert state["status"] == "reveal" and state["question_index"] == 0
    assert state["opens_at_ms"] == started["opens_at_ms"]
    roster = {p["nickname"]: p for p in state["players"]}
    assert set(roster) == {"Ada", "Bob"}
    assert all(p["connected"] for p in roster.values())
    assert roster["Ada"]["score"] == (await ada.wait("your_result"))["score"] > 0
    assert roster["Bob"]["score"] == 0

    # The returning host moves the game on; a drop mid-question is survived too.
    assert await host2.call("next_question") == {"ok": True, "question_index": 1}
    await bob.wait("question_started", count=2)
    await host2.close()
    await ada.wait("host_status", count=3)
    host3 = await sockets.connect({"host_token": game["host_token"]})
    welcome = host3.events["welcome"][0]["game"]
    assert welcome["status"] == "question" and welcome["question_index"] == 1
    assert welcome["question"]["text"] == "Q1"
    await ada.wait("host_status", count=4)
    assert (await ada.call("submit_answer", {"question_index": 1, "answer": 0}))["ok"]
    await asyncio.sleep(0.2)  # let answer_count's coalescing window pass
    assert await host3.call("end_question") == {"ok": True}
    ended = await host3.wait("question_ended")
    assert ended["question_index"] == 1 and ended["answered"] == 1
    await wait_until(lambda: any(c["question_index"] == 1 for c in host3.events["answer_count"]))
    counts = [c for c in host3.events["answer_count"] if c["question_index"] == 1]
    assert counts[-1] == {"question_index": 1, "answered": 1, "players_count": 2}
    assert [s["connected"] for s in ada.events["host_status"]] == [False, True, False, True]


async def test_takeover_of_player_and_host_tokens(user: ApiUser, sockets: SocketGroup) -> None:
    game = await create_game(user, COMEBACKS, title="Comebacks")
    host = await sockets.connect({"host_token": game["host_token"]})
    ada = await sockets.connect({"pin": game["pin"], "nickname": "Ada"})
    me = ada.events["welcome"][0]["player"]

    # The same player token on a second socket: the older one is told and dropped.
    ada2 = await sockets.connect({"player_token": me["player_token"]})
    assert await ada.wait("replaced") == {}
    await wait_disconnected(ada)
    assert ada2.client.connected
    assert ada2.events["welcome"][0]["player"]["player_id"] == me["player_id"]
    assert ada2.events["welcome"][0]["game"]["players_count"] == 1
    # A takeover is not a join.
    assert len(host.events["player_joined"]) == 1

    # The same host token on a second socket.
    host2 = await sockets.connect({"host_token": game["host_token"]})
    assert await host.wait("replaced") == {}
    await wait_disconnected(host)
    assert host2.client.connected
    roster = host2.events["welcome"][0]["game"]["players"]
    assert [(p["player_id"], p["connected"]) for p in roster] == [(me["player_id"], True)]

    # The new sockets carry on: the game runs and the events reach them only.
    assert await host2.call("start_game") == {"ok": True, "question_index": 0}
    await ada2.wait("question_started")
    assert (await ada2.call("submit_answer", {"question_index": 0, "answer": 0}))["ok"]
    await host2.wait("question_ended")
    result = await ada2.wait("your_result")
    assert result["answered"] is True and result["correct"] is True
    await wait_until(lambda: len(host2.events["answer_count"]) >= 1)
    assert not ada.events["question_started"] and not host.events["question_started"]
    assert not host.events["answer_count"]


async def test_welcome_mid_question_keeps_the_answer_secret(
    user: ApiUser, sockets: SocketGroup
) -> None:
    """SPEC §4: correctness is not revealed before the question ends, not even by a welcome."""
    game = await create_game(user, COMEBACKS, title="Comebacks")
    host = await sockets.connect({"host_token": game["host_token"]})
    ada = await sockets.connect({"pin": game["pin"], "nickname": "Ada"})
    bob = await sockets.connect({"pin": game["pin"], "nickname": "Bob"})
    await sockets.connect({"pin": game["pin"], "nickname": "Cy"})  # never answers: stays open
    assert (await host.call("start_game"))["ok"]
    await ada.wait("question_started")
    assert (await ada.call("submit_answer", {"question_index": 0, "answer": 1}))["ok"]
    assert (await bob.call("submit_answer", {"question_index": 0, "answer": 0}))["ok"]
    for p in (ada, bob):
        await p.close()
    ada_back = await sockets.connect(
        {"player_token": ada.events["welcome"][0]["player"]["player_token"]}
    )
    bob_back = await sockets.connect(
        {"player_token": bob.events["welcome"][0]["player"]["player_token"]}
    )
    ada_seen = ada_back.events["welcome"][0]
    bob_seen = bob_back.events["welcome"][0]
    assert ada_seen["answered"] is True and bob_seen["answered"] is True
    # Both answered; neither may tell from the welcome whether they were right.
    assert (ada_seen["player"]["score"], ada_seen["player"]["streak"]) == (
        bob_seen["player"]["score"],
        bob_seen["player"]["streak"],
    )
