"""Test fixtures: one fresh PostgreSQL database and one Redis key prefix per run.

The database is created on the PostgreSQL found the same way the server finds
one (`TEST_DATABASE_URL`'s server, else the local one, else an embedded one),
migrated with the real migrations, and dropped at the end; every Redis key the
run wrote lives under its own prefix and is deleted at the end. Only fixtures live
here; the helpers they use are in tests/support/.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg2
import pytest
import redis
import redis.asyncio as aioredis
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from classquiz import create_app
from classquiz.config import Settings
from classquiz.db.migrate import upgrade_database
from classquiz.devservers import resolve_storage
from classquiz.runtime import SERVICES, Services
from classquiz.services.results import ResultService
from tests.support.apps import admin_url, make_settings
from tests.support.caddy import CaddyFront, caddy_in_front
from tests.support.live import SocketGroup
from tests.support.processes import ServerProcess, running_servers
from tests.support.users import ApiUser, register_user

RUN_ID = uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def storage() -> Iterator[dict[str, str]]:
    """A database `cqtest_<run>` and a Redis prefix `cqtest<run>`, removed afterwards."""
    base = Settings(
        database_url=os.environ.get("TEST_DATABASE_URL"),
        redis_url=os.environ.get("TEST_REDIS_URL"),
        data_dir=os.environ.get("TEST_DATA_DIR", ".classquiz-data/test"),
    )
    resolved = resolve_storage(base, database="postgres")
    admin = resolved.require_database_url()
    name = f"cqtest_{RUN_ID}"
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    db_url = admin_url(admin, name)
    upgrade_database(db_url)
    prefix = f"cqtest{RUN_ID}"
    yield {
        "database_url": db_url,
        "redis_url": resolved.require_redis_url(),
        "redis_prefix": prefix,
        "admin_url": admin,
    }
    r = redis.Redis.from_url(resolved.require_redis_url())
    for key in r.scan_iter(match=f"{prefix}*", count=1000):
        r.delete(key)
    r.close()
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture(scope="session")
def settings(storage: dict[str, str]) -> Settings:
    return make_settings(storage)


@pytest.fixture(scope="session")
async def server(settings: Settings) -> AsyncIterator[TestServer]:
    """The real app on a real TCP port, shared by the whole run."""
    app: web.Application = create_app(settings)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield test_server
    await test_server.close()


@pytest.fixture(scope="session")
def base_url(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def http(base_url: str) -> AsyncIterator[ClientSession]:
    async with ClientSession(base_url) as session:
        yield session


@pytest.fixture
async def user(http: ClientSession) -> ApiUser:
    return await register_user(http)


@pytest.fixture
async def other_user(http: ClientSession) -> ApiUser:
    return await register_user(http)


@pytest.fixture
async def sockets(base_url: str) -> AsyncIterator[SocketGroup]:
    """Socket.IO clients of the shared app, closed after the test."""
    async with SocketGroup(base_url) as group:
        yield group


@pytest.fixture
def svc(server: TestServer) -> Services:
    """The services of the shared app."""
    return server.app[SERVICES]


@pytest.fixture
def private_results(svc: Services) -> ResultService:
    """A ResultService on its own Redis prefix, out of reach of the app's retry loop."""
    prefix = f"{svc.settings.redis_prefix}:t{uuid.uuid4().hex[:8]}"
    return ResultService(svc.redis, prefix, svc.signer)


@pytest.fixture
def empty_database(storage: dict[str, str]) -> Iterator[str]:
    """A brand-new empty database, dropped afterwards."""
    admin = storage["admin_url"]
    name = f"cqmig_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield admin_url(admin, name)
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture
async def redis_client(storage: dict[str, str]) -> AsyncIterator[aioredis.Redis]:
    """A client of the run's Redis, to look at (or plant) keys directly."""
    client = aioredis.Redis.from_url(storage["redis_url"])
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
async def caddy_front(
    storage: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[CaddyFront]:
    """Debian's Caddy with the project's Caddyfile in front of `serve --workers 2`, shared
    by the run's proxy tests (started once: a supervisor and two workers take 10-20 s).
    Tests must not stop or kill its processes; a drill starts its own `caddy_in_front`.
    It has its own Redis prefix (under the run's): it lives on after the proxy tests and
    must not take part in later tests' multi-process games."""
    async with caddy_in_front(
        storage,
        tmp_path_factory.mktemp("caddy-front"),
        redis_prefix=f"{storage['redis_prefix']}front",
    ) as front:
        yield front


@pytest.fixture
async def two_servers(
    storage: dict[str, str], tmp_path: Path
) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    """Two real server processes (A and B) sharing the run's database and Redis."""
    async with running_servers(storage, tmp_path, "A", "B") as (a, b):
        yield a, b
