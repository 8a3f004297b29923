"""Settings and app instances for tests: the shared app's settings and a second app.

Tests that need different limits start a second app on its own port rather than
changing the shared one, so nothing a test configures leaks into another.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from typing import Any

from aiohttp.test_utils import TestServer

from classquiz import create_app
from classquiz.config import Settings


def admin_url(url: str, database: str) -> str:
    """`url` pointing at another database of the same server (query string kept)."""
    base, _, _ = url.rpartition("/")
    query = ""
    if "?" in url:
        query = "?" + url.split("?", 1)[1]
    return f"{base}/{database}{query}"


def make_settings(storage: dict[str, str], **overrides: Any) -> Settings:
    """The run's settings: its database and Redis prefix, limits high enough for the suite."""
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
        # The same for joins: many tests refuse handshakes on purpose (bad tokens, unknown
        # PINs), all from 127.0.0.1, and the failures of one module must not make the next
        # module's joins wait for a slot (test_security_limits and the audit burst tests
        # check the join limit on their own app, with small limits).
        "rate_limit_failures": 10_000,
        # Test modules start many games with one account and leave them running; the
        # quota has its own test (test_audit_state_quota) on its own app.
        "max_live_games_per_user": 10_000,
        "register_rate_limit": 10_000,
        # The sign-in tests start many sign-ins from 127.0.0.1 (test_passkeys_api checks
        # the limit on its own app and Redis prefix).
        "sign_in_start_rate_limit": 10_000,
        # Uploaded pictures of this run, outside the repository and apart from other runs.
        "media_dir": os.path.join(tempfile.gettempdir(), f"{storage['redis_prefix']}-media"),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


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
