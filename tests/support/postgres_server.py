"""A private PostgreSQL cluster for tests that stop and start the database server.

The run's PostgreSQL serves every other test; a drill that restarts PostgreSQL
gets a cluster of its own: `initdb` into a fresh directory, `pg_ctl` on a free
loopback port. PostgreSQL refuses to run as root, so when the tests run as root
the cluster belongs to the `postgres` system user and its commands run through
`runuser`. `fsync=off`: a drill restarts the server cleanly (`pg_ctl stop -m
fast`), and the disk is not what it tests.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2

from tests.support.processes import free_port

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
RUN_AS = "postgres"


def _as_owner(args: list[str]) -> list[str]:
    """`args` as the cluster's owner: itself, or `postgres` when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", RUN_AS, "--", *args]
    return args


class PrivatePostgres:
    """One PostgreSQL cluster in a temporary directory, on its own port."""

    def __init__(self) -> None:
        # Not under pytest's tmp_path: that is private to root, and `postgres` must
        # be able to reach its data directory.
        self.root = Path(tempfile.mkdtemp(prefix="cq-pg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "postgres.log"
        self.port = free_port()
        if os.geteuid() == 0:
            owner = pwd.getpwnam(RUN_AS)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log_path),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """A clean, fast shutdown: open sessions are cut, as in a real restart."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        status = subprocess.run(
            _as_owner([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status"]),
            capture_output=True,
        )
        return status.returncode == 0

    def create_database(self, name: str) -> str:
        conn = psycopg2.connect(self.url())
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.url(name)

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def remove(self) -> None:
        if self.data.exists() and self.running():
            pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
            subprocess.run(_as_owner(pg_ctl), capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, *args: str) -> None:
        done = subprocess.run(_as_owner(list(args)), capture_output=True, timeout=90)
        if done.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} failed:\n{done.stdout.decode(errors='replace')}"
                f"{done.stderr.decode(errors='replace')}\n{self.log_tail()}"
            )


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started `PrivatePostgres`, removed afterwards."""
    server = PrivatePostgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()
