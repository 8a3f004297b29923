"""Real server processes for tests: the app as it is deployed, `python -m classquiz serve`.

Tests that need more than one process (the Redis manager, the deadline lease moving
when a process dies) or a process they can kill start them here. They share the
run's database and Redis, under their own Redis prefix.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import ClientError, ClientSession

ROOT = Path(__file__).resolve().parent.parent.parent
SECRET_KEY = "test-secret-key-that-is-long-enough"


def process_prefix(storage: dict[str, str]) -> str:
    """The two processes' own Redis prefix (still removed with the run's keys).

    Not the run's prefix: the in-process test server of the other tests (no
    Redis manager) would compete for the deadline lease and the fan-out of
    these games, and emit `question_ended` only to its own, empty, rooms.
    """
    return f"{storage['redis_prefix']}mp"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Below Linux's ephemeral range (32768-60999): a port found free there can be taken by
# any outgoing connection before the server binds it, and a worker of
# `serve --workers N` binds its port seconds after the run was chosen.
PORT_RUN_RANGE = (20000, 32000)


def free_port_run(count: int, attempts: int = 200) -> int:
    """The first of `count` consecutive free ports (`serve --workers N` needs a run)."""
    for _ in range(attempts):
        first = random.randrange(*PORT_RUN_RANGE)
        with contextlib.ExitStack() as held:
            try:
                for offset in range(count):
                    s = held.enter_context(socket.socket())
                    s.bind(("127.0.0.1", first + offset))
            except OSError:
                continue
            return first
    raise RuntimeError(f"no run of {count} free ports found")


@dataclass
class ServerProcess:
    """A `python -m classquiz serve` child process, its port and its log."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    http: ClientSession | None = field(default=None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # in case a test left it stopped
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_server(
    name: str,
    storage: dict[str, str],
    tmp_path: Path,
    *,
    port: int | None = None,
    workers: int = 1,
    env_overrides: dict[str, str] | None = None,
) -> ServerProcess:
    """Start a server process on a free port, logging to `tmp_path`; see `wait_ready`.

    With `workers` > 1 it is `serve --workers N`: a supervisor whose workers listen on
    `port` .. `port + N - 1` (give a `port` from `free_port_run(N)`); `wait_ready` then
    sees only the first worker. `env_overrides` changes its settings (a drill points
    it at a Redis or a PostgreSQL of its own).
    """
    port = free_port() if port is None else port
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": storage["database_url"],
            "REDIS_URL": storage["redis_url"],
            "REDIS_PREFIX": process_prefix(storage),
            "SECRET_KEY": SECRET_KEY,
            "DEBUG": "true",
            "SOCKETIO_REDIS_MANAGER": "true",
            "LOG_LEVEL": "WARNING",
            "CLASSQUIZ_SKIP_MIGRATE": "1",  # the storage fixture migrated the database
            # As for the in-process test apps (tests/support/apps.py): every test client
            # comes from 127.0.0.1, and the registrations, sign-ins and refused joins of
            # earlier modules on the same Redis prefix must not hit the limits here; the
            # limits have their own tests, on their own apps, with small values.
            "REGISTER_RATE_LIMIT": "10000",
            "LOGIN_RATE_LIMIT_FAILURES": "10000",
            "RATE_LIMIT_FAILURES": "10000",
            "MAX_LIVE_GAMES_PER_USER": "10000",
        }
    )
    env.update(env_overrides or {})
    log_path = tmp_path / f"server-{name}.log"
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
                str(port),
                "--workers",
                str(workers),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return ServerProcess(name, port, proc, log_path)


async def wait_ready(server: ServerProcess, timeout: float = 25) -> None:
    """Until /readyz answers 200; fails with the log's tail if the process exits or hangs."""
    deadline = time.monotonic() + timeout
    async with ClientSession() as http:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise AssertionError(f"server {server.name} exited:\n{server.log_tail()}")
            try:
                async with http.get(f"{server.url}/readyz") as resp:
                    if resp.status == 200:
                        return
            except (ClientError, OSError):
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"server {server.name} not ready in {timeout} s:\n{server.log_tail()}")


@contextlib.asynccontextmanager
async def running_servers(
    storage: dict[str, str], tmp_path: Path, *names: str
) -> AsyncIterator[list[ServerProcess]]:
    """One ready server process per name, each with an HTTP session; all stopped after."""
    servers = [start_server(name, storage, tmp_path) for name in names]
    try:
        await asyncio.gather(*(wait_ready(server) for server in servers))
        for server in servers:
            server.http = ClientSession(server.url)
        yield servers
    finally:
        for server in servers:
            if server.http is not None:
                await server.http.close()
            server.stop()
