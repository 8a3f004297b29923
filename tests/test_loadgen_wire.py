"""The load generator's lean client (bench/loadgen/wire.mjs) against the real server.

The benchmarks play with `--client wire` to keep the generator's CPU off the cores the
server needs; that is only sound if the server sees the same game as with socket.io-client.
So the same seeded game (duplicate answers included, whose second send is refused) is
played with both clients and must come out the same: who joined, which acks were ok and
which codes were refused, every acknowledged answer stored once. A refused handshake must
reach the wire client as socket.io-client reports it (`err.data.code`).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.support.loadgen import LOADGEN, require_loadgen, run_loadgen

PLAYERS = 16
QUESTIONS = 2
# with --seed 11 and --duplicate-fraction 0.25, 4 of the 16 players send every answer twice
EXPECTED_ACKS = {"ok": PLAYERS * QUESTIONS, "already_answered": 4 * QUESTIONS}


@pytest.mark.parametrize("client", ["socketio", "wire"])
async def test_both_clients_play_the_same_game(
    client: str, base_url: str, storage: dict[str, str], tmp_path: Path
) -> None:
    require_loadgen()
    report = await run_loadgen(
        [
            "--url",
            base_url,
            "--client",
            client,
            "--players",
            str(PLAYERS),
            "--questions",
            str(QUESTIONS),
            "--calibrate",
            "0",
            "--calibrate-answers",
            "0",
            "--duplicate-fraction",
            "0.25",
            "--seed",
            "11",
            "--ramp",
            "0",
            "--answer-window-ms",
            "0-200",
            "--pause-ms",
            "100",
            "--idle-ms",
            "0",
            "--db",
            storage["database_url"],
        ],
        tmp_path / f"{client}.json",
    )
    counts, check = report["counts"], report["exactly_once"]
    summary = json.dumps({"counts": counts, "exactly_once": check})
    assert report["config"]["client"] == client
    assert counts["joined"] == PLAYERS and not counts["join_failed"], summary
    assert counts["disconnects"] == 0, summary
    assert counts["missed_question_started"] == 0 and counts["missed_your_result"] == 0, summary
    assert check["checked"] and check["rows"] == check["acked_ok"] == PLAYERS * QUESTIONS
    assert check["lost"] == 0 and check["doubled"] == 0, summary
    # the seed picks the same duplicating players for both clients (the generator draws
    # them before any socket exists): each of their second sends is refused with the
    # contract's code, and every player's first send is ok
    assert counts["answer_acks_by_code"] == EXPECTED_ACKS, summary
    assert counts["double_ok_acks"] == 0, summary


_REFUSED = """
import { WireSocket } from "./wire.mjs";
const socket = new WireSocket(process.argv[1], { auth: { pin: "000000", nickname: "ghost" } });
socket.on("connect", () => { console.log(JSON.stringify({ connected: true })); process.exit(1); });
socket.on("connect_error", (err) => {
  console.log(JSON.stringify({ message: err.message, data: err.data ?? null }));
  setTimeout(() => process.exit(0), 300); // no retry may follow a refusal
});
"""


async def test_a_refused_handshake_reaches_the_wire_client_as_socketio_reports_it(
    base_url: str,
) -> None:
    require_loadgen()
    node = await asyncio.create_subprocess_exec(
        "node",
        "--input-type=module",
        "-e",
        _REFUSED,
        base_url,
        cwd=LOADGEN,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    printed, _ = await asyncio.wait_for(node.communicate(), timeout=30)
    assert node.returncode == 0, printed.decode(errors="replace")
    lines = printed.decode().strip().splitlines()
    assert len(lines) == 1, lines  # one refusal, no reconnection attempt after it
    refusal = json.loads(lines[0])
    assert refusal["data"]["code"] == "game_not_found", refusal
    assert refusal["message"], refusal
