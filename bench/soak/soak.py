"""Soak: games of many players back to back against one server, watching for leaks.

Starts a private redis-server (tests/support/redis_server.py: its `INFO memory`
is this run's alone) and `python -m classquiz serve` on it, then plays games
with bench/loadgen (Node's socket.io-client, the web client's library) one after
the other until the duration is up. Between games, once the last game's sockets
are gone, it samples:

* the server's RSS (`/proc/<pid>/status` VmRSS),
* Redis' `used_memory` (`INFO memory`),
* the server's open asyncio tasks (`classquiz_asyncio_tasks` on /metrics),
* every key of the run's prefix and its TTL: a key without one is a leak that
  nothing will ever remove (the server's work queues, WORK_QUEUES, excepted while
  games run: they empty as the work is done, and must be gone once idle).

Finished games keep their live keys `FINISHED_GAME_TTL_S` (an hour by default);
the soak sets it to a few seconds so Redis memory shows what games leave behind
*after* that, not the hour's worth of finished games a real server keeps.

"Flat" (see `judge`): after the warm-up (the first `--warmup` fraction of the
samples, at least two games), the median of the last third of the samples may
exceed the median of the first third by at most the tolerance (TOLERANCE: RSS
12 MiB or 10 %, Redis memory 1 MiB or 10 %, whichever is larger; the server's own
open tasks, 5). Engine.IO's ping tasks are left out of that count: a closed
socket's lives until its next ping, so between games there are one or two games'
worth of them, depending on the pace. And once idle (a ping interval after the last game), the
server's open tasks are back to where they were before the first game (+5), and
no key of the run is left without a TTL. Each game must also keep every
acknowledged answer exactly once (bench/loadgen checks PostgreSQL).

    python bench/soak/soak.py --duration 1800 --players 200 --out bench/soak/results-30min.json

Exit status 0 when everything is flat and exactly once, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.processes import free_port  # noqa: E402
from tests.support.redis_server import PrivateRedis  # noqa: E402

LOADGEN = ROOT / "bench" / "loadgen" / "loadgen.mjs"
PREFIX = "soak"
METRICS_TOKEN = "soak-metrics-token"
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/classquiz_soak"
TOLERANCE = {
    "rss_mb": (12.0, 0.10),
    "redis_used_mb": (1.0, 0.10),
    "tasks_own": (5.0, 0.0),
}
# Engine.IO's ping task: one per socket, alive until PING_INTERVAL_S after its last
# pong, so between games there are as many as sockets closed in the last interval
# (one or two games' worth, depending on the pace). Judged by the idle check instead.
PING_TASK = "AsyncSocket._send_ping"
# The server's work queues: shared keys whose members are removed as the work is done
# (a question's deadline, an abandoned-game timer, results on their way to
# PostgreSQL). They have no TTL on purpose and must be gone once no game runs.
WORK_QUEUES = {
    f"{PREFIX}:deadlines",
    f"{PREFIX}:auto-finish",
    f"{PREFIX}:results:pending",
    f"{PREFIX}:results:unparked",
}
# Engine.IO's ping task of a closed socket ends at its next ping: an idle server is
# back to its own tasks PING_INTERVAL_S after the last client left (plus this margin).
IDLE_MARGIN_S = 5


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def open_tasks(url: str) -> dict[str, int]:
    """The server's open asyncio tasks by coroutine (`classquiz_asyncio_tasks` on /metrics)."""
    request = urllib.request.Request(
        f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    by_coroutine: dict[str, int] = {}
    with urllib.request.urlopen(request, timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith("classquiz_asyncio_tasks{"):
                labels, _, value = line.rpartition(" ")
                name = labels.split('coroutine="', 1)[1].rsplit('"', 1)[0]
                by_coroutine[name] = int(float(value))
    if not by_coroutine:
        raise RuntimeError("/metrics has no classquiz_asyncio_tasks")
    return by_coroutine


def keys_without_ttl(redis: Any) -> tuple[int, list[str]]:
    """(keys of the run, those of them that never expire)."""
    total, forever = 0, []
    for key in redis.scan_iter(match=f"{PREFIX}*", count=1000):
        total += 1
        if redis.ttl(key) == -1:
            forever.append(key.decode())
    return total, forever


def start_server(
    redis_url: str, database_url: str, log_path: Path, finished_ttl_s: int, ping_interval_s: float
) -> Any:
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": PREFIX,
            "SECRET_KEY": "soak-secret-key-that-is-long-enough",
            "METRICS_TOKEN": METRICS_TOKEN,
            "FINISHED_GAME_TTL_S": str(finished_ttl_s),
            "PING_INTERVAL_S": str(ping_interval_s),
            "REGISTER_RATE_LIMIT": "1000000",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "json",
        }
    )
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "classquiz",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                f"{port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server never became ready")


