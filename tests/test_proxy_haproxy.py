"""docs/haproxy.cfg on Debian's HAProxy in front of the same two workers as the
Caddyfile tests (docs/operations.md, "Several server processes"): HAProxy's
`balance url_param pin` routes a game by its PIN as the Caddyfile does.

- cookie-less long-polling players with the PIN play a whole game, on one worker;
- WebSocket players holding sticky cookies for both workers, with the PIN, too;
- without the PIN, the same cookie-less long-polling fails ("xhr post error"):
  round robin sends each request to the other worker;
- HSTS on, no `Server`, /metrics closed, as with Caddy.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientError, ClientSession

from tests.support.caddy import CaddyFront, events_by_worker, events_since, stop_process
from tests.support.live import create_game
from tests.support.processes import ROOT, free_port_run
from tests.support.proxy_games import (
    assert_played,
    play_node_game,
    sticky_cookies,
    the_one_busy_worker,
)
from tests.support.users import ApiUser, register_user

pytestmark = pytest.mark.timeout(180)

CONFIG = ROOT / "docs" / "haproxy.cfg"
PLAYERS = 4
QUESTIONS = 3


def start_haproxy(upstreams: list[str], log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`haproxy -db -f docs/haproxy.cfg` on a free port; the process and its URL."""
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(binary).exists():
        pytest.fail("haproxy is not installed: apt-get install haproxy (.ci/run does)")
    assert len(upstreams) == 2, "docs/haproxy.cfg lists two servers"
    bind = f"127.0.0.1:{free_port_run(1)}"
    env = dict(os.environ)
    env.update(
        {
            "CLASSQUIZ_BIND": bind,
            "CLASSQUIZ_UPSTREAM_1": upstreams[0],
            "CLASSQUIZ_UPSTREAM_2": upstreams[1],
        }
    )
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [binary, "-db", "-f", str(CONFIG)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return proc, f"http://{bind}"


@pytest.fixture(scope="module")
async def haproxy_url(
    caddy_front: CaddyFront, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """HAProxy with docs/haproxy.cfg in front of `caddy_front`'s two workers."""
    log_path = tmp_path_factory.mktemp("haproxy") / "haproxy.log"
    proc, url = start_haproxy(caddy_front.upstreams, log_path)
    try:
        deadline = time.monotonic() + 20
        async with ClientSession() as http:
            while True:
                assert proc.poll() is None, f"haproxy exited, see {log_path}"
                try:
                    async with http.get(f"{url}/readyz") as resp:
                        if resp.status == 200:
                            break
                except (ClientError, OSError):
                    pass
                assert time.monotonic() < deadline, "haproxy did not answer in 20 s"
                await asyncio.sleep(0.1)
        yield url
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
async def owner(haproxy_url: str) -> AsyncIterator[ApiUser]:
    async with ClientSession(haproxy_url) as http:
        yield await register_user(http)


async def test_haproxy_headers_and_metrics(haproxy_url: str) -> None:
    async with ClientSession(haproxy_url) as http:
        async with http.get("/healthz") as resp:
            assert resp.status == 200
            assert "Server" not in resp.headers
            assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        async with http.get("/metrics") as resp:
            assert resp.status == 404
            assert "classquiz_" not in await resp.text()


async def _played_on_one_worker(
    front: CaddyFront, url: str, game: dict[str, Any], **options: Any
) -> None:
    before = await events_by_worker(front)
    summary = await play_node_game(url, game, PLAYERS, **options)
    assert_played(summary, QUESTIONS)
    counts = the_one_busy_worker(events_since(before, await events_by_worker(front)))
    assert counts[("submit_answer", "ok")] == PLAYERS * QUESTIONS


async def test_cookieless_long_polling_by_pin_through_haproxy(
    caddy_front: CaddyFront, haproxy_url: str, owner: ApiUser
) -> None:
    game = await create_game(owner, first=QUESTIONS)
    await _played_on_one_worker(caddy_front, haproxy_url, game, player_transports=["polling"])


async def test_websocket_by_pin_whatever_the_cookies_through_haproxy(
    caddy_front: CaddyFront, haproxy_url: str, owner: ApiUser
) -> None:
    cookies = await sticky_cookies(haproxy_url, 2)
    game = await create_game(owner, first=QUESTIONS)
    await _played_on_one_worker(
        caddy_front,
        haproxy_url,
        game,
        player_transports=["websocket"],
        player_cookies=[cookies[i % 2] for i in range(PLAYERS)],
    )


async def test_cookieless_long_polling_without_the_pin_breaks_through_haproxy(
    haproxy_url: str, owner: ApiUser
) -> None:
    game = await create_game(owner, first=QUESTIONS)
    summary = await play_node_game(
        haproxy_url, game, PLAYERS, player_transports=["polling"], send_pin=False
    )
    assert summary["ok"] is False
    text = json.dumps(summary)
    assert "xhr post error" in text or "xhr poll error" in text, summary
