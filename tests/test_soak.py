"""Soak, one minute: games of 200 players back to back leave nothing behind.

Runs bench/soak/soak.py (the same program as the 30-minute soak documented in
bench/soak/README.md) against a private redis-server and a `serve` process on the
run's database: 60 s of games, each played by Node's socket.io-client (bench/loadgen).
The program judges, and the test checks, that:

* every game had all 200 players, each answer got an ack, and every answer
  acknowledged `ok` is in PostgreSQL exactly once;
* after the warm-up the server's RSS, Redis' `used_memory` and the server's open
  asyncio tasks stay flat within the tolerances the program states (TOLERANCE);
* once idle, the open tasks are back to where they started and no key of the run
  lives without a TTL (the work queues included: they must have emptied);
* the server never logged a traceback.

The Engine.IO ping interval is 5 s here (the default is 25 s) so that the idle
check, which waits for the last closed socket's ping task, takes seconds, not half
a minute.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOAK = ROOT / "bench" / "soak" / "soak.py"
LOADGEN = ROOT / "bench" / "loadgen"
PLAYERS = 200
DURATION_S = 60


@pytest.mark.timeout(300)
@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
async def test_games_back_to_back_stay_flat(storage: dict[str, str], tmp_path: Path) -> None:
    if not (LOADGEN / "node_modules" / "socket.io-client").is_dir():
        pytest.skip("bench/loadgen/node_modules is missing (scripts/test runs npm ci there)")
    out = tmp_path / "soak.json"
    soak = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SOAK),
        "--duration", str(DURATION_S),
        "--players", str(PLAYERS),
        "--ping-interval-s", "5",
        "--database-url", storage["database_url"],
        "--workdir", str(tmp_path),
        "--out", str(out),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    printed, _ = await asyncio.wait_for(soak.communicate(), timeout=280)
    text = printed.decode(errors="replace")
    assert out.exists(), text[-3000:]
    result = json.loads(out.read_text())
    summary = json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=1)

    assert result["games"] >= 3, summary  # back to back: a minute holds several games
    assert result["games_ok"] == result["games"], summary
    # Every answer acknowledged: `ok`, or `too_late` when a loaded machine delivered it
    # after its deadline (the program refuses any other code).
    answered = result["answers_acked_ok"] + result["answers_too_late"]
    assert answered == result["games"] * PLAYERS * 2, summary
    assert result["answers_lost"] == 0 and result["answers_doubled"] == 0, summary
    verdict = result["verdict"]
    for metric in ("rss_mb", "redis_used_mb", "tasks_own"):
        assert verdict[metric]["flat"], (metric, summary)
    assert verdict["idle_tasks"]["flat"], summary
    assert verdict["flat"], summary
    assert result["keys_without_ttl"] == [], summary
    assert not result["server_exited"] and result["server_tracebacks"] == 0, summary
    assert soak.returncode == 0, text[-3000:]
