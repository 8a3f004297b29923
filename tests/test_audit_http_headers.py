"""Audit finding 15: security headers on every response, no versions, /metrics protected.

The app's responses of every kind (JSON, HTML, static files, errors, Socket.IO
polling, a request so malformed that it never reaches a handler) carry the
Content-Security-Policy, nosniff and Referrer-Policy and no software version.
The real Caddyfile is run by the real Caddy in front of the app: it adds HSTS
and removes `Server`. `/metrics` answers only with its token (or in debug).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp import ClientSession
from multidict import CIMultiDictProxy

from classquiz import create_app
from classquiz.security_headers import CSP_SCRIPT_HASHES
from tests.support.apps import make_settings, separate_app

REPO = Path(__file__).resolve().parents[1]
PATHS = [
    "/healthz",
    "/api/openapi.json",
    "/api/docs",
    "/api/docs/static/swagger-ui.css",
    "/api/v1/no-such-endpoint",
    "/api/v1/users/me",  # 401
    "/socket.io/?EIO=4&transport=polling",
    "/",
    "/metrics",
]


def assert_security_headers(headers: CIMultiDictProxy[str], where: str) -> None:
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp, (where, csp)
    assert "frame-ancestors 'none'" in csp, (where, csp)
    assert "object-src 'none'" in csp, (where, csp)
    assert "connect-src 'self'" in csp and "img-src 'self' data: blob: https:" in csp, csp
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") == "same-origin", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert_no_version(headers, where)


def assert_no_version(headers: CIMultiDictProxy[str], where: str) -> None:
    for name in ("Server", "X-Powered-By"):
        value = headers.get(name, "")
        assert not re.search(r"\d|python|aiohttp|caddy", value, re.IGNORECASE), (where, value)


@pytest.mark.parametrize("path", PATHS)
async def test_every_kind_of_response_carries_the_headers(http: ClientSession, path: str) -> None:
    async with http.get(path, allow_redirects=False) as resp:
        await resp.read()
        assert_security_headers(resp.headers, f"{path} -> {resp.status}")


async def test_a_request_that_never_reaches_the_app_shows_no_version(base_url: str) -> None:
    """A malformed request line is answered by aiohttp itself, before any handler."""
    url = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), timeout=5)
    writer.close()
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    assert head.split(" ", 2)[1] == "400", head
    server = [line for line in head.split("\r\n") if line.lower().startswith("server:")]
    assert all(not re.search(r"\d|python|aiohttp", line, re.I) for line in server), server


async def test_the_web_app_inline_script_hashes_reach_the_policy(
    storage: dict[str, str],
) -> None:
    """The web-app serving code publishes its inline script hashes; the CSP allows them."""
    app = create_app(make_settings(storage), own_database=False)

    async def publish(app_: object) -> None:
        app[CSP_SCRIPT_HASHES] = ["'sha256-abc123='"]

    app.on_startup.append(publish)  # filled at start, as the serving code does
    from aiohttp.test_utils import TestServer

    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with ClientSession(str(server.make_url(""))) as http:
            async with http.get("/healthz") as resp:
                csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self' 'sha256-abc123='" in csp, csp
    finally:
        await server.close()


# ---------------------------------------------------------------- /metrics


async def test_metrics_are_hidden_outside_debug_without_a_token(storage: dict[str, str]) -> None:
    async with separate_app(storage, debug=False) as server:
        async with ClientSession(str(server.make_url(""))) as http:
            async with http.get("/metrics") as resp:
                assert resp.status == 404, await resp.text()
                assert "classquiz_" not in await resp.text()


async def test_metrics_need_their_token(storage: dict[str, str]) -> None:
    token = "scrape-token-0123456789abcdef"
    async with separate_app(storage, debug=False, metrics_token=token) as server:
        async with ClientSession(str(server.make_url(""))) as http:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
                async with http.get("/metrics", headers=headers) as resp:
                    assert resp.status == 401, (headers, resp.status)
                    assert "classquiz_" not in await resp.text()
            good = {"Authorization": f"Bearer {token}"}
            async with http.get("/metrics", headers=good) as resp:
                assert resp.status == 200
                assert "classquiz_http_requests_total" in await resp.text()


async def test_metrics_stay_open_in_debug_without_a_token(http: ClientSession) -> None:
    """The shared test app runs with DEBUG=true and no token (local development)."""
    async with http.get("/metrics") as resp:
        assert resp.status == 200
        assert "classquiz_" in await resp.text()


# ---------------------------------------------------------------- Caddy


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_caddyfile_sets_hsts_and_removes_server() -> None:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed")
    adapted = subprocess.run(
        [caddy, "adapt", "--config", str(REPO / "Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "CLASSQUIZ_DOMAIN": "quiz.example.org"},
    )
    config = json.dumps(json.loads(adapted.stdout))
    assert "Strict-Transport-Security" in config
    assert "max-age=31536000" in config


@contextlib.asynccontextmanager
async def caddy_in_front(upstream: str) -> AsyncIterator[str]:
    """The repository's Caddyfile run by the real Caddy over plain HTTP to `upstream`."""
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed")
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        config = REPO / "Caddyfile"
        env = {
            **os.environ,
            # No admin endpoint: tests may run several Caddies at once.
            "CADDY_ADMIN": "off",
            "HOME": home,
            "XDG_DATA_HOME": home,
            "XDG_CONFIG_HOME": home,
            "CLASSQUIZ_DOMAIN": f"http://127.0.0.1:{port}",
            "CLASSQUIZ_UPSTREAMS": upstream,
        }
        proc = await asyncio.create_subprocess_exec(
            caddy,
            "run",
            "--config",
            str(config),
            "--adapter",
            "caddyfile",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 15
            while True:
                with contextlib.suppress(OSError):
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    break
                assert proc.returncode is None, "caddy exited"
                assert time.monotonic() < deadline, "caddy did not start"
                await asyncio.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), timeout=10)


async def test_behind_caddy_no_server_header_and_hsts(base_url: str) -> None:
    upstream = urlsplit(base_url).netloc
    async with caddy_in_front(upstream) as front:
        async with ClientSession(front) as http:
            for path in ("/healthz", "/api/v1/users/me", "/api/docs"):
                for _ in range(50):  # the first request may race Caddy's health check
                    async with http.get(path) as resp:
                        await resp.read()
                        if resp.status != 502 and resp.status != 503:
                            break
                    await asyncio.sleep(0.1)
                assert "Server" not in resp.headers, (path, resp.headers.get("Server"))
                assert resp.headers.get("Strict-Transport-Security", "").startswith(
                    "max-age=31536000"
                ), path
                assert_security_headers(resp.headers, f"caddy {path}")


def test_a_blank_metrics_token_means_none(storage: dict[str, str]) -> None:
    """Compose passes `METRICS_TOKEN=` when the variable is unset."""
    assert make_settings(storage, metrics_token="  ").metrics_token is None
