"""The reference web client (socket.io-client on Node) plays a whole game against the server.

tests/js/game_client.mjs connects a host over WebSocket and five players over
the browser default (long-polling, then the upgrade), plays every question with
`emitWithAck`, checks acks and payloads as it goes and prints a JSON summary.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.quizzes import sample_quiz
from tests.support.users import ApiUser

JS_DIR = Path(__file__).parent / "js"
CLIENT = JS_DIR / "game_client.mjs"
PLAYERS = 5


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the socket.io-client interoperability test needs it")
    if not (JS_DIR / "node_modules" / "socket.io-client").is_dir():
        pytest.skip(
            "tests/js/node_modules is missing: run `npm ci` in tests/js (scripts/test does)"
        )
    return node


async def _run_client(node: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
    proc = await asyncio.create_subprocess_exec(
        node,
        str(CLIENT),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(JS_DIR),
    )
    try:
        out, err = await asyncio.wait_for(
            proc.communicate(json.dumps(payload).encode()), timeout=90
        )
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError("the Node client did not finish within 90 s") from None
    lines = [line for line in out.decode().splitlines() if line.strip()]
    assert lines, f"no summary from the Node client; stderr: {err.decode()[-2000:]}"
    return proc.returncode or 0, json.loads(lines[-1]), err.decode()


async def test_socketio_client_plays_a_whole_game(user: ApiUser, base_url: str) -> None:
    node = _node()
    quiz = sample_quiz()
    status, created = await user.request("POST", "/api/v1/quizzes", json=quiz)
    assert status == 201, created
    status, game = await user.request("POST", "/api/v1/games", json={"quiz_id": created["id"]})
    assert status == 201, game
    questions = len(quiz["questions"])

    code, summary, stderr = await _run_client(
        node,
        {"url": base_url, "pin": game["pin"], "host_token": game["host_token"], "players": PLAYERS},
    )
    assert code == 0 and summary["ok"] is True, (summary.get("errors"), stderr[-2000:])
    assert summary["errors"] == []
    assert summary["game_id"] == game["game_id"]
    assert summary["question_count"] == questions

    clients = summary["clients"]
    assert set(clients) == {"host", *(f"P{i}" for i in range(PLAYERS))}
    host = clients["host"]
    assert host["transports"] == ["websocket"]
    assert host["events"]["welcome"] == 1
    assert host["events"]["player_joined"] == PLAYERS
    assert host["events"]["question_started"] == questions
    assert host["events"]["question_ended"] == questions
    assert host["events"].get("answer_count", 0) >= questions
    assert host["events"]["game_finished"] == 1
    assert "your_result" not in host["events"] and "final_result" not in host["events"]
    for i in range(PLAYERS):
        player = clients[f"P{i}"]
        assert player["transports"] == ["polling", "websocket"], player
        events = player["events"]
        assert events["welcome"] == 1
        assert events["question_started"] == questions, (i, events)
        assert events["question_ended"] == questions, (i, events)
        assert events["your_result"] == questions, (i, events)
        assert events["game_finished"] == 1, (i, events)
        assert events["final_result"] == 1, (i, events)
        assert "answer_count" not in events and "player_joined" not in events

    final = summary["final"]
    results: Any = None
    for _ in range(50):
        status, results = await user.request("GET", f"/api/v1/results/{game['game_id']}")
        if status == 200:
            break
        await asyncio.sleep(0.1)
    assert status == 200, results
    assert results["game"]["players_count"] == PLAYERS
    assert results["game"]["question_count"] == questions
    stored = {p["player_id"]: p for p in results["players"]}
    assert len(stored) == PLAYERS
    for entry in final.values():
        row = stored[entry["player_id"]]
        assert row["nickname"] == entry["nickname"]
        assert row["score"] == entry["score"]
        assert row["rank"] == entry["rank"]
        assert row["correct_count"] == entry["correct_count"]
        assert row["answered_count"] == questions
    assert [q["answered"] for q in results["questions"]] == [PLAYERS] * questions
