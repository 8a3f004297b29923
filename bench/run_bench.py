"""Run one ClassQuiz load test: start the server, drive it with bench/loadgen, measure it.

    .venv/bin/python bench/run_bench.py --players 2000 --questions 3 [--workers 2] [--profile]

Starts `python -m classquiz serve` (1 or N workers) on a dedicated database
and Redis prefix, finds the worker processes (children of the supervisor when
N > 1), samples their CPU time (utime + stime from /proc/<pid>/stat) and
memory (VmRSS, VmHWM from /proc/<pid>/status) before, during and after the
run, and at every phase the generator announces (`@@phase name` lines: join,
play, finish). With --profile, py-spy records each worker during the join
phase and during the play phase (one raw collapsed-stack file per worker and
phase) and the script summarises which functions dominate. Redis and
PostgreSQL CPU time are sampled too (they share the two cores).

Prints one table and writes bench/out/<label>.json (the generator's JSON plus
the server side). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from costmodel import cost_model, headline, ratios

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
LOADGEN = BENCH / "loadgen" / "loadgen.mjs"
FLOOR = BENCH / "floor" / "server.py"
CLK_TCK = os.sysconf("SC_CLK_TCK")
DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/classquiz_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
# Other work above this many cores during join or play flags the run as shared.
SHARED_LIMIT_CORES = 0.3


# ------------------------------------------------------------------ /proc sampling


def proc_cpu_s(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def proc_cpu_ns_s(pid: int) -> float | None:
    """CPU seconds of the process's live threads, to the nanosecond (/proc/<pid>/task/*/schedstat).

    /proc/<pid>/stat counts in clock ticks (10 ms), too coarse for a window in which
    2,000 frames cost 60 ms; schedstat's run time is exact, but forgets threads that
    have exited, so the phase totals keep using /proc/<pid>/stat.
    """
    total = 0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return None
    for task in tasks:
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def proc_mem_mb(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return out


def machine_busy_s() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: all but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / CLK_TCK


def children_of(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            kids += [int(x) for x in (task / "children").read_text().split()]
    return kids


def pids_named(comm: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == comm:
                    pids.append(int(entry.name))
    return pids


def redis_pid(redis_url: str) -> int | None:
    try:
        from redis import Redis

        client = Redis.from_url(redis_url)
        pid = int(client.info("server")["process_id"])
        client.close()
        return pid if Path(f"/proc/{pid}").exists() else None
    except Exception:
        return None


def redis_commandstats(redis_url: str) -> dict[str, int]:
    """Calls per Redis command so far (INFO commandstats); {} if unavailable."""
    try:
        from redis import Redis

        client = Redis.from_url(redis_url)
        stats = client.info("commandstats")
        client.close()
    except Exception:
        return {}
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}


class Sampler:
    """Samples CPU seconds and RSS of the watched processes every `interval` s."""

    def __init__(
        self, groups: dict[str, list[int]], redis_url: str | None = None, interval: float = 0.25
    ) -> None:
        self.groups = groups
        self.redis_url = redis_url
        self.redis_calls: dict[str, dict[str, int]] = {}
        self.interval = interval
        self.peak_rss: dict[int, float] = {}
        self.marks: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def snapshot(self) -> dict[str, Any]:
        snap: dict[str, Any] = {
            "t": time.monotonic(),
            "cpu": {},
            "cpu_exact": {},
            "rss": {},
            "machine": machine_busy_s(),
        }
        for pids in list(self.groups.values()):
            for pid in pids:
                snap["cpu"][pid] = proc_cpu_s(pid)
                snap["cpu_exact"][pid] = proc_cpu_ns_s(pid)
                rss = proc_mem_mb(pid).get("VmRSS")
                snap["rss"][pid] = rss
                if rss is not None:
                    self.peak_rss[pid] = max(self.peak_rss.get(pid, 0.0), rss)
        return snap

    def mark(self, name: str) -> None:
        self.marks[name] = self.snapshot()
        if self.redis_url:
            self.redis_calls[name] = redis_commandstats(self.redis_url)

    def redis_calls_between(self, a: str, b: str) -> dict[str, int]:
        """Redis commands run between two marks (every client of that Redis counts)."""
        x, y = self.redis_calls.get(a, {}), self.redis_calls.get(b, {})
        diff = {k: v - x.get(k, 0) for k, v in y.items() if v - x.get(k, 0) > 0}
        return dict(sorted(diff.items(), key=lambda kv: -kv[1]))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.snapshot()

    def cpu_between(self, a: str, b: str, pid: int) -> float | None:
        if a not in self.marks or b not in self.marks:
            return None
        x, y = self.marks[a]["cpu"].get(pid), self.marks[b]["cpu"].get(pid)
        return None if x is None or y is None else y - x

    def group_cpu_between(self, a: str, b: str, group: str) -> float | None:
        if a not in self.marks or b not in self.marks:
            return None
        return sum(self.cpu_between(a, b, pid) or 0.0 for pid in self.groups.get(group, []))

    def machine_between(self, a: str, b: str) -> float | None:
        if a not in self.marks or b not in self.marks:
            return None
        return self.marks[b]["machine"] - self.marks[a]["machine"]

    def wall_between(self, a: str, b: str) -> float | None:
        if a not in self.marks or b not in self.marks:
            return None
        return self.marks[b]["t"] - self.marks[a]["t"]


# ------------------------------------------------------------------ py-spy


class Profiler:
    """py-spy record on each worker, one raw file per (worker, phase)."""

    def __init__(self, exe: str, pids: list[int], label: str, rate: int) -> None:
        self.exe = exe
        self.pids = pids
        self.label = label
        self.rate = rate
        self.running: list[tuple[subprocess.Popen[bytes], Path]] = []
        self.files: dict[str, list[Path]] = {}

    def start(self, phase: str) -> None:
        for i, pid in enumerate(self.pids):
            path = OUT / f"{self.label}.pyspy.{phase}.w{i}.txt"
            proc = subprocess.Popen(
                [
                    self.exe,
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    str(self.rate),
                    "--nonblocking",
                    "--nolineno",
                    "--format",
                    "raw",
                    "--output",
                    str(path),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.running.append((proc, path))
            self.files.setdefault(phase, []).append(path)

    def stop(self) -> None:
        for proc, _ in self.running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc, _ in self.running:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.running = []


# Buckets of the server's work: a stack goes to the first bucket (in this
# order) that any of its frames matches, so handler-level buckets win over the
# transport underneath them.
BUCKETS: list[tuple[str, re.Pattern[str]]] = [
    (
        "reveal: per-player your_result (_deliver_results)",
        re.compile(r"(?:^|\.)_deliver_results \(classquiz"),
    ),
    ("finish: final_result (_deliver_final)", re.compile(r"(?:^|\.)_deliver_final \(classquiz")),
    ("question_ended (close_question)", re.compile(r"(?:^|\.)close_question \(classquiz")),
    ("question broadcast (_open → emit)", re.compile(r"(?:^|\.)_open \(classquiz")),
    ("answer (ev_submit_answer)", re.compile(r"(?:^|\.)ev_submit_answer \(classquiz")),
    ("join: on_connect (authorize/attach)", re.compile(r"(?:^|\.)on_connect \(classquiz")),
    ("join: welcome", re.compile(r"(?:^|\.)_send_welcome \(classquiz")),
    ("disconnect", re.compile(r"(?:^|\.)on_disconnect \(classquiz")),
    ("answer_count flush", re.compile(r"(?:^|\.)flush \(classquiz")),
    ("deadline loop", re.compile(r"(?:^|\.)_deadline_loop \(classquiz")),
    ("results to PostgreSQL", re.compile(r"\(classquiz/services/results")),
    ("other classquiz handler", re.compile(r"\(classquiz/(socket_server|services)/")),
    (
        "pub/sub listener (AsyncRedisManager._thread)",
        re.compile(r"(?:^|\.)_thread \(socketio/async_pubsub_manager"),
    ),
    ("fan-out listener (_fanout_loop)", re.compile(r"(?:^|\.)_fanout_loop \(classquiz")),
    ("engine.io transport (websocket/polling I/O, pings)", re.compile(r"\(engineio/")),
    ("socket.io packet handling", re.compile(r"\(socketio/")),
    ("aiohttp", re.compile(r"\(aiohttp/")),
    ("asyncio event loop", re.compile(r"\(asyncio/")),
]


def parse_raw(paths: list[Path]) -> list[tuple[list[str], int]]:
    stacks: list[tuple[list[str], int]] = []
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = [f.strip() for f in stack.split(";")]
            if frames and frames[0].startswith("process "):
                frames = frames[1:]
            stacks.append((frames, int(count)))
    return stacks


IDLE_LEAF = re.compile(r"\.select \(selectors\.py\)$|^select \(selectors\.py\)$")


def summarize_profile(paths: list[Path], top: int = 25) -> dict[str, Any]:
    """Percentages of the busy samples (stacks not parked in the event loop's epoll wait)."""
    all_stacks = parse_raw(paths)
    stacks = [(f, c) for f, c in all_stacks if not (f and IDLE_LEAF.search(f[-1]))]
    idle = sum(c for _, c in all_stacks) - sum(c for _, c in stacks)
    total = sum(c for _, c in stacks)
    if not total:
        return {"samples": 0, "idle_samples": idle}
    inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    for frames, count in stacks:
        for frame in set(frames):
            inclusive[frame] += count
        if frames:
            self_time[frames[-1]] += count
        for name, pattern in BUCKETS:
            if any(pattern.search(frame) for frame in frames):
                buckets[name] += count
                break
        else:
            buckets["other"] += count

    def pct(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"function": name, "samples": n, "pct": round(100 * n / total, 1)}
            for name, n in counter.most_common(top)
        ]

    return {
        "samples": total,
        "idle_samples": idle,
        "files": [str(p.relative_to(BENCH)) for p in paths if p.exists()],
        "buckets": pct(buckets),
        "inclusive": pct(inclusive),
        "self": pct(self_time),
    }