def play_game(
    url: str, players: int, questions: int, database_url: str, out: Path
) -> dict[str, Any]:
    """One game with bench/loadgen; its counts and exactly-once check."""
    done = subprocess.run(
        [
            "node", str(LOADGEN), "--url", url, "--players", str(players),
            "--questions", str(questions), "--calibrate-answers", "0",
            "--ramp", "0", "--answer-window-ms", "100-800",
            "--pause-ms", "200", "--time-limit-s", "30", "--db", database_url, "--out", str(out),
        ],
        cwd=ROOT, capture_output=True, timeout=180,
    )  # fmt: skip
    if done.returncode != 0 or not out.exists():
        return {"ok": False, "error": done.stdout.decode(errors="replace")[-2000:]}
    report = json.loads(out.read_text())
    counts, check = report["counts"], report["exactly_once"]
    acks = counts["answer_acks_by_code"]
    # Every answer got an ack; `too_late` is a fair one (an overloaded machine can
    # deliver an answer after its deadline); anything else is a failure.
    ok = (
        counts["joined"] == players
        and counts["finals_all_delivered"]
        and sum(acks.values()) == players * questions
        and set(acks) <= {"ok", "too_late"}
        and check["rows"] == check["acked_ok"] == counts["answers_acked_ok"]
        and check["lost"] == 0
        and check["doubled"] == 0
        and check["extra_unacked"] == 0
    )
    return {
        "ok": ok,
        "joined": counts["joined"],
        "acks": acks,
        "acked_ok": check["acked_ok"],
        "rows": check["rows"],
        "lost": check["lost"],
        "doubled": check["doubled"],
    }


def quiet_sample(proc: Any, url: str, redis: Any, since: float, settle_s: float) -> dict[str, Any]:
    """One sample once the last game's sockets have closed (tasks stop falling)."""
    time.sleep(settle_s)
    keys, forever = keys_without_ttl(redis)
    tasks = open_tasks(url)
    return {
        "t_s": round(time.monotonic() - since, 1),
        "rss_mb": round(rss_mb(proc.pid), 2),
        "redis_used_mb": round(int(redis.info("memory")["used_memory"]) / 2**20, 3),
        "tasks": sum(tasks.values()),
        "tasks_own": sum(tasks.values()) - tasks.get(PING_TASK, 0),
        "tasks_by_coroutine": tasks,
        "keys": keys,
        "keys_without_ttl": forever,
    }


