"""The benchmark, small, as a correctness regression test (not a speed test).

`serve --workers 2` (two processes sharing Redis) and the load generator of
`bench/loadgen` (Node's socket.io-client, the web client's library): 50
players spread over both processes play 2 questions; every player must get
every message, and every acknowledged answer must be in PostgreSQL exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from aiohttp import ClientError, ClientSession

from tests.support.loadgen import require_loadgen, run_loadgen

ROOT = Path(__file__).resolve().parent.parent
PLAYERS = 50
QUESTIONS = 2


def _two_free_ports() -> int:
    """A port P with P+1 also free (serve --workers 2 listens on both)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
        if port >= 65535:
            continue
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no two consecutive free ports")


def _start_server(port: int, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "classquiz",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "2",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    async with ClientSession() as http:
        # up to 60 s: two workers start in ~5 s alone, but over 30 s on a busy machine
        for _ in range(600):
            if proc.poll() is not None:
                raise RuntimeError("the server exited during start-up")
            try:
                async with http.get(f"{url}/readyz") as resp:
                    if resp.status == 200:
                        return
            except ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} never became ready")


async def test_two_processes_fifty_players_every_answer_stored_once(
    storage: dict[str, str], tmp_path: Path
) -> None:
    require_loadgen()
    port = _two_free_ports()
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": storage["database_url"],
            "REDIS_URL": storage["redis_url"],
            # its own prefix: the in-process test server must not share these games
            "REDIS_PREFIX": f"{storage['redis_prefix']}lg",
            "SECRET_KEY": "test-secret-key-that-is-long-enough",
            "LOG_LEVEL": "WARNING",
            "CLASSQUIZ_SKIP_MIGRATE": "1",
        }
    )
    log_path = tmp_path / "serve.log"
    server = _start_server(port, env, log_path)
    urls = [f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"]
    try:
        for url in urls:
            await _wait_ready(url, server)
        report = await run_loadgen(
            [
                "--urls",
                ",".join(urls),
                "--players",
                str(PLAYERS),
                "--questions",
                str(QUESTIONS),
                "--calibrate-answers",  # the workload's answers only (no cost model here)
                "0",
                "--ramp",
                "0",
                "--answer-window-ms",
                "100-600",
                "--pause-ms",
                "200",
                "--idle-ms",
                "0",
                "--time-limit-s",
                "10",
                "--db",
                storage["database_url"],
            ],
            tmp_path / "loadgen.json",
        )
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    counts, check = report["counts"], report["exactly_once"]
    summary = json.dumps({"counts": counts, "exactly_once": check})
    assert counts["joined"] == PLAYERS and not counts["join_failed"], summary
    assert counts["host_saw_all_joined"], summary
    assert counts["disconnects"] == 0, summary
    assert counts["answers_acked_ok"] == PLAYERS * QUESTIONS, summary
    assert counts["missed_question_started"] == 0 and counts["missed_your_result"] == 0, summary
    assert check["checked"] and check["game_row"], summary
    assert check["rows"] == check["acked_ok"] == PLAYERS * QUESTIONS, summary
    assert check["lost"] == 0 and check["doubled"] == 0 and check["extra_unacked"] == 0, summary
    assert "Traceback" not in log_path.read_text(errors="replace")
