"""Error tracking with Sentry (issue 15): on only when SENTRY_DSN is set, and never
sending tokens or personal data.

The DSN points at a loopback stand-in of Sentry's ingestion endpoint
(`POST /api/<project>/envelope/`, gzip-compressed envelopes as sentry-sdk sends
them); the real app with the real SDK and its aiohttp integration serves a request
that fails with an unhandled error, carrying a bearer token, a session cookie,
tokens in its query string, an e-mail and a password in what the handler logs and
raises. The event must arrive, and none of those values may be in it.

The failing route is added by this test (the app has no route that fails on
purpose); it is a plain handler behind the app's own middleware chain.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import uuid
import zlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sentry_sdk
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from classquiz import create_app
from classquiz.error_tracking import FILTERED, scrub_event
from tests.support.apps import make_settings

PUBLIC_KEY = "0123456789abcdef0123456789abcdef"
PROJECT = "42"
EMAIL = "ada.lovelace@example.org"
PASSWORD = "correct-horse-battery-staple"
BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl"
COOKIE = "cq-cookie-value-" + uuid.uuid4().hex
QUERY_TOKEN = "query-token-" + uuid.uuid4().hex
PLAYER_TOKEN = "player-token-" + uuid.uuid4().hex
CAPTCHA = "P1_captcha-" + uuid.uuid4().hex
SECRETS = [EMAIL, PASSWORD, BEARER, COOKIE, QUERY_TOKEN, PLAYER_TOKEN, CAPTCHA]


class SentryStandIn:
    """Sentry's envelope endpoint: checks the DSN's key, keeps every envelope's items."""

    def __init__(self) -> None:
        self.raw: list[str] = []
        self.items: list[tuple[dict[str, Any], Any]] = []
        self.arrived = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/{project}/envelope/", self.envelope)
        return app

    async def envelope(self, request: web.Request) -> web.Response:
        auth = request.headers.get("X-Sentry-Auth", "")
        if request.match_info["project"] != PROJECT or f"sentry_key={PUBLIC_KEY}" not in auth:
            return web.json_response({"detail": "bad DSN"}, status=401)
        body = await request.read()  # aiohttp decompresses gzip/deflate bodies itself
        encoding = request.headers.get("Content-Encoding", "")
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        elif encoding == "deflate" and body[:1] == b"x":
            body = zlib.decompress(body)
        text = body.decode()
        self.raw.append(text)
        lines = text.split("\n")
        index = 1  # line 0 is the envelope's header
        while index < len(lines) and lines[index]:
            header = json.loads(lines[index])
            payload = lines[index + 1] if index + 1 < len(lines) else ""
            try:
                parsed: Any = json.loads(payload)
            except ValueError:
                parsed = payload
            self.items.append((header, parsed))
            index += 2
        self.arrived.set()
        return web.json_response({"id": uuid.uuid4().hex})

    def events(self) -> list[dict[str, Any]]:
        return [payload for header, payload in self.items if header.get("type") == "event"]


@pytest.fixture
async def sentry() -> AsyncIterator[tuple[SentryStandIn, str]]:
    stand_in = SentryStandIn()
    server = TestServer(stand_in.app(), host="127.0.0.1")
    await server.start_server()
    yield stand_in, f"http://{PUBLIC_KEY}@127.0.0.1:{server.port}/{PROJECT}"
    await server.close()


async def test_an_unhandled_error_arrives_scrubbed(
    server: TestServer, storage: dict[str, str], sentry: tuple[SentryStandIn, str]
) -> None:
    stand_in, dsn = sentry
    settings = make_settings(storage, sentry_dsn=dsn, sentry_environment="test")
    app = create_app(settings, own_database=False)

    async def fails(request: web.Request) -> web.Response:
        logging.getLogger("classquiz.test").warning(
            "sign-in of %s with %s", EMAIL, {"password": PASSWORD, "captcha": CAPTCHA}
        )
        raise RuntimeError(f"cannot mail {EMAIL}: login password={PASSWORD}")

    app.router.add_post("/api/v1/test-failure", fails)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    try:
        assert sentry_sdk.get_client().is_active()
        url = str(test_server.make_url("/api/v1/test-failure"))
        async with ClientSession() as http:
            async with http.post(
                url,
                params={"token": QUERY_TOKEN, "player_token": PLAYER_TOKEN, "page": "2"},
                headers={
                    "Authorization": f"Bearer {BEARER}",
                    "Cookie": f"cq_session={COOKIE}",
                    "X-Request-ID": "sentrytest1234",
                },
                json={"email": EMAIL, "password": PASSWORD},
            ) as resp:
                assert resp.status == 500
                assert (await resp.json())["error"]["code"] == "internal_error"
            await asyncio.wait_for(stand_in.arrived.wait(), 15)
    finally:
        await test_server.close()  # flushes and stops the SDK
    assert not sentry_sdk.get_client().is_active()

    events = stand_in.events()
    failures = [
        event
        for event in events
        if any(v.get("type") == "RuntimeError" for v in event["exception"]["values"])
    ]
    assert len(failures) == 1, events  # one event, not one per integration
    event = failures[0]
    assert event["environment"] == "test"
    assert event["request"]["method"] == "POST"
    assert event["request"]["url"].endswith("/api/v1/test-failure")
    assert "page=2" in event["request"]["query_string"]
    assert "cannot mail" in event["exception"]["values"][0]["value"]
    headers = dict(event["request"]["headers"])
    assert headers.get("Authorization") in (None, FILTERED)
    assert headers.get("X-Request-Id", headers.get("X-Request-ID")) == "sentrytest1234"
    assert "data" not in event["request"] and "cookies" not in event["request"]
    everything = "\n".join(stand_in.raw)
    for secret in SECRETS:
        assert secret not in everything, secret


def test_the_scrubber_on_a_handshake_and_a_log_line() -> None:
    event = {
        "user": {"ip_address": "203.0.113.9", "email": EMAIL},
        "request": {
            "url": f"http://server/socket.io/?EIO=4&token={QUERY_TOKEN}",
            "query_string": f"EIO=4&transport=websocket&token={QUERY_TOKEN}",
            "headers": [["Cookie", f"cq_session={COOKIE}"], ["X-Forwarded-For", "203.0.113.9"]],
            "data": {"password": PASSWORD},
        },
        "extra": {
            "auth": {"pin": "123456", "nickname": "Ada", "captcha": CAPTCHA},
            "handshake": {"player_token": PLAYER_TOKEN, "host_token": BEARER},
        },
        "breadcrumbs": {
            "values": [{"message": f"join {{'password': '{PASSWORD}', 'email': '{EMAIL}'}}"}]
        },
        "exception": {"values": [{"type": "KeyError", "value": "'question'"}]},
    }
    scrubbed = scrub_event(event, None)
    text = json.dumps(scrubbed)
    for secret in [*SECRETS, "203.0.113.9", "Ada"]:
        assert secret not in text, secret
    assert "user" not in scrubbed and "data" not in scrubbed["request"]
    assert scrubbed["extra"]["auth"] == FILTERED
    assert "EIO=4&transport=websocket" in scrubbed["request"]["query_string"]
    assert scrubbed["exception"]["values"][0] == {"type": "KeyError", "value": "'question'"}


def test_off_without_a_dsn(settings: Any) -> None:
    assert settings.sentry_dsn is None
    assert not sentry_sdk.get_client().is_active()
