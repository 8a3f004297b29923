"""Two real server processes sharing Redis and the database (SPEC §4: "from any server process").

Process A holds the host, process B the players; emits cross through
python-socketio's AsyncRedisManager, per-player results through the fan-out
channel, and the deadline lease moves to B when A dies mid-question.
"""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

from redis.asyncio import Redis

from tests.support.database import stored_rows
from tests.support.play import of_question
from tests.support.processes import ServerProcess, process_prefix
from tests.support.quizzes import sample_quiz
from tests.support.sockets import Recorder
from tests.support.users import ApiUser, register_user


async def _create_game(owner: ApiUser, questions: list[dict[str, Any]]) -> dict[str, Any]:
    quiz = sample_quiz(questions=questions)
    status, created = await owner.request("POST", "/api/v1/quizzes", json=quiz)
    assert status == 201, created
    status, game = await owner.request("POST", "/api/v1/games", json={"quiz_id": created["id"]})
    assert status == 201, game
    return game


def _answer(question: dict[str, Any], k: int) -> Any:
    ids = [c["id"] for c in question["choices"]]
    if question["type"] == "multiple":
        return sorted(ids[:2]) if k % 2 == 0 else [ids[k % len(ids)]]
    return ids[k % len(ids)]


async def test_two_processes_play_one_game(
    two_servers: tuple[ServerProcess, ServerProcess],
    storage: dict[str, str],
    redis_client: Redis,
) -> None:
    a, b = two_servers
    assert a.http is not None and b.http is not None
    owner = await register_user(a.http)
    questions = sample_quiz()["questions"][:3]  # single, multiple, true_false
    game = await _create_game(owner, questions)
    pin, game_id = game["pin"], game["game_id"]
    n = 10

    clients: list[Recorder] = []
    try:
        host = await Recorder(a.url).connect({"host_token": game["host_token"]})
        clients.append(host)
        assert (await host.wait("welcome"))["role"] == "host"
        players: list[Recorder] = []
        for i in range(n):
            p = await Recorder(b.url).connect({"pin": pin, "nickname": f"B{i}"})
            players.append(p)
            clients.append(p)
        identity = {}
        for i, p in enumerate(players):
            w = await p.wait("welcome")
            identity[i] = w["player"]
        joined = await host.wait("player_joined", count=n)
        assert joined["players_count"] == n
        assert {e["player"]["player_id"] for e in host.events["player_joined"]} == {
            identity[i]["player_id"] for i in range(n)
        }

        # Every player's recorders (a reconnect adds one); events are counted over all of them.
        history: dict[int, list[Recorder]] = {i: [p] for i, p in enumerate(players)}
        scores = dict.fromkeys(range(n), 0)

        assert await host.call("start_game") == {"ok": True, "question_index": 0}
        for qi, _ in enumerate(questions):
            live = [history[i][-1] for i in range(n)]
            started = [await of_question(p, "question_started", qi) for p in live]
            acks = await asyncio.gather(
                *(
                    p.call(
                        "submit_answer",
                        {"question_index": qi, "answer": _answer(started[k]["question"], k)},
                    )
                    for k, p in enumerate(live)
                )
            )
            assert all(ack["ok"] for ack in acks), acks
            ended = await of_question(host, "question_ended", qi)  # auto-ended on B
            assert ended["answered"] == n, ended
            await of_question(host, "answer_count", qi)
            counts = [e for e in host.events["answer_count"] if e["question_index"] == qi]
            assert all(e["players_count"] == n for e in counts), counts
            for i, p in enumerate(live):
                await of_question(p, "question_ended", qi)
                result = await of_question(p, "your_result", qi)
                assert result["answered"] is True, result
                assert result["score"] == scores[i] + result["points"], (i, result)
                scores[i] = result["score"]

            if qi == 0:
                # Player 0 drops off B and comes back on A with its token.
                old = history[0][-1]
                await old.close()
                dropped = await host.wait("player_status", count=1)
                assert dropped == {"player_id": identity[0]["player_id"], "connected": False}
                back = await Recorder(a.url).connect({"player_token": identity[0]["player_token"]})
                clients.append(back)
                history[0].append(back)
                w = await back.wait("welcome")
                assert w["player"]["player_id"] == identity[0]["player_id"]
                assert w["player"]["nickname"] == "B0"
                assert w["player"]["score"] == scores[0]
                returned = await host.wait("player_status", count=2)
                assert returned == {"player_id": identity[0]["player_id"], "connected": True}
                # Player 1 opens a second connection on A while still on B: it takes over.
                old1 = history[1][-1]
                second = await Recorder(a.url).connect(
                    {"player_token": identity[1]["player_token"]}
                )
                clients.append(second)
                history[1].append(second)
                w1 = await second.wait("welcome")
                assert w1["player"]["player_id"] == identity[1]["player_id"]
                assert w1["player"]["score"] == scores[1]
                await old1.wait("replaced")
                for _ in range(50):
                    if not old1.client.connected:
                        break
                    await asyncio.sleep(0.1)
                assert not old1.client.connected, "the replaced socket on B stayed connected"

            ack = await host.call("next_question")
            if qi + 1 < len(questions):
                assert ack == {"ok": True, "question_index": qi + 1}, ack
            else:
                assert ack == {"ok": True, "finished": True}, ack

        finished = await host.wait("game_finished")
        assert finished["game_id"] == game_id and finished["players_count"] == n
        for i in range(n):
            p = history[i][-1]
            assert (await p.wait("game_finished"))["game_id"] == game_id
            final = await p.wait("final_result")
            assert final["score"] == scores[i] and final["question_count"] == len(questions)
            for event in ("question_started", "question_ended", "your_result"):
                total = sum(len(r.events[event]) for r in history[i])
                assert total == len(questions), (i, event, total)
        assert len(host.events["player_joined"]) == n  # a reconnect is not a new player
        assert len(host.events["player_status"]) == 2  # a takeover is no drop nor return
    finally:
        for client in clients:
            await client.close()

    status, results = None, None
    for _ in range(50):
        status, results = await owner.request("GET", f"/api/v1/results/{game_id}")
        if status == 200:
            break
        await asyncio.sleep(0.1)
    assert status == 200, results
    assert {p["player_id"]: p["score"] for p in results["players"]} == {
        identity[i]["player_id"]: scores[i] for i in range(n)
    }
    # Stored exactly once, and nothing left parked.
    rows = await asyncio.to_thread(stored_rows, storage["database_url"], game_id)
    assert rows == (1, n, n * len(questions)), rows
    assert not await redis_client.hexists(f"{process_prefix(storage)}:results:pending", game_id)
    # Both processes read the same stored results.
    owner_b = ApiUser(b.http, owner.username, owner.email, owner.password, owner.token)
    status, again = await owner_b.request("GET", f"/api/v1/results/{game_id}")
    assert status == 200 and again["players"] == results["players"]