# ------------------------------------------------------------------ server


def ensure_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))

    async def run() -> None:
        import asyncpg

        conn = await asyncpg.connect(admin)
        try:
            if not await conn.fetchval("select 1 from pg_database where datname = $1", name):
                await conn.execute(f'create database "{name}"')
        finally:
            await conn.close()

    asyncio.run(run())


def wait_ready(ports: list[int], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"server on port {port} did not become ready")
            time.sleep(0.2)


def wait_until_quiet(limit_s: float, threshold: float) -> bool:
    """Wait until the machine's busy CPU over 3 s is below `threshold` cores (or time is up)."""
    deadline = time.monotonic() + limit_s
    while True:
        a = machine_busy_s()
        time.sleep(3)
        busy = (machine_busy_s() - a) / 3
        if busy < threshold:
            return True
        if time.monotonic() > deadline:
            print(f"machine still busy ({busy:.2f} cores); starting anyway", file=sys.stderr)
            return False
        print(f"machine busy ({busy:.2f} cores): waiting", file=sys.stderr)
        time.sleep(7)


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def log_problems(text: str, limit: int = 80) -> list[str]:
    """Lines of the server log that are warnings, errors or tracebacks (with context)."""
    lines = text.splitlines()
    keep: list[str] = []
    pattern = re.compile(r"ERROR|CRITICAL|Traceback|Exception|WARNING|Task was destroyed|Timeout")
    noise = re.compile(r"InsecureKeyLengthWarning")
    i = 0
    while i < len(lines) and len(keep) < limit:
        if pattern.search(lines[i]) and not noise.search(lines[i]):
            keep.extend(lines[i : i + 6])
            i += 6
        else:
            i += 1
    return keep[:limit]


