"""Scale-out benchmark (issue 13): G games of N players on two server processes.

    .venv/bin/python bench/scale/run_scale.py --games 20 --players 50 --on-a 14 --locality both

Starts two `python -m classquiz serve` processes (A and B, one worker each, the
Redis manager on) sharing PostgreSQL and Redis, then plays G games at once with
bench/loadgen (one generator per game, each game's host and players all on one
process, as PIN routing places them): `--on-a` games on A, the rest on B. It
samples each server's CPU time (/proc/<pid>/stat) from the moment every game has
finished its REST set-up (registrations hash passwords, which is not game work)
until the last game ended, counts the pub/sub messages the processes send each
other (a pattern subscription on their Redis prefix) and sums the generators'
exactly-once checks against PostgreSQL.

With `--locality both` it runs the same workload twice: GAME_LOCALITY=false
(python-socketio's behaviour: every emit of every game goes to every process)
and GAME_LOCALITY=true (a game local to one process publishes nothing). Writes
bench/scale/out/<label>.json and prints one table. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent.parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

sys.path.insert(0, str(ROOT))

from run_bench import (  # noqa: E402  (bench/ is not a package)
    DEFAULT_DB,
    DEFAULT_REDIS,
    ensure_database,
    proc_cpu_s,
    raise_nofile,
    redis_pid,
    wait_ready,
)

from classquiz.redis_connect import node_url  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
LOADGEN = BENCH / "loadgen" / "loadgen.mjs"
SECRET = "bench-scale-secret-key-long-enough"
SERVE = [sys.executable, "-m", "classquiz", "serve", "--host", "127.0.0.1"]
FLOOR = [sys.executable, str(BENCH / "floor" / "server.py"), "--port"]


def git_head() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    port: int, env: dict[str, str], log: Path, kind: str = "classquiz"
) -> subprocess.Popen[bytes]:
    """One server process on `port`: ClassQuiz, or the floor (bench/floor, one game each)."""
    command = [*SERVE, "--port", str(port)] if kind == "classquiz" else [*FLOOR, str(port)]
    with open(log, "wb") as out:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


class PubSubCounter:
    """Counts the messages published under the servers' Redis prefix, by channel kind."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        from redis import Redis

        self.client = Redis.from_url(node_url(redis_url))
        self.pubsub = self.client.pubsub()
        self.pubsub.psubscribe(f"{prefix}:*")
        self.prefix = prefix
        self.counts: dict[str, int] = {}
        self.bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _kind(self, channel: str) -> str:
        rest = channel[len(self.prefix) + 1 :]
        if rest == "socketio":
            return "shared socketio channel"
        return f"per-process {rest.split(':', 1)[0]}"

    def _run(self) -> None:
        while not self._stop.is_set():
            message = self.pubsub.get_message(timeout=0.2)
            if message and message["type"] == "pmessage":
                kind = self._kind(message["channel"].decode())
                self.counts[kind] = self.counts.get(kind, 0) + 1
                self.bytes += len(message["data"])

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.pubsub.close()
        self.client.close()


class PhaseClock:
    """Counts the generators' `@@phase` lines, to sample CPU when every game plays.

    The games are not in step: one may still be joining while the other plays. The window
    that measures play under the full load runs from the moment the last game started its
    play phase to the moment the first game finished playing.
    """

    EXITED = "exited"  # a generator's output ended: stop waiting for phases

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self.cond = threading.Condition()

    def saw(self, phase: str) -> None:
        with self.cond:
            self.seen[phase] = self.seen.get(phase, 0) + 1
            self.cond.notify_all()

    def wait(self, phase: str, count: int, timeout: float) -> bool:
        """True once `count` generators reached `phase`; False if one exited first."""
        with self.cond:
            self.cond.wait_for(
                lambda: self.seen.get(phase, 0) >= count or self.EXITED in self.seen, timeout
            )
            return self.seen.get(phase, 0) >= count


