"""Whole games through a proxy (Caddy or HAProxy) with Node's socket.io-client, for
tests/test_proxy_*.py: tests/js/game_client.mjs plays, these helpers start it, read
the proxy's sticky cookies and check where a game was played."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, DummyCookieJar

from tests.support.caddy import EventCounts

JS_DIR = Path(__file__).resolve().parent.parent / "js"
CLIENT = JS_DIR / "game_client.mjs"
STICKY_COOKIE = "classquiz_lb"


def node() -> str:
    found = shutil.which("node")
    if found is None or not (JS_DIR / "node_modules" / "socket.io-client").is_dir():
        pytest.fail("node and tests/js/node_modules are needed (scripts/test installs them)")
    return found


async def play_node_game(
    url: str, game: dict[str, Any], players: int, **options: Any
) -> dict[str, Any]:
    """One whole game by game_client.mjs against `url`; its JSON summary, plus its stderr
    and exit code. `options` go to the client as they are (player_transports, send_pin,
    player_cookies; see the script's header)."""
    payload = {
        "url": url,
        "pin": game["pin"],
        "host_token": game["host_token"],
        "players": players,
        **options,
    }
    proc = await asyncio.create_subprocess_exec(
        node(),
        str(CLIENT),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(JS_DIR),
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(json.dumps(payload).encode()), 90)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError("the Node client did not finish within 90 s") from None
    lines = [line for line in out.decode().splitlines() if line.strip()]
    assert lines, f"no summary from the Node client; stderr: {err.decode()[-2000:]}"
    summary: dict[str, Any] = json.loads(lines[-1])
    summary["stderr"] = err.decode()[-2000:]
    summary["exit_code"] = proc.returncode
    return summary


def assert_played(summary: dict[str, Any], questions: int) -> None:
    """The game ran to its end with every check of the client passing, no disconnects."""
    assert summary["exit_code"] == 0 and summary["ok"] is True, (
        summary["errors"],
        summary["stderr"],
    )
    assert summary["question_count"] == questions
    for name, client in summary["clients"].items():
        assert client["disconnects"] == [], (name, client)


async def sticky_cookies(url: str, upstreams: int) -> list[str]:
    """One sticky cookie (`Cookie` header value) per upstream, as the proxy hands them to
    new clients."""
    seen: set[str] = set()
    async with ClientSession(url, cookie_jar=DummyCookieJar()) as http:
        for _ in range(64):
            async with http.get("/readyz") as resp:
                assert resp.status == 200
                cookie = resp.cookies.get(STICKY_COOKIE)
                assert cookie is not None, "the proxy set no sticky cookie"
                seen.add(cookie.value)
            if len(seen) == upstreams:
                return [f"{STICKY_COOKIE}={value}" for value in sorted(seen)]
    raise AssertionError(f"only {len(seen)} sticky cookie(s) in 64 requests")


def the_one_busy_worker(delta: list[EventCounts]) -> EventCounts:
    """The counts of the only worker that handled any event; fails if several did."""
    busy = [i for i, counts in enumerate(delta) if counts]
    assert len(busy) == 1, f"the game's events were handled by workers {busy}: {delta}"
    return delta[busy[0]]