def top_processes(n: int = 5, window_s: float = 1.0) -> list[str]:
    """The busiest processes over `window_s` (to tell whether the machine was shared)."""

    def sample() -> dict[int, float]:
        cpu = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                value = proc_cpu_s(int(entry.name))
                if value is not None:
                    cpu[int(entry.name)] = value
        return cpu

    first = sample()
    time.sleep(window_s)
    second = sample()
    busy = sorted(
        ((second[pid] - first.get(pid, second[pid]), pid) for pid in second), reverse=True
    )
    rows = []
    for used, pid in busy[:n]:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            cmd = "?"
        rows.append(f"{100 * used / window_s:5.0f}% {pid} {cmd[:100]}")
    return rows


def machine_info() -> dict[str, Any]:
    def run(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return ""

    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": run(["nproc"]),
        "cpu_model": cpu_model,
        "free_h": run(["free", "-h"]),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": run(["node", "--version"]),
        "git_head": run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        # the server runs from the working tree: note uncommitted changes to it
        "classquiz_uncommitted": run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "classquiz"]
        ).splitlines(),
        "loadavg_before": Path("/proc/loadavg").read_text().split()[:3],
        "load_before": top_processes(),
    }


# ------------------------------------------------------------------ main


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--players", type=int, default=100)
    ap.add_argument("--questions", type=int, default=5)
    ap.add_argument("--workers", type=int, default=1, help="server processes")
    ap.add_argument("--procs", type=int, default=0, help="generator pools (0 = one process)")
    ap.add_argument("--ramp", type=float, default=200, help="joins per second (0 = all at once)")
    ap.add_argument(
        "--answer-window-ms", default="0-500", help="each player answers after MIN-MAX ms"
    )
    ap.add_argument(
        "--server",
        choices=["classquiz", "floor"],
        default="classquiz",
        help="what to measure: ClassQuiz, or the floor (bench/floor/server.py)",
    )
    ap.add_argument(
        "--with-floor",
        action="store_true",
        help="run the floor first, then ClassQuiz, same workload and seed; report ratios",
    )
    ap.add_argument("--floor-json", choices=["json", "orjson"], default="json")
    ap.add_argument("--seed", type=int, default=1, help="the generator's seed (delays, answers)")
    ap.add_argument("--transport", default="websocket", choices=["websocket", "polling", "default"])
    ap.add_argument(
        "--client",
        choices=["wire", "socketio"],
        help="the players' client: wire (the lean one, the default over WebSocket: it leaves "
        "the cores to the server) or socketio (socket.io-client, the default otherwise)",
    )
    ap.add_argument("--port", type=int, default=8731)
    ap.add_argument("--label", help="output name (default: derived from the options)")
    ap.add_argument("--profile", action="store_true", help="py-spy each worker (join and play)")
    ap.add_argument("--profile-rate", type=int, default=100)
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    ap.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    ap.add_argument("--node", default=shutil.which("node") or "node")
    ap.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        help="wait up to this many seconds for the machine to be idle before starting",
    )
    ap.add_argument(
        "--quiet-threshold",
        type=float,
        default=0.15,
        help="'idle' means below this many busy cores (default 0.15)",
    )
    ap.add_argument("loadgen_args", nargs="*", help="extra loadgen options after --")
    args = ap.parse_args()
    if (args.with_floor or args.server == "floor") and args.workers != 1:
        ap.error("the floor is one process: --server floor and --with-floor need --workers 1")
    if args.client is None:
        args.client = "wire" if args.transport == "websocket" else "socketio"
    elif args.client == "wire" and args.transport != "websocket":
        ap.error("--client wire speaks WebSocket only")
    return args


