"""Configuration hygiene: the development secret refused in production, CORS and Socket.IO
origins from one setting, ping settings reaching the transport, no secrets in the logs."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

import classquiz
from classquiz import create_app
from classquiz.config import DEV_SECRET_KEY, InsecureConfiguration, Settings
from classquiz.socket_server.server import socketio_origins
from tests.support.apps import make_settings, separate_app
from tests.support.quizzes import sample_quiz
from tests.support.sockets import Recorder
from tests.support.users import ApiUser, register_user

ROOT = Path(__file__).resolve().parent.parent
SCHOOL = "https://quiz.school.example"
EVIL = "https://evil.example"


# -- the development secret key -------------------------------------------------------------------


def settings_with(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_ensure_safe_refuses_the_dev_secret_without_debug() -> None:
    with pytest.raises(InsecureConfiguration) as info:
        settings_with(secret_key=DEV_SECRET_KEY, debug=False).ensure_safe()
    assert "SECRET_KEY" in str(info.value) and DEV_SECRET_KEY not in str(info.value)
    with pytest.raises(InsecureConfiguration):
        settings_with().ensure_safe()  # the default is the development key
    settings_with(secret_key=DEV_SECRET_KEY, debug=True).ensure_safe()
    settings_with(secret_key=DEV_SECRET_KEY, allow_dev_secret=True).ensure_safe()
    settings_with(secret_key="a-long-random-production-secret").ensure_safe()
    with pytest.raises(InsecureConfiguration):
        settings_with(secret_key="short").ensure_safe()


def test_create_app_refuses_the_dev_secret(storage: dict[str, str]) -> None:
    with pytest.raises(InsecureConfiguration):
        create_app(make_settings(storage, secret_key=DEV_SECRET_KEY, debug=False))


def test_serve_exits_with_code_2_on_the_dev_secret(storage: dict[str, str], tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key.upper() not in {"SECRET_KEY", "ALLOW_DEV_SECRET", "DEBUG", "LOG_LEVEL"}
    }
    env.update(
        DATABASE_URL=storage["database_url"],
        REDIS_URL=storage["redis_url"],
        DEBUG="false",
        CLASSQUIZ_SKIP_MIGRATE="1",
        PYTHONPATH=str(ROOT),
    )
    result = subprocess.run(
        [sys.executable, "-m", "classquiz", "serve", "--port", "1"],
        cwd=tmp_path,  # no .env here
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    output = result.stdout + result.stderr
    assert "refusing to start" in output and "SECRET_KEY" in output
    assert DEV_SECRET_KEY not in output


# -- CORS and Socket.IO origins -------------------------------------------------------------------


@pytest.fixture(scope="module")
async def configured(server: TestServer, storage: dict[str, str]) -> AsyncIterator[TestServer]:
    """An app with listed origins and its own ping settings."""
    async with separate_app(
        storage,
        redis_prefix=storage["redis_prefix"] + "cfg",
        cors_origins=[SCHOOL, "http://localhost:5173/"],
        ping_interval_s=7,
        ping_timeout_s=3,
        max_message_bytes=32_768,
    ) as test_server:
        yield test_server


def test_cors_origins_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", f"{SCHOOL}, http://localhost:5173")
    assert Settings(_env_file=None).cors_origins == [SCHOOL, "http://localhost:5173"]
    monkeypatch.setenv("CORS_ORIGINS", json.dumps([SCHOOL]))
    assert Settings(_env_file=None).cors_origins == [SCHOOL]
    monkeypatch.delenv("CORS_ORIGINS")
    assert Settings(_env_file=None).cors_origins == ["*"]


async def test_default_cors_is_a_wildcard(http: ClientSession, server: TestServer) -> None:
    async with http.get("/healthz", headers={"Origin": EVIL}) as resp:
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in resp.headers
    preflight = {
        "Origin": EVIL,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type",
    }
    async with http.options("/api/v1/games", headers=preflight) as resp:
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert "POST" in resp.headers["Access-Control-Allow-Methods"]
        assert "Authorization" in resp.headers["Access-Control-Allow-Headers"]
    sio = server.app[classquiz.SIO]
    assert socketio_origins(server.app[classquiz.SERVICES].settings) == "*"
    assert sio.eio.cors_allowed_origins == "*"
    async with http.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": EVIL}) as resp:
        assert resp.status == 200 and (await resp.text()).startswith("0{")


async def test_listed_origins_only(configured: TestServer) -> None:
    url = str(configured.make_url("")).rstrip("/")
    settings = configured.app[classquiz.SERVICES].settings
    async with ClientSession(url) as http:
        for origin in (SCHOOL, "http://localhost:5173"):
            async with http.get("/healthz", headers={"Origin": origin}) as resp:
                assert resp.headers["Access-Control-Allow-Origin"] == origin
                assert resp.headers["Access-Control-Allow-Credentials"] == "true"
                assert "Origin" in resp.headers["Vary"]
        async with http.get("/healthz", headers={"Origin": EVIL}) as resp:
            assert resp.status == 200  # the browser, not the server, withholds the answer
            assert "Access-Control-Allow-Origin" not in resp.headers
            assert "Access-Control-Allow-Credentials" not in resp.headers
        preflight = {"Access-Control-Request-Method": "POST"}
        async with http.options("/api/v1/games", headers={**preflight, "Origin": SCHOOL}) as resp:
            assert resp.status == 204 and resp.headers["Access-Control-Allow-Origin"] == SCHOOL
        async with http.options("/api/v1/games", headers={**preflight, "Origin": EVIL}) as resp:
            assert resp.status == 403
            assert "Access-Control-Allow-Origin" not in resp.headers
        # Socket.IO answers the same origins
        sio = configured.app[classquiz.SIO]
        assert socketio_origins(settings) == [SCHOOL, "http://localhost:5173"]
        assert sio.eio.cors_allowed_origins == socketio_origins(settings)
        handshake = "/socket.io/?EIO=4&transport=polling"
        async with http.get(handshake, headers={"Origin": SCHOOL}) as resp:
            assert resp.status == 200 and (await resp.text()).startswith("0{")
            assert resp.headers["Access-Control-Allow-Origin"] == SCHOOL
        async with http.get(handshake, headers={"Origin": EVIL}) as resp:
            assert resp.status == 400
            assert "Access-Control-Allow-Origin" not in resp.headers
        with pytest.raises(Exception):  # noqa: B017 - refused before the upgrade, any client error
            ws = await http.ws_connect(
                "/socket.io/?EIO=4&transport=websocket", headers={"Origin": EVIL}
            )
            await ws.receive_str(timeout=2)
        ws = await http.ws_connect(
            "/socket.io/?EIO=4&transport=websocket", headers={"Origin": SCHOOL}
        )
        assert (await ws.receive_str(timeout=5)).startswith("0{")
        await ws.close()


async def test_rest_and_socketio_agree_on_an_origin_listed_with_a_slash(
    configured: TestServer,
) -> None:
    url = str(configured.make_url("")).rstrip("/")
    async with ClientSession(url) as http:
        origin = "http://localhost:5173"  # what browsers send (never a trailing slash)
        async with http.get("/healthz", headers={"Origin": origin}) as resp:
            rest_ok = resp.headers.get("Access-Control-Allow-Origin") == origin
        async with http.get(
            "/socket.io/?EIO=4&transport=polling", headers={"Origin": origin}
        ) as resp:
            socket_ok = resp.status == 200
        assert rest_ok and socket_ok


# -- ping settings --------------------------------------------------------------------------------


async def test_ping_and_size_settings_reach_the_transport(
    configured: TestServer, server: TestServer
) -> None:
    sio = configured.app[classquiz.SIO]
    assert sio.eio.ping_interval == 7 and sio.eio.ping_timeout == 3
    assert sio.eio.max_http_buffer_size == 32_768
    url = str(configured.make_url("")).rstrip("/")
    async with ClientSession(url) as http:
        async with http.get("/socket.io/?EIO=4&transport=polling") as resp:
            opened = json.loads((await resp.text())[1:])
    assert opened["pingInterval"] == 7000 and opened["pingTimeout"] == 3000
    assert opened["maxPayload"] == 32_768
    defaults = server.app[classquiz.SIO].eio
    assert (defaults.ping_interval, defaults.ping_timeout) == (25, 20)
    assert defaults.max_http_buffer_size == 65_536


# -- no secrets in the logs -----------------------------------------------------------------------


async def test_no_token_or_password_in_the_logs(
    configured: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A whole game on the separate app (its refused handshake counts against its own limiter)."""
    base_url = str(configured.make_url("")).rstrip("/")
    async with ClientSession(base_url) as http:
        await _play_and_check_logs(http, base_url, caplog)