async def test_deadline_moves_to_the_surviving_process(
    two_servers: tuple[ServerProcess, ServerProcess],
    redis_client: Redis,
    storage: dict[str, str],
) -> None:
    a, b = two_servers
    assert a.http is not None
    owner = await register_user(a.http)
    question = {**sample_quiz()["questions"][0], "time_limit_s": 5}
    game = await _create_game(owner, [question, question])
    lease_key = f"{process_prefix(storage)}:lease:deadlines"

    clients: list[Recorder] = []
    try:
        host = await Recorder(a.url).connect({"host_token": game["host_token"]})
        clients.append(host)
        players = []
        for i in range(3):
            p = await Recorder(b.url).connect({"pin": game["pin"], "nickname": f"D{i}"})
            players.append(p)
            clients.append(p)
        await host.wait("player_joined", count=3)

        # Make A hold the deadline lease: freeze B until its lease (1.5 s) has lapsed.
        b.proc.send_signal(signal.SIGSTOP)
        try:
            await asyncio.sleep(2.0)
            owner_a = await redis_client.get(lease_key)
        finally:
            b.proc.send_signal(signal.SIGCONT)
        assert owner_a is not None
        await asyncio.sleep(0.3)
        assert await redis_client.get(lease_key) == owner_a, "A lost the lease while alive"

        assert await host.call("start_game") == {"ok": True, "question_index": 0}
        started = await players[0].wait("question_started")
        for p in players[1:]:
            await p.wait("question_started")
        ack = await players[0].call("submit_answer", {"question_index": 0, "answer": 1})
        assert ack["ok"], ack

        a.proc.send_signal(signal.SIGKILL)  # A dies while the question is open
        a.proc.wait(timeout=5)
        clients.remove(host)

        deadline_ms = started["deadline_at_ms"]
        wait_s = (deadline_ms - time.time() * 1000) / 1000 + 4
        ended = [await p.wait("question_ended", timeout=max(wait_s, 1)) for p in players]
        received_ms = time.time() * 1000
        assert all(e["question_index"] == 0 and e["answered"] == 1 for e in ended), ended
        # Ended by the deadline (not before it) and by B, now holding the lease.
        assert received_ms >= deadline_ms, (received_ms, deadline_ms)
        assert received_ms <= deadline_ms + 3500, (received_ms, deadline_ms)
        assert await redis_client.get(lease_key) not in (None, owner_a)
        r0 = await players[0].wait("your_result")
        r1 = await players[1].wait("your_result")
        assert r0["answered"] is True and r0["correct"] is True and r0["points"] >= 500, r0
        assert r1["answered"] is False and r1["points"] == 0, r1
    finally:
        for client in clients:
            await client.close()


async def test_a_kick_reaches_a_player_on_the_other_process(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    """The host on A kicks a player connected to B: B's socket is told and closed."""
    a, b = two_servers
    assert a.http is not None
    owner = await register_user(a.http)
    game = await _create_game(owner, sample_quiz()["questions"][:1])
    clients: list[Recorder] = []
    try:
        host = await Recorder(a.url).connect({"host_token": game["host_token"]})
        clients.append(host)
        await host.wait("welcome")
        eve = await Recorder(b.url).connect({"pin": game["pin"], "nickname": "Eve"})
        clients.append(eve)
        player = (await eve.wait("welcome"))["player"]
        await host.wait("player_joined")
        ack = await host.call("kick_player", {"player_id": player["player_id"], "ban": True})
        assert ack == {"ok": True}
        assert (await eve.wait("kicked"))["reason"] == "banned"
        for _ in range(100):
            if not eve.client.connected:
                break
            await asyncio.sleep(0.05)
        assert not eve.client.connected
        left = await host.wait("player_left")
        assert left["player"]["player_id"] == player["player_id"] and left["players_count"] == 0
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