def main() -> int:
    args = parse_args()
    label = args.label or (
        f"n{args.players}-w{args.workers}-q{args.questions}-{args.transport}"
        + (f"-p{args.procs}" if args.procs else "")
        + ("-profile" if args.profile else "")
    )
    OUT.mkdir(parents=True, exist_ok=True)
    if not (BENCH / "loadgen" / "node_modules" / "socket.io-client").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BENCH / "loadgen", check=True)
    raise_nofile()
    if not args.with_floor:
        code, _ = run_one(args, args.server, label + ("-floor" if args.server == "floor" else ""))
        return code
    floor_code, floor = run_one(args, "floor", f"{label}-floor")
    print()
    code, ours = run_one(args, "classquiz", label)
    if not (floor.get("cost_model") and ours.get("cost_model")):
        print("no comparison: a run has no generator report (see above)", file=sys.stderr)
        return code or floor_code or 1
    comparison = compare(floor, ours)
    combined = {
        "label": f"{label}-vs-floor",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_head": ours["machine"]["git_head"],
        "command": " ".join(sys.argv),
        "players": args.players,
        "questions": args.questions,
        "seed": args.seed,
        "comparison": comparison,
        "floor": floor,
        "classquiz": ours,
    }
    out = OUT / f"{label}-vs-floor.json"
    out.write_text(json.dumps(combined, indent=2))
    print_comparison(comparison)
    print(f"wrote {out.relative_to(ROOT)}")
    return code or floor_code


