"""A private `redis-server` for tests that stop, kill or measure Redis.

The run's shared Redis must never be restarted under the other tests, and its
memory figures mix every test's keys; a drill or a soak starts its own server
on a free loopback port with its own directory, so it can stop it, kill it,
start it again on the same append-only file, and read `INFO memory` that is its
alone. The configuration is the one docs/operations.md recommends
(`appendonly yes`, `appendfsync everysec`, `noeviction`).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from tests.support.processes import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class PrivateRedis:
    """One redis-server process that can be stopped, killed and started again on the
    same port and directory (so on the same AOF)."""

    def __init__(self, directory: Path, *, appendfsync: str = "everysec") -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.appendfsync = appendfsync
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = directory / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self, timeout: float = 10) -> None:
        """Start (or start again) and wait until it answers PING with its data loaded."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        args = [
            REDIS_SERVER,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            "--save", "",
            "--maxmemory-policy", "noeviction",
            "--logfile", str(self.log_path),
            "--daemonize", "no",
        ]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"redis-server exited:\n{self.log_tail()}")
            try:
                with contextlib.closing(self.client()) as probe:
                    # LOADING is an error reply: the AOF is still being read
                    if probe.ping():
                        return
            except redis.exceptions.RedisError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"redis-server not ready in {timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """A clean shutdown: SIGTERM makes Redis fsync the AOF and exit."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def crash(self) -> None:
        """A crash: SIGKILL, so whatever was not yet fsynced to the AOF is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""


@contextlib.contextmanager
def private_redis(directory: Path, *, appendfsync: str = "everysec") -> Iterator[PrivateRedis]:
    """A started `PrivateRedis` in `directory`, stopped afterwards."""
    server = PrivateRedis(directory, appendfsync=appendfsync)
    server.start()
    try:
        yield server
    finally:
        server.crash()