def run_mode(args: argparse.Namespace, locality: bool, stamp: str) -> dict[str, Any]:
    mode = "floor" if args.server == "floor" else "locality" if locality else "everywhere"
    prefix = f"benchscale-{stamp}-{mode}"
    work = OUT / f"{args.label}-{mode}"
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": args.db,
            "REDIS_URL": args.redis,
            "REDIS_PREFIX": prefix,
            "SECRET_KEY": SECRET,
            "SOCKETIO_REDIS_MANAGER": "true",
            "GAME_LOCALITY": "true" if locality else "false",
            "LOG_LEVEL": "WARNING",
            "REGISTER_RATE_LIMIT": "10000",
            "RATE_LIMIT_FAILURES": "10000",
            "LOGIN_RATE_LIMIT_FAILURES": "10000",
            "MAX_PLAYERS_PER_GAME": str(max(args.players * 2, 100)),
        }
    )
    ports = [free_port(), free_port()]
    logs = [work / "server-A.log", work / "server-B.log"]
    servers = [
        start_server(port, env, log, args.server) for port, log in zip(ports, logs, strict=True)
    ]
    try:
        wait_ready(ports)
        counter = PubSubCounter(args.redis, prefix)
        watched: dict[str, list[int]] = {"A": [servers[0].pid], "B": [servers[1].pid]}
        watched["redis"] = args.redis_pids or [
            pid for pid in [redis_pid(node_url(args.redis))] if pid is not None
        ]

        def cpu() -> dict[str, float | None]:
            return {
                name: sum(proc_cpu_s(pid) or 0.0 for pid in pids) if pids else None
                for name, pids in watched.items()
            }

        cpu_start = cpu()
        gens = []
        clock = PhaseClock()
        for g in range(args.games):
            url = f"http://127.0.0.1:{ports[0] if g < args.on_a else ports[1]}"
            cmd = [
                "node",
                str(LOADGEN),
                "--url",
                url,
                "--players",
                str(args.players),
                "--questions",
                str(args.questions),
                "--calibrate-answers",  # no cost model here: the workload's answers only
                "0",
                "--answer-window-ms",
                args.answer_window_ms,
                "--ramp",
                "0",
                "--client",
                args.client,
                "--db",
                args.db if args.server == "classquiz" else "none",
                "--out",
                str(work / f"game{g:02d}.json"),
            ]
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=BENCH
            )
            log = open(work / f"game{g:02d}.log", "w")  # closed by its reader

            def read(p: subprocess.Popen[str] = proc, out: Any = log) -> None:
                assert p.stdout is not None
                for line in p.stdout:
                    out.write(line)
                    if line.startswith("@@phase "):
                        clock.saw(line.split()[1])
                out.close()
                clock.saw(PhaseClock.EXITED)

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            gens.append((proc, reader))
            watched[f"generator {g}"] = [proc.pid]
        if not clock.wait("join_start", args.games, 120):  # every game's REST set-up done
            raise SystemExit("a generator never reached its join phase")
        cpu_joined = cpu()
        t0 = time.monotonic()
        all_play: dict[str, Any] = {}
        if clock.wait("play_start", args.games, 300):
            all_play["cpu_start"], all_play["t_start"] = cpu(), time.monotonic()
            if clock.wait("play_end", 1, 300):
                all_play["cpu_end"], all_play["t_end"] = cpu(), time.monotonic()
        for proc, reader in gens:
            proc.wait(timeout=600)
            reader.join()
        wall = time.monotonic() - t0
        cpu_end = cpu()
        counter.stop()
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()

    games = []
    for g in range(args.games):
        path = work / f"game{g:02d}.json"
        games.append(json.loads(path.read_text()) if path.exists() else None)
    once = [g["exactly_once"] for g in games if g]
    p99_per_game = {
        name: [g["metrics"][name]["p99"] if g else None for g in games]
        for name in ("answer_ack", "broadcast", "reveal_end_question", "answer_send_late")
    }
    acks = [v for v in p99_per_game["answer_ack"] if v is not None]

    def delta(a: dict[str, float | None], b: dict[str, float | None]) -> dict[str, float]:
        # a generator that has exited reads as 0: its figures hold while every game plays
        return {
            k: round((b[k] or 0) - (a[k] or 0), 2)
            for k in a
            if a[k] is not None and (b[k] or 0) >= (a[k] or 0)
        }

    both_playing: dict[str, Any] | None = None
    if "cpu_end" in all_play:
        wall_both = all_play["t_end"] - all_play["t_start"]
        cpu_both = delta(all_play["cpu_start"], all_play["cpu_end"])
        both_playing = {
            "wall_s": round(wall_both, 2),
            "cpu_s": cpu_both,
            "cores": {k: round(v / wall_both, 2) for k, v in cpu_both.items()},
            "cores_total": round(sum(cpu_both.values()) / wall_both, 2),
        }

    return {
        "mode": mode,
        "server": args.server,
        "client": args.client,
        "prefix": prefix,
        "all_games_playing": both_playing,
        "p99_ms_per_game": p99_per_game,
        "games_on": {"A": args.on_a, "B": args.games - args.on_a},
        "cpu_s_play": delta(cpu_joined, cpu_end),
        "cpu_s_whole_run": delta(cpu_start, cpu_end),
        "wall_s_play": round(wall, 2),
        "pubsub_messages": counter.counts,
        "pubsub_bytes": counter.bytes,
        "games_reported": len(once),
        "acked_ok": sum(o.get("acked_ok", 0) for o in once),
        "rows": sum(o.get("rows", 0) for o in once),
        "lost": sum(o.get("lost", 0) for o in once),
        "doubled": sum(o.get("doubled", 0) for o in once),
        "unchecked_games": sum(1 for o in once if not o.get("checked")),
        "answer_ack_p99_ms_worst_game": max(acks) if acks else None,
        "loadgen_exit_codes": [p.returncode for p, _ in gens],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=20)
    parser.add_argument("--players", type=int, default=50)
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--on-a", type=int, default=14, help="games on process A; the rest on B")
    parser.add_argument("--answer-window-ms", default="0-500")
    parser.add_argument("--locality", choices=["on", "off", "both"], default="both")
    parser.add_argument(
        "--server",
        choices=["classquiz", "floor"],
        default="classquiz",
        help="floor: the same games on two floor processes (bench/floor), for the ratio",
    )
    parser.add_argument(
        "--client",
        choices=["wire", "socketio"],
        default="wire",
        help="the players' client (bench/loadgen --client): wire leaves the cores to the servers",
    )
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--label", default=None)
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="run the live state on a 3-master Redis Cluster started for the run",
    )
    args = parser.parse_args()
    args.label = args.label or f"g{args.games}-n{args.players}-q{args.questions}-a{args.on_a}"
    if args.cluster:
        args.label += "-cluster"
    raise_nofile()
    ensure_database(args.db)
    OUT.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        args.redis_pids = []
        if args.cluster:
            from tests.support.cluster import redis_cluster

            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            ports = stack.enter_context(redis_cluster(workdir))
            args.redis = f"redis+cluster://127.0.0.1:{ports[0]}"
            args.redis_pids = [
                pid for port in ports if (pid := redis_pid(f"redis://127.0.0.1:{port}"))
            ]
        run_all(args)