def compare(floor: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """Headline figures of both runs, the ratios ClassQuiz / floor, and how clean each run was."""
    f, o = headline(floor), headline(ours)
    return {
        "floor": f,
        "classquiz": o,
        "ratio": ratios(o, f),
        "other_load_cores": {
            "floor": floor["server"]["other_load_cores"],
            "classquiz": ours["server"]["other_load_cores"],
        },
        "contaminated": floor["server"]["contaminated"] or ours["server"]["contaminated"],
        "peak_rss_mb": {
            "floor": [w["peak_rss_mb"] for w in floor["server"]["workers"]],
            "classquiz": [w["peak_rss_mb"] for w in ours["server"]["workers"]],
        },
    }


def print_comparison(comparison: dict[str, Any]) -> None:
    rows = [
        ("answer ack p99, ms", "answer_ack_p99_ms"),
        ("broadcast (question_started) p99, ms", "broadcast_p99_ms"),
        ("reveal (end_question → your_result) p99, ms", "reveal_p99_ms"),
        ("CPU per answer, ms", "cpu_ms_per_answer"),
        ("  (cross-check: in its window), ms", "cpu_ms_per_answer_in_window"),
        ("CPU per answer, isolated (answered calibration), ms", "cpu_ms_per_answer_isolated"),
        ("CPU per broadcast frame, ms", "cpu_ms_per_broadcast_frame"),
        ("CPU per reveal frame, ms", "cpu_ms_per_reveal_frame"),
        ("CPU per join, ms", "cpu_ms_per_join"),
        ("CPU all-in per player-question, ms", "cpu_ms_all_in_per_player_question"),
    ]
    print()
    title = "ClassQuiz vs the floor (same workload, same run)"
    head = f"{title:<46}{'floor':>10}{'ClassQuiz':>11}{'ratio':>8}"
    print(head)
    print("-" * len(head))
    for name, key in rows:
        print(
            f"{name:<46}{_g(comparison['floor'][key]):>10}"
            f"{_g(comparison['classquiz'][key]):>11}{_g(comparison['ratio'][key]):>8}"
        )
    print(f"other load, cores (join/play): {comparison['other_load_cores']}")
    if comparison["contaminated"]:
        print("WARNING: a run was shared with other work: its latencies are not the server's alone")


def _g(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


def run_one(args: argparse.Namespace, kind: str, label: str) -> tuple[int, dict[str, Any]]:
    """One load test of ClassQuiz or of the floor; prints its tables, writes OUT/<label>.json."""
    if kind == "classquiz":
        ensure_database(args.database_url)
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "REDIS_PREFIX": "bench",
            "SECRET_KEY": env.get("BENCH_SECRET_KEY", "bench-only-secret-key-0123456789abcdef"),
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "MAX_PLAYERS_PER_GAME": str(max(10_000, args.players)),
            # every run registers a user from 127.0.0.1
            "REGISTER_RATE_LIMIT": "1000000",
        }
    )
    for key in ("SOCKETIO_REDIS_MANAGER", "CLASSQUIZ_SKIP_MIGRATE"):
        env.pop(key, None)
    if args.wait_quiet > 0:
        wait_until_quiet(args.wait_quiet, args.quiet_threshold)
    info = machine_info()
    ports = [args.port + i for i in range(args.workers)]
    log_path = OUT / f"{label}.server.log"
    log_file = log_path.open("w")
    cmd = [
        sys.executable,
        "-m",
        "classquiz",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(args.port),
    ]
    if kind == "floor":
        cmd = [sys.executable, str(FLOOR), "--port", str(args.port), "--json", args.floor_json]
    elif args.workers > 1:
        cmd += ["--workers", str(args.workers)]
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    sampler: Sampler | None = None
    profiler: Profiler | None = None
    try:
        wait_ready(ports)
        workers = children_of(server.pid) if args.workers > 1 else [server.pid]
        if len(workers) != args.workers:
            raise SystemExit(f"expected {args.workers} workers, found {workers}")
        groups = {"server": workers}
        if args.workers > 1:
            groups["supervisor"] = [server.pid]
        rpid = redis_pid(args.redis_url)
        if rpid:
            groups["redis"] = [rpid]
        groups["postgres"] = pids_named("postgres")
        sampler = Sampler(groups, redis_url=args.redis_url)
        sampler.mark("before")
        sampler.start()
        if args.profile:
            exe = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
            profiler = Profiler(exe, workers, label, args.profile_rate)

        gen_json = OUT / f"{label}.loadgen.json"
        gen_cmd = [
            args.node,
            str(LOADGEN),
            "--urls",
            ",".join(f"http://127.0.0.1:{p}" for p in ports),
            "--players",
            str(args.players),
            "--questions",
            str(args.questions),
            "--ramp",
            str(args.ramp),
            "--answer-window-ms",
            args.answer_window_ms,
            "--transport",
            args.transport,
            "--client",
            args.client,
            "--procs",
            str(args.procs),
            "--seed",
            str(args.seed),
            "--db",
            args.database_url if kind == "classquiz" else "none",
            "--out",
            str(gen_json),
            *args.loadgen_args,
        ]
        gen = subprocess.Popen(gen_cmd, cwd=BENCH / "loadgen", stdout=subprocess.PIPE, text=True)
        sampler.groups["generator"] = [gen.pid]
        gen_lines: list[str] = []
        assert gen.stdout is not None
        for line in gen.stdout:
            if line.startswith("@@phase "):
                name = line.split()[1]
                if name == "join_start":  # the pools are forked by now
                    sampler.groups["generator"] = [gen.pid, *children_of(gen.pid)]
                sampler.mark(name)
                if profiler:
                    if name in ("join_start", "play_start"):
                        profiler.start(name.removesuffix("_start"))
                    elif name in ("join_end", "play_end"):
                        profiler.stop()
                continue
            gen_lines.append(line.rstrip("\n"))
            print(line, end="", flush=True)
        code = gen.wait()
        sampler.mark("after")
        sampler.stop()
        if profiler:
            profiler.stop()
        hwm = {pid: proc_mem_mb(pid).get("VmHWM") for pid in workers}
        log_file.flush()
        run_log_bytes = log_path.stat().st_size  # what follows is the shutdown
    finally:
        if profiler:
            profiler.stop()
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        log_file.close()
    if code != 0:
        print(f"load generator failed with exit code {code}", file=sys.stderr)
    loadgen = json.loads(gen_json.read_text()) if gen_json.exists() else None

    phases = [
        ("join", "join_start", "join_end"),
        ("play", "play_start", "play_end"),
        ("finish", "finish_start", "finish_end"),
        ("total", "before", "after"),
    ]
    server_side: dict[str, Any] = {"workers": []}
    for i, pid in enumerate(workers):
        row: dict[str, Any] = {
            "worker": i,
            "pid": pid,
            "port": ports[i],
            "peak_rss_mb": hwm.get(pid),
            "sampled_peak_rss_mb": sampler.peak_rss.get(pid),
        }
        for name, a, b in phases:
            cpu = sampler.cpu_between(a, b, pid)
            wall = sampler.wall_between(a, b)
            row[f"cpu_s_{name}"] = cpu
            row[f"cpu_pct_{name}"] = None if cpu is None or not wall else round(100 * cpu / wall, 1)
        server_side["workers"].append(row)
    for group in ("supervisor", "redis", "postgres", "generator"):
        if sampler.groups.get(group):
            server_side[group] = {
                # the generator has exited by "after": its total ends at its last phase
                f"cpu_s_{name}": sampler.group_cpu_between(a, b, group)
                if not (group == "generator" and name == "total")
                else sampler.group_cpu_between("join_start", "check_end", group)
                for name, a, b in phases
            }
    # Everything the machine did besides the server, Redis, PostgreSQL and the generator
    # (other people's work on a shared machine shows up here).
    server_side["machine"] = {}
    for name, a, b in phases:
        busy = sampler.machine_between(a, b)
        wall = sampler.wall_between(a, b)
        known = sum(sampler.group_cpu_between(a, b, g) or 0.0 for g in sampler.groups)
        server_side["machine"][name] = {
            "busy_cpu_s": busy,
            "capacity_cpu_s": None if wall is None else wall * (os.cpu_count() or 1),
            "other_cpu_s": None if busy is None else round(busy - known, 2),
        }
    server_side["redis_commands"] = {
        name: sampler.redis_calls_between(a, b) for name, a, b in phases if name != "total"
    }
    server_side["phase_wall_s"] = {name: sampler.wall_between(a, b) for name, a, b in phases}
    # every mark's time and exact CPU per process, to recompute the cost model later
    server_side["marks"] = {
        name: {"t": snap["t"], "cpu_exact": snap["cpu_exact"]}
        for name, snap in sampler.marks.items()
    }
    info["load_after"] = top_processes()
    # Was the machine shared? CPU used by neither the server, Redis, PostgreSQL nor the
    # generator during join and play, in cores; above the threshold the latencies are
    # not the server's own.
    shared = {}
    for name in ("join", "play"):
        other = server_side["machine"][name]["other_cpu_s"]
        wall = server_side["phase_wall_s"][name]
        shared[name] = None if other is None or not wall else round(other / wall, 2)
    server_side["other_load_cores"] = shared
    contaminated = any(v is not None and v > SHARED_LIMIT_CORES for v in shared.values())
    server_side["contaminated"] = contaminated
    log_bytes = log_path.read_bytes()
    log_text = log_bytes.decode(errors="replace")
    problems = log_problems(log_bytes[:run_log_bytes].decode(errors="replace"))
    shutdown_problems = log_problems(log_bytes[run_log_bytes:].decode(errors="replace"), 20)
    profile = None
    if profiler:
        profile = {phase: summarize_profile(paths) for phase, paths in profiler.files.items()}
        for phase, paths in profiler.files.items():
            for i, path in enumerate(paths):
                profile[f"{phase}.w{i}"] = summarize_profile([path], top=15)

    model = None
    if loadgen is not None:
        model = {"server": cost_model(sampler.marks, workers, loadgen)}
        if "redis" in sampler.groups:
            model["server_and_redis"] = cost_model(
                sampler.marks, [*workers, *sampler.groups["redis"]], loadgen
            )
    result = {
        "label": label,
        "kind": kind,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": info,
        "command": " ".join(sys.argv),
        "loadgen_exit": code,
        "loadgen": loadgen,
        "server": server_side,
        "cost_model": model,
        "server_log_problems": problems,
        "server_log_shutdown_problems": shutdown_problems,
        "server_log_lines": len(log_text.splitlines()),
        "profile": profile,
    }
    out = OUT / f"{label}.json"
    out.write_text(json.dumps(result, indent=2))

    print()
    title = "the floor (bench/floor/server.py)" if kind == "floor" else "ClassQuiz"
    print(f"{title}, {args.workers} process(es), CPU seconds per phase and peak RSS:")
    head = (
        f"{'process':<12}{'join s':>9}{'play s':>9}{'finish s':>10}{'total s':>9}"
        f"{'play %':>8}{'peak RSS MiB':>14}"
    )
    print(head)
    print("-" * len(head))
    for row in server_side["workers"]:
        print(
            f"{'worker ' + str(row['worker']):<12}"
            f"{_f(row['cpu_s_join']):>9}{_f(row['cpu_s_play']):>9}"
            f"{_f(row['cpu_s_finish']):>10}{_f(row['cpu_s_total']):>9}{_f(row['cpu_pct_play']):>8}"
            f"{_f(row['peak_rss_mb']):>14}"
        )
    for group in ("supervisor", "redis", "postgres", "generator"):
        if group in server_side:
            g = server_side[group]
            print(
                f"{group:<12}{_f(g['cpu_s_join']):>9}{_f(g['cpu_s_play']):>9}"
                f"{_f(g['cpu_s_finish']):>10}{_f(g['cpu_s_total']):>9}"
            )
    rc = server_side["redis_commands"]
    print(
        "Redis commands: "
        + ", ".join(f"{n} {sum(rc[n].values()):,}" for n in ("join", "play", "finish") if n in rc)
        + " (top in play: "
        + ", ".join(f"{k} {v:,}" for k, v in list(rc.get("play", {}).items())[:5])
        + ")"
    )
    mach = server_side["machine"]
    print(
        f"{'other':<12}"
        + "".join(
            f"{_f(mach[n]['other_cpu_s']):>{w}}"
            for n, w in (("join", 9), ("play", 9), ("finish", 10), ("total", 9))
        )
        + "   (rest of the machine)"
    )
    walls = server_side["phase_wall_s"]
    print(
        f"phase wall s: join {_f(walls['join'])}, play {_f(walls['play'])}, "
        f"finish {_f(walls['finish'])}, total {_f(walls['total'])}"
    )
    if problems:
        print(f"server log during the run: {len(problems)} problem lines, first ones:")
        for line in problems[:10]:
            print("  " + line[:300])
    else:
        print("server log during the run: no warnings or errors")
    if shutdown_problems:
        print(f"server log at shutdown: {len(shutdown_problems)} problem lines, e.g.:")
        for line in shutdown_problems[:2]:
            print("  " + line[:300])
    if profile:
        for phase in ("join", "play"):
            if phase in profile and profile[phase].get("samples"):
                print(f"py-spy, {phase} phase ({profile[phase]['samples']} samples, all workers):")
                for b in profile[phase]["buckets"][:10]:
                    print(f"  {b['pct']:5.1f}%  {b['function']}")
    if model:
        m = model["server"]
        print(
            f"cost model (server process, less {m['background_cpu_pct']}% background), ms of CPU: "
            f"per join {_g(m['cpu_ms_per_join'])}, per answer {_g(m['cpu_ms_per_answer'])} "
            f"(in its window {_g(m['cpu_ms_per_answer_in_window'])}, "
            f"isolated {_g(m.get('cpu_ms_per_answer_isolated'))}), "
            f"per broadcast frame {_g(m['cpu_ms_per_broadcast_frame'])}, "
            f"per reveal frame {_g(m['cpu_ms_per_reveal_frame'])}, "
            f"all-in per player-question {_g(m['cpu_ms_all_in_per_player_question'])}"
        )
    if contaminated:
        print(
            f"WARNING: other work used {shared} cores during join/play: "
            "these latencies are not the server's alone (exit code 3)"
        )
    print(f"wrote {out.relative_to(ROOT)}")
    if code == 0 and contaminated:
        return 3, result
    return code, result


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


if __name__ == "__main__":
    sys.exit(main())
