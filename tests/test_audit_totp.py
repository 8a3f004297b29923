"""Audit 9.9: the TOTP second factor.

One use per code (a replayed code is refused even inside its 30 s window), an attempt
limit on every check (login, disable, backup codes), the secret encrypted at rest,
and ten one-time backup codes, kept only as hashes, shown once when TOTP is turned on.
The limit is tested on its own app (5 wrong codes per account) with concurrent bursts.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import psycopg2
import pyotp
import pytest
import sqlalchemy
from aiohttp import ClientSession, TCPConnector
from aiohttp.test_utils import TestServer
from alembic import command

from classquiz.config import to_driver_url
from classquiz.db.migrate import MIGRATIONS_DIR, alembic_config, upgrade_database
from classquiz.services.totp import SecretBox
from tests.support.apps import separate_app
from tests.support.users import ApiUser, register_user

TOTP_FAILURES = 5


def code_at(secret: str, step_offset: int) -> str:
    """The code of the time step `step_offset` steps from now (the server accepts ±1)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * step_offset)


async def login(
    http: ClientSession, user: ApiUser, totp: str | None = None, address: str | None = None
) -> tuple[int, Any]:
    body: dict[str, Any] = {"login": user.username, "password": user.password}
    if totp is not None:
        body["totp"] = totp
    headers = {"X-Forwarded-For": address} if address else {}
    async with http.post("/api/v1/users/login", json=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def steady_step() -> None:
    """Wait for the next 30 s step when this one ends within 5 s, so that "the current
    step" means the same step for the few requests that follow."""
    left = 30 - time.time() % 30
    if left < 5:
        await asyncio.sleep(left + 0.1)


async def enable_totp(user: ApiUser) -> tuple[str, list[str]]:
    """(secret, backup codes) after turning TOTP on with the current code."""
    await steady_step()
    status, setup = await user.request("POST", "/api/v1/users/totp/setup")
    assert status == 200, setup
    secret = setup["secret"]
    status, enabled = await user.request(
        "POST", "/api/v1/users/totp/enable", json={"code": code_at(secret, 0)}
    )
    assert status == 200, enabled
    assert enabled["ok"] is True
    return secret, enabled["backup_codes"]


def stored_user_row(database_url: str, username: str) -> tuple[str | None, str]:
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT totp_secret, id::text FROM users WHERE username = %s", (username,))
            row = cur.fetchone()
            assert row is not None
            return row[0], row[1]
    finally:
        conn.close()


# -- one use per code ----------------------------------------------------------------------------


async def test_a_code_is_accepted_once(http: ClientSession, user: ApiUser) -> None:
    secret, _ = await enable_totp(user)  # uses the code of the current step
    # the enabling code cannot log in: it was used
    status, body = await login(http, user, code_at(secret, 0))
    assert status == 401 and body["error"]["code"] == "invalid_credentials", body
    # the next step's code logs in once ...
    code = code_at(secret, 1)
    status, body = await login(http, user, code)
    assert status == 200, body
    # ... and a replay inside the window is refused, and so is any older step
    for replay in (code, code_at(secret, 0), code_at(secret, -1)):
        status, body = await login(http, user, replay)
        assert status == 401 and body["error"]["code"] == "invalid_credentials", body


async def test_concurrent_logins_with_one_code_succeed_once(
    http: ClientSession, user: ApiUser
) -> None:
    secret, _ = await enable_totp(user)
    code = code_at(secret, 1)
    results = await asyncio.gather(*(login(http, user, code) for _ in range(10)))
    statuses = Counter(status for status, _ in results)
    # one wins; the others are wrong codes (the account's limit of 5 may cut some as 429)
    assert statuses[200] == 1 and set(statuses) <= {200, 401, 429}, statuses
    assert statuses[401] <= 5, statuses


# -- the secret at rest -----------------------------------------------------------------------


async def test_the_secret_is_encrypted_at_rest(
    http: ClientSession, user: ApiUser, storage: dict[str, str]
) -> None:
    secret, _ = await enable_totp(user)
    stored, _ = stored_user_row(storage["database_url"], user.username)
    assert stored is not None and secret not in stored and stored != secret
    assert stored.startswith("fernet:")
    status, me = await user.request("GET", "/api/v1/users/me")
    assert status == 200 and me["totp_enabled"] is True


# -- backup codes --------------------------------------------------------------------------------


async def test_backup_codes_are_shown_once_hashed_and_single_use(
    http: ClientSession, user: ApiUser, storage: dict[str, str]
) -> None:
    _, codes = await enable_totp(user)
    assert len(codes) == 10 and len(set(codes)) == 10
    # only hashes are stored
    _, user_id = stored_user_row(storage["database_url"], user.username)
    conn = psycopg2.connect(storage["database_url"])
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT code_hash FROM totp_backup_codes WHERE user_id = %s", (user_id,))
            hashes = [row[0] for row in cur.fetchall()]
    finally:
        conn.close()
    assert len(hashes) == 10
    normalised = {code.replace("-", "") for code in codes}
    assert not any(code in stored for stored in hashes for code in normalised | set(codes))
    # a backup code logs in instead of a TOTP code, once, however it is typed
    status, body = await login(http, user, codes[0].upper())
    assert status == 200, body
    status, body = await login(http, user, codes[0])
    assert status == 401 and body["error"]["code"] == "invalid_credentials"
    # concurrent use of one code: exactly one wins
    results = await asyncio.gather(*(login(http, user, codes[1]) for _ in range(4)))
    assert Counter(status for status, _ in results) == {200: 1, 401: 3}
    # the codes are not shown again: a new set replaces the old one
    status, fresh = await user.request(
        "POST", "/api/v1/users/totp/backup-codes", json={"code": codes[2]}
    )
    assert status == 200, fresh
    assert len(fresh["backup_codes"]) == 10 and not set(fresh["backup_codes"]) & set(codes)
    status, body = await login(http, user, fresh["backup_codes"][0])
    assert status == 200, body
    status, body = await login(http, user, codes[3])  # an old, never used code
    assert status == 401


async def test_disable_takes_a_backup_code_and_forgets_everything(
    http: ClientSession, user: ApiUser, storage: dict[str, str]
) -> None:
    _, codes = await enable_totp(user)
    status, body = await user.request("POST", "/api/v1/users/totp/disable", json={"code": codes[0]})
    assert status == 200, body
    stored, user_id = stored_user_row(storage["database_url"], user.username)
    assert stored is None
    conn = psycopg2.connect(storage["database_url"])
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM totp_backup_codes WHERE user_id = %s", (user_id,))
            row = cur.fetchone()
            assert row is not None and row[0] == 0
    finally:
        conn.close()
    status, _ = await login(http, user)
    assert status == 200


async def test_malformed_codes_are_refused_as_invalid(user: ApiUser) -> None:
    await enable_totp(user)
    for code in ("12345", "1234567", "abc", "", "x" * 200, "12345\u0000"):
        status, body = await user.request("POST", "/api/v1/users/totp/disable", json={"code": code})
        assert status == 422, (code, body)


# -- attempt limits (own app) -----------------------------------------------------------------


@pytest.fixture
async def limited_url(server: TestServer, storage: dict[str, str]) -> AsyncIterator[str]:
    overrides: dict[str, Any] = {
        "redis_prefix": storage["redis_prefix"] + "totp" + uuid.uuid4().hex[:6],
        "trusted_proxies": ["127.0.0.1/32"],
        "totp_rate_limit_failures": TOTP_FAILURES,
        "totp_rate_limit_window_s": 30,
    }
    async with separate_app(storage, **overrides) as test_server:
        yield str(test_server.make_url("")).rstrip("/")


def wrong_code(secret: str) -> str:
    """A six-digit code that is none of the three the server would accept now."""
    valid = {code_at(secret, offset) for offset in (-1, 0, 1, 2)}
    return next(f"{n:06d}" for n in range(10**6) if f"{n:06d}" not in valid)


async def test_disable_has_an_attempt_limit(limited_url: str) -> None:
    async with ClientSession(limited_url, connector=TCPConnector(limit=0)) as http:
        user = await register_user(http)
        secret, _ = await enable_totp(user)
        bad = wrong_code(secret)

        async def disable(code: str) -> int:
            status, _ = await user.request(
                "POST", "/api/v1/users/totp/disable", json={"code": code}
            )
            return status

        statuses = Counter(await asyncio.gather(*(disable(bad) for _ in range(40))))
        assert statuses == {400: TOTP_FAILURES, 429: 40 - TOTP_FAILURES}, statuses
        # blocked: even the right code waits now, and the answer says for how long
        async with http.post(
            "/api/v1/users/totp/disable",
            json={"code": code_at(secret, 1)},
            headers=user.headers,
        ) as resp:
            assert resp.status == 429
            assert 1 <= int(resp.headers["Retry-After"]) <= 30


async def test_login_codes_are_limited_per_account_from_any_address(limited_url: str) -> None:
    async with ClientSession(limited_url, connector=TCPConnector(limit=0)) as http:
        user = await register_user(http)
        secret, codes = await enable_totp(user)
        bad = wrong_code(secret)
        # the password is known; codes are guessed from a different address each time
        results = await asyncio.gather(
            *(login(http, user, bad, address=f"198.51.100.{i}") for i in range(1, 31))
        )
        statuses = Counter(status for status, _ in results)
        assert statuses == {401: TOTP_FAILURES, 429: 30 - TOTP_FAILURES}, statuses
        # backup codes are checked under the same limit
        status, body = await login(http, user, codes[0], address="198.51.100.99")
        assert status == 429 and body["error"]["code"] == "rate_limited"


# -- migration 0005 seals the secrets already stored ---------------------------------------------


def _migration_0005() -> Any:
    path = next((MIGRATIONS_DIR / "versions").glob("0005_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0005", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_migration_0005_seals_plain_secrets_once(
    empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "migration-test-secret-key-" + uuid.uuid4().hex
    monkeypatch.setenv("SECRET_KEY", key)
    upgrade_database(empty_database, "0004")
    plain = pyotp.random_base32()
    conn = psycopg2.connect(empty_database)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for name, secret in (("withtotp", plain), ("without", None)):
                cur.execute(
                    "INSERT INTO users (id, email, username, password_hash, totp_secret)"
                    " VALUES (%s, %s, %s, 'x', %s)",
                    (str(uuid.uuid4()), f"{name}@example.org", name, secret),
                )
        upgrade_database(empty_database)
        box = SecretBox(key)
        with conn.cursor() as cur:
            cur.execute("SELECT username, totp_secret FROM users ORDER BY username")
            rows = dict(cur.fetchall())
        assert rows["without"] is None
        sealed = rows["withtotp"]
        assert sealed != plain and plain not in sealed and box.open(sealed) == plain
        # sealing again changes nothing: only plain values are touched
        engine = sqlalchemy.create_engine(to_driver_url(empty_database, "psycopg2"))
        try:
            with engine.begin() as connection:
                assert _migration_0005().seal_plain_secrets(connection) == 0
        finally:
            engine.dispose()
        with conn.cursor() as cur:
            cur.execute("SELECT totp_secret FROM users WHERE username = 'withtotp'")
            row = cur.fetchone()
            assert row is not None and row[0] == sealed
        # and the downgrade opens it again
        command.downgrade(alembic_config(empty_database), "0004")
        with conn.cursor() as cur:
            cur.execute("SELECT totp_secret FROM users WHERE username = 'withtotp'")
            row = cur.fetchone()
            assert row is not None and row[0] == plain
    finally:
        conn.close()