def run_all(args: argparse.Namespace) -> None:
    stamp = time.strftime("%Y%m%d%H%M%S")
    modes = {"on": [True], "off": [False], "both": [False, True]}[args.locality]
    if args.server == "floor":
        modes = [True]  # the floor has no pub/sub: one run
    result = {
        "label": args.label,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git_head": git_head(),
        "command": " ".join(sys.argv),
        "redis": args.redis,
        "runs": [run_mode(args, locality, stamp) for locality in modes],
    }
    (OUT / f"{args.label}.json").write_text(json.dumps(result, indent=2))
    print(f"{args.label} at {result['git_head']}")
    for run in result["runs"]:
        print(
            f"{run['mode']:>10}: CPU during play A {run['cpu_s_play'].get('A')} s, "
            f"B {run['cpu_s_play'].get('B')} s, redis {run['cpu_s_play'].get('redis')} s "
            f"(whole run A {run['cpu_s_whole_run'].get('A')}, "
            f"B {run['cpu_s_whole_run'].get('B')}); "
            f"wall {run['wall_s_play']} s; pub/sub {run['pubsub_messages']} "
            f"({run['pubsub_bytes']} bytes); answers {run['acked_ok']} acked, "
            f"{run['rows']} stored, lost {run['lost']}, doubled {run['doubled']}; "
            f"worst game's ack p99 {run['answer_ack_p99_ms_worst_game']} ms"
        )
        print(f"  p99 per game, ms: {run['p99_ms_per_game']}")
        if run["all_games_playing"]:
            both = run["all_games_playing"]
            print(
                f"  while every game played ({both['wall_s']} s): cores {both['cores']}, "
                f"total {both['cores_total']}"
            )


if __name__ == "__main__":
    main()