async def _play_and_check_logs(
    http: ClientSession, base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = "pw-Sesame-Street-4711"
    user: ApiUser = await register_user(http, password=password)
    async with http.post(
        "/api/v1/users/login", json={"login": user.username, "password": password + "x"}
    ) as resp:
        assert resp.status == 401
    quiz = sample_quiz(title="Logs")
    quiz["questions"] = quiz["questions"][:1]
    _, created = await user.request("POST", "/api/v1/quizzes", json=quiz)
    join_password = "join-Tulip-0815"
    _, game = await user.request(
        "POST",
        "/api/v1/games",
        json={"quiz_id": created["id"], "settings": {"password": join_password}},
    )
    host = await Recorder(base_url).connect({"host_token": game["host_token"]})
    await host.wait("welcome")
    player = await Recorder(base_url).connect(
        {"pin": game["pin"], "nickname": "Ada", "password": join_password}
    )
    player_token = (await player.wait("welcome"))["player"]["player_token"]
    # a refused handshake with a wrong join password
    refused = await Recorder(base_url).try_connect(
        {"pin": game["pin"], "nickname": "Bob", "password": "wrong-Guess-99"}
    )
    assert refused["code"] == "wrong_password"
    assert (await host.call("start_game"))["ok"]
    assert (await player.call("submit_answer", {"question_index": 0, "answer": 1}))["ok"]
    assert (await host.call("end_game"))["ok"]
    await player.wait("final_result")
    for _ in range(50):
        async with http.get(
            f"/api/v1/results/{game['game_id']}/me",
            headers={"Authorization": f"Bearer {player_token}"},
        ) as resp:
            if resp.status == 200:
                break
        await asyncio.sleep(0.05)
    async with http.post("/api/v1/users/logout", headers=user.headers) as resp:
        assert resp.status == 200
    await asyncio.gather(host.close(), player.close())
    await asyncio.sleep(0.1)

    logged = caplog.text + "\n".join(
        f"{record.getMessage()} {record.args!r} {record.__dict__!r}" for record in caplog.records
    )
    assert caplog.records, "nothing was logged at DEBUG: the check would prove nothing"
    secrets = {
        "password": password,
        "wrong password": password + "x",
        "access token": user.token,
        "host token": game["host_token"],
        "player token": player_token,
        "join password": join_password,
        "guessed join password": "wrong-Guess-99",
        "secret key": "test-secret-key-that-is-long-enough",
    }
    for name, secret in secrets.items():
        assert secret not in logged, f"the {name} appears in the logs"
        # nor the signature part of a token on its own
        if secret.count(".") == 2:
            assert secret.rsplit(".", 1)[1] not in logged, f"the {name} signature is logged"