def judge(samples: list[dict[str, Any]], warmup: float) -> dict[str, Any]:
    """Flat or not, per metric: the last third's median against the first third's, after
    the warm-up, within TOLERANCE (absolute or relative, whichever is larger)."""
    skip = max(2, int(len(samples) * warmup))
    steady = samples[skip:]
    verdict: dict[str, Any] = {"warmup_samples": skip, "steady_samples": len(steady)}
    if len(steady) < 3:
        verdict["flat"] = False
        verdict["why"] = "too few samples after the warm-up"
        return verdict
    third = max(1, len(steady) // 3)
    flat = True
    for name, (absolute, relative) in TOLERANCE.items():
        first = statistics.median(s[name] for s in steady[:third])
        last = statistics.median(s[name] for s in steady[-third:])
        allowed = max(absolute, first * relative)
        ok = last - first <= allowed
        flat = flat and ok
        verdict[name] = {
            "first": round(first, 3),
            "last": round(last, 3),
            "growth": round(last - first, 3),
            "allowed": round(allowed, 3),
            "peak": max(s[name] for s in steady),
            "flat": ok,
        }
    verdict["flat"] = flat
    return verdict


def ensure_database(url: str) -> None:
    """Create the database of `url` on its server if it does not exist yet."""
    import psycopg2

    base, _, name = url.rpartition("/")
    name = name.split("?", 1)[0]
    conn = psycopg2.connect(f"{base}/postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    ensure_database(args.database_url)
    redis_server = PrivateRedis(workdir / "redis")
    redis_server.start()
    proc = None
    try:
        proc, url = start_server(
            redis_server.url,
            args.database_url,
            workdir / "serve.log",
            args.finished_ttl_s,
            args.ping_interval_s,
        )
        redis = redis_server.client()
        started = time.monotonic()
        samples = [quiet_sample(proc, url, redis, started, 0)]
        games: list[dict[str, Any]] = []
        while time.monotonic() - started < args.duration:
            games.append(
                play_game(url, args.players, args.questions, args.database_url,
                          workdir / f"game-{len(games)}.json")
            )  # fmt: skip
            if "error" in games[-1]:
                break  # the generator itself failed: no point in going on
            samples.append(quiet_sample(proc, url, redis, started, args.settle_s))
        # Idle: the last game's keys expired, its sockets' ping tasks ended. What is
        # left is what the games leaked.
        time.sleep(max(args.finished_ttl_s, args.ping_interval_s) + IDLE_MARGIN_S)
        idle = quiet_sample(proc, url, redis, started, 0)
        idle_since = time.monotonic()
        while idle["tasks"] > samples[0]["tasks"] + 5 and time.monotonic() - idle_since < 60:
            idle = quiet_sample(proc, url, redis, started, 2)  # late, or stuck? keep looking
        idle["extra_wait_s"] = round(time.monotonic() - idle_since, 1)
        verdict = judge(samples, args.warmup)
        verdict["idle_tasks"] = {
            "before": samples[0]["tasks"],
            "after": idle["tasks"],
            "allowed": samples[0]["tasks"] + 5,
            "flat": idle["tasks"] <= samples[0]["tasks"] + 5,
        }
        verdict["flat"] = verdict["flat"] and verdict["idle_tasks"]["flat"]
        log_text = (workdir / "serve.log").read_text(errors="replace")
        during = {k for s in samples for k in s["keys_without_ttl"]} - WORK_QUEUES
        return {
            "players": args.players,
            "questions": args.questions,
            "duration_s": round(time.monotonic() - started, 1),
            "games": len(games),
            "games_ok": sum(1 for g in games if g["ok"]),
            "answers_acked_ok": sum(g.get("acked_ok", 0) for g in games),
            "answers_too_late": sum(g.get("acks", {}).get("too_late", 0) for g in games),
            "answers_lost": sum(g.get("lost", 0) for g in games),
            "answers_doubled": sum(g.get("doubled", 0) for g in games),
            "failed_games": [g for g in games if not g["ok"]],
            "samples": samples,
            "idle": idle,
            "verdict": verdict,
            "keys_without_ttl": sorted(during | set(idle["keys_without_ttl"])),
            "server_tracebacks": log_text.count("Traceback"),
            "server_exited": proc.poll() is not None,
        }
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        redis_server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of games")
    parser.add_argument("--players", type=int, default=200)
    parser.add_argument("--questions", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=0.25, help="fraction of samples")
    parser.add_argument("--settle-s", type=float, default=1.0, help="wait before a sample")
    parser.add_argument("--finished-ttl-s", type=int, default=3)
    parser.add_argument(
        "--ping-interval-s", type=float, default=25, help="the server's PING_INTERVAL_S"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE),
        help="created if missing; the server migrates it",
    )
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--rejudge", type=Path, help="judge the samples of a recorded run again; plays nothing"
    )
    parser.add_argument("--workdir", type=Path, help="default: a temporary directory")
    args = parser.parse_args()
    if args.rejudge:
        result = json.loads(args.rejudge.read_text())
        for sample in [*result["samples"], result["idle"]]:
            by = sample["tasks_by_coroutine"]
            sample["tasks_own"] = sum(by.values()) - by.get(PING_TASK, 0)
        idle_tasks = result["verdict"]["idle_tasks"]
        result["verdict"] = judge(result["samples"], args.warmup)
        result["verdict"]["idle_tasks"] = idle_tasks
        result["verdict"]["flat"] = result["verdict"]["flat"] and idle_tasks["flat"]
        result["rejudged"] = True
    elif args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        result = run(args, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="cq-soak-") as tmp:
            result = run(args, Path(tmp))
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    summary = {k: v for k, v in result.items() if k != "samples"}
    print(json.dumps(summary, indent=2))
    good = (
        result["verdict"]["flat"]
        and result["games"] == result["games_ok"]
        and not result["keys_without_ttl"]
        and not result["server_exited"]
    )
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
