"""Test fixtures: one fresh PostgreSQL database and one Redis key prefix per run.

The database is created on the PostgreSQL found the same way the server finds
one (`TEST_DATABASE_URL`'s server, else the local one, else an embedded one),
migrated with the real migrations, and dropped at the end; every Redis key the
run wrote lives under its own prefix and is deleted at the end.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg2
import pytest
import redis
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from classquiz import create_app
from classquiz.config import Settings
from classquiz.db.migrate import upgrade_database
from classquiz.devservers import resolve_storage

RUN_ID = uuid.uuid4().hex[:10]


def _admin_url(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    query = ""
    if "?" in url:
        query = "?" + url.split("?", 1)[1]
    return f"{base}/{database}{query}"


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
    db_url = _admin_url(admin, name)
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


def make_settings(storage: dict[str, str], **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": storage["database_url"],
        "redis_url": storage["redis_url"],
        "redis_prefix": storage["redis_prefix"],
        "secret_key": "test-secret-key-that-is-long-enough",
        "debug": True,
        "log_level": "WARNING",
        # Every test client logs in from 127.0.0.1: the failed-login tests must not
        # lock the shared server (test_security_limits checks the limit on its own app).
        "login_rate_limit_failures": 10_000,
        # Test modules start many games with one account and leave them running; the
        # quota has its own test (test_audit_state_quota) on its own app.
        "max_live_games_per_user": 10_000,
        "register_rate_limit": 10_000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


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


@contextlib.asynccontextmanager
async def separate_app(storage: dict[str, str], **overrides: Any) -> AsyncIterator[TestServer]:
    """A second app on its own port with its own settings, sharing the run's database
    connection (owned by the shared `server`)."""
    app = create_app(make_settings(storage, **overrides), own_database=False)
    test_server = TestServer(app, host="127.0.0.1")
    try:
        await test_server.start_server()
        yield test_server
    finally:
        await test_server.close()


@pytest.fixture(scope="session")
def base_url(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def http(base_url: str) -> AsyncIterator[ClientSession]:
    async with ClientSession(base_url) as session:
        yield session


class ApiUser:
    """A registered, logged-in user with a bearer token, for tests."""

    def __init__(
        self, http: ClientSession, username: str, email: str, password: str, token: str
    ) -> None:
        self.http = http
        self.username = username
        self.email = email
        self.password = password
        self.token = token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        async with self.http.request(method, path, headers=headers, **kwargs) as resp:
            body = (
                await resp.json() if resp.content_type == "application/json" else await resp.read()
            )
            return resp.status, body


async def register_user(http: ClientSession, password: str = "correct horse battery") -> ApiUser:
    name = "u" + uuid.uuid4().hex[:10]
    email = f"{name}@example.org"
    async with http.post(
        "/api/v1/users/register", json={"email": email, "username": name, "password": password}
    ) as resp:
        assert resp.status == 201, await resp.text()
    async with http.post("/api/v1/users/login", json={"login": name, "password": password}) as resp:
        assert resp.status == 200, await resp.text()
        token = (await resp.json())["access_token"]
    return ApiUser(http, name, email, password, token)


@pytest.fixture
async def user(http: ClientSession) -> ApiUser:
    return await register_user(http)


@pytest.fixture
async def other_user(http: ClientSession) -> ApiUser:
    return await register_user(http)


def sample_quiz(**overrides: Any) -> dict[str, Any]:
    """A valid quiz with one question of every type."""
    quiz: dict[str, Any] = {
        "title": "Sample quiz",
        "description": "Every question type once",
        "public": False,
        "language": "en",
        "tags": ["sample"],
        "questions": [
            {
                "type": "single",
                "text": "2 + 2?",
                "time_limit_s": 10,
                "points": 1,
                "choices": [{"text": "3"}, {"text": "4", "correct": True}, {"text": "5"}],
            },
            {
                "type": "multiple",
                "text": "Primes?",
                "time_limit_s": 10,
                "points": 2,
                "choices": [
                    {"text": "2", "correct": True},
                    {"text": "3", "correct": True},
                    {"text": "4"},
                ],
            },
            {
                "type": "true_false",
                "text": "The sky is blue",
                "time_limit_s": 5,
                "choices": [{"text": "True", "correct": True}, {"text": "False"}],
            },
            {
                "type": "text",
                "text": "Capital of France?",
                "time_limit_s": 20,
                "accepted_answers": ["Paris"],
            },
            {
                "type": "slider",
                "text": "Degrees in a right angle",
                "time_limit_s": 20,
                "slider": {"min": 0, "max": 180, "step": 1, "correct": 90, "tolerance": 2},
            },
            {
                "type": "order",
                "text": "Smallest first",
                "time_limit_s": 20,
                "choices": [{"text": "1"}, {"text": "2"}, {"text": "3"}],
            },
            {
                "type": "poll",
                "text": "Favourite colour?",
                "time_limit_s": 20,
                "points": 0,
                "choices": [{"text": "Red"}, {"text": "Blue"}],
            },
        ],
    }
    quiz.update(overrides)
    return quiz
