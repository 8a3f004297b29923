"""The deployment as shipped, on loopback: Debian's Caddy with the project's own
Caddyfile in front of `python -m classquiz serve --workers N`.

`caddy_in_front(storage, tmp_path)` starts the server's supervisor on a run of free
ports, waits for every worker's /readyz, starts `caddy run --config Caddyfile` with
`CLASSQUIZ_DOMAIN=http://127.0.0.1:PORT` and `CLASSQUIZ_UPSTREAMS` naming the
workers, waits until a request through Caddy reaches a worker, and stops Caddy,
the supervisor and any worker left behind afterwards. Nothing is assumed to be
running already; Caddy's state (autosave, storage) lives in `tmp_path`, and its
admin API listens on a free port of its own (`CADDY_ADMIN`), so several of these
may run at once. `.ci/run` installs Debian's caddy.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import ClientError, ClientSession

from tests.support.processes import (
    ROOT,
    ServerProcess,
    free_port_run,
    process_prefix,
    start_server,
    wait_ready,
)

CADDYFILE = ROOT / "Caddyfile"
SOCKET_EVENT_LINE = re.compile(
    r'^classquiz_socket_events_total\{event="([a-z_]+)",outcome="([a-z_]+)"\} ([0-9.e+]+)$',
    re.MULTILINE,
)
# A supervisor and two workers each import the whole app: on a busy 2-core machine
# (the suite's other processes, a benchmark) that has taken over 20 s.
STARTUP_TIMEOUT_S = 60.0


def caddy_binary() -> str:
    """Debian's caddy; a test that needs it fails (not skips) without it."""
    found = shutil.which("caddy")
    if found is None:
        pytest.fail("caddy is not installed: apt-get install caddy (.ci/run does)")
    return found


@dataclass
class CaddyFront:
    """Caddy at `url` in front of the workers at `worker_urls` (one supervisor process)."""

    url: str
    worker_urls: list[str]
    supervisor: ServerProcess
    caddy: subprocess.Popen[bytes]
    caddy_log: Path
    admin_url: str
    redis_prefix: str
    # An HTTP session on Caddy's URL. It keeps no cookies, like a Node client: aiohttp's
    # default jar takes none from an IP address.
    http: ClientSession | None = field(default=None)

    @property
    def upstreams(self) -> list[str]:
        """The workers as the Caddyfile names them (`host:port`)."""
        return [url.removeprefix("http://") for url in self.worker_urls]

    def caddy_log_tail(self) -> str:
        try:
            return self.caddy_log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def worker_pids(self) -> list[int]:
        """The supervisor's children (the workers), from /proc."""
        pid = self.supervisor.proc.pid
        try:
            text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]


EventCounts = dict[tuple[str, str], float]


async def events_by_worker(front: CaddyFront) -> list[EventCounts]:
    """Each worker's count of handled Socket.IO events by (event, outcome), read from its
    own /metrics (served in debug mode): where a game was really played."""
    counts: list[EventCounts] = []
    async with ClientSession() as http:
        for url in front.worker_urls:
            async with http.get(f"{url}/metrics") as resp:
                assert resp.status == 200, f"{url}/metrics: {resp.status}"
                text = await resp.text()
            counts.append({(e, o): float(v) for e, o, v in SOCKET_EVENT_LINE.findall(text)})
    return counts


def events_since(before: list[EventCounts], after: list[EventCounts]) -> list[EventCounts]:
    """Per worker, the counts that grew between two `events_by_worker` readings."""
    return [
        {key: value - b.get(key, 0.0) for key, value in a.items() if value - b.get(key, 0.0)}
        for b, a in zip(before, after, strict=True)
    ]


def caddy_env(site_url: str, upstreams: list[str], admin: str, home: Path) -> dict[str, str]:
    """The environment the Caddyfile reads, plus a private home for Caddy's state."""
    env = dict(os.environ)
    env.update(
        {
            "CLASSQUIZ_DOMAIN": site_url,
            "CLASSQUIZ_UPSTREAMS": " ".join(upstreams),
            "CADDY_ADMIN": admin,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
        }
    )
    return env


def start_caddy(
    site_url: str, upstreams: list[str], tmp_path: Path, name: str = "caddy"
) -> tuple[subprocess.Popen[bytes], Path, str]:
    """`caddy run` with the project's Caddyfile; returns the process, its log and admin URL."""
    admin = f"127.0.0.1:{free_port_run(1)}"
    home = tmp_path / f"{name}-home"
    home.mkdir(parents=True, exist_ok=True)
    log_path = tmp_path / f"{name}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [caddy_binary(), "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
            cwd=ROOT,
            env=caddy_env(site_url, upstreams, admin, home),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return proc, log_path, f"http://{admin}"


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


async def wait_caddy(
    proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 20
) -> None:
    """Until a request through Caddy reaches a worker (/readyz 200 via the proxy)."""
    deadline = time.monotonic() + timeout
    async with ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"caddy exited:\n{_tail(log)}")
            try:
                async with http.get(f"{url}/readyz") as resp:
                    if resp.status == 200:
                        return
            except (ClientError, OSError):
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"caddy not answering at {url} in {timeout} s:\n{_tail(log)}")


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _kill_leftovers(pids: list[int]) -> None:
    """Workers the supervisor did not take down (it was killed, or hung): by their ids."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@contextlib.asynccontextmanager
async def caddy_in_front(
    storage: dict[str, str], tmp_path: Path, workers: int = 2, redis_prefix: str | None = None
) -> AsyncIterator[CaddyFront]:
    """Caddy (the project's Caddyfile) in front of `serve --workers N`, all on free ports.

    The workers use `redis_prefix` (default: `process_prefix(storage)`, shared with the
    other multi-process tests); a front that outlives its test module needs its own, or
    its idle workers would take part in other processes' games (deadline leases).
    """
    prefix = redis_prefix or process_prefix(storage)
    first = free_port_run(workers)
    supervisor = start_server(
        "workers",
        storage,
        tmp_path,
        port=first,
        workers=workers,
        env_overrides={"REDIS_PREFIX": prefix},
    )
    worker_urls = [f"http://127.0.0.1:{first + i}" for i in range(workers)]
    caddy: subprocess.Popen[bytes] | None = None
    front: CaddyFront | None = None
    seen_workers: set[int] = set()
    try:
        # Each worker's own /readyz; a ServerProcess on the supervisor's process and log,
        # so a supervisor that exits fails the wait with its log.
        await asyncio.gather(
            *(
                wait_ready(
                    ServerProcess(f"w{i}", first + i, supervisor.proc, supervisor.log_path),
                    timeout=STARTUP_TIMEOUT_S,
                )
                for i in range(workers)
            )
        )
        url = f"http://127.0.0.1:{free_port_run(1)}"
        upstreams = [u.removeprefix("http://") for u in worker_urls]
        caddy, caddy_log, admin_url = start_caddy(url, upstreams, tmp_path)
        front = CaddyFront(url, worker_urls, supervisor, caddy, caddy_log, admin_url, prefix)
        seen_workers.update(front.worker_pids())
        await wait_caddy(caddy, url, caddy_log)
        front.http = ClientSession(url)
        yield front
    finally:
        if front is not None:
            seen_workers.update(front.worker_pids())
            if front.http is not None:
                await front.http.close()
        if caddy is not None:
            stop_process(caddy)
        supervisor.stop()
        _kill_leftovers(sorted(seen_workers))
