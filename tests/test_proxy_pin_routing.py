"""Whole games through the project's Caddyfile on Debian's Caddy, two workers behind it
(issues 13 "Scale-out" and 14 "Through Caddy, in the suite").

Node's socket.io-client (tests/js/game_client.mjs) plays every game. Clients send
the game's PIN in the Socket.IO query, and the Caddyfile routes every request
carrying a PIN to the worker the PIN picks. The workers' own /metrics (each
worker counts the Socket.IO events it handled) tell where each game was played:

- over WebSocket, with players holding sticky cookies for *both* workers (where the
  cookie alone would send them), every event of the game lands on one worker;
- over long-polling with no cookies at all (Node keeps none, like Android's default
  HTTP client), the game works and lands on one worker too;
- the same cookie-less long-polling clients without the PIN fail with "xhr post
  error" / "xhr poll error": the failure the PIN routing fixes, reproduced, so the
  passing run above is known to depend on it;
- the sticky-cookie players without a PIN really are spread over both workers
  (and the game still works across them through Redis);
- a PIN's worker is the same on every connection, and PINs use both workers.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.caddy import CaddyFront, events_by_worker, events_since
from tests.support.live import create_game
from tests.support.proxy_games import (
    assert_played,
    play_node_game,
    sticky_cookies,
    the_one_busy_worker,
)
from tests.support.sockets import Recorder
from tests.support.users import ApiUser, register_user

pytestmark = pytest.mark.timeout(180)

PLAYERS = 4
QUESTIONS = 3


@pytest.fixture(scope="module")
async def owner(caddy_front: CaddyFront) -> ApiUser:
    """A teacher registered through Caddy (the workers have their own Redis prefix)."""
    assert caddy_front.http is not None
    return await register_user(caddy_front.http)


async def _new_game(owner: ApiUser) -> dict[str, Any]:
    return await create_game(owner, first=QUESTIONS)  # single, multiple, true_false


async def _play(front: CaddyFront, game: dict[str, Any], **options: Any) -> dict[str, Any]:
    return await play_node_game(front.url, game, PLAYERS, **options)


async def _sticky_cookies(front: CaddyFront) -> list[str]:
    return await sticky_cookies(front.url, len(front.worker_urls))


def _assert_played(summary: dict[str, Any]) -> None:
    assert_played(summary, QUESTIONS)


async def test_websocket_game_lands_on_the_pins_worker_whatever_the_cookies(
    caddy_front: CaddyFront, owner: ApiUser
) -> None:
    front = caddy_front
    cookies = await _sticky_cookies(front)
    # Players alternate between the workers' cookies: without the PIN, Caddy would
    # send half of them to each worker (the last test shows it does).
    spread = [cookies[i % len(cookies)] for i in range(PLAYERS)]
    game = await _new_game(owner)
    before = await events_by_worker(front)
    summary = await _play(front, game, player_transports=["websocket"], player_cookies=spread)
    _assert_played(summary)
    for i in range(PLAYERS):
        assert summary["clients"][f"P{i}"]["transports"] == ["websocket"]
    delta = events_since(before, await events_by_worker(front))
    counts = the_one_busy_worker(delta)
    assert counts[("submit_answer", "ok")] == PLAYERS * QUESTIONS
    assert counts[("start_game", "ok")] == 1


async def test_cookieless_long_polling_game_works_through_caddy(
    caddy_front: CaddyFront, owner: ApiUser
) -> None:
    front = caddy_front
    game = await _new_game(owner)
    before = await events_by_worker(front)
    summary = await _play(front, game, player_transports=["polling"])
    _assert_played(summary)
    for i in range(PLAYERS):
        assert summary["clients"][f"P{i}"]["transports"] == ["polling"]
    delta = events_since(before, await events_by_worker(front))
    assert the_one_busy_worker(delta)[("submit_answer", "ok")] == PLAYERS * QUESTIONS


async def test_cookieless_long_polling_without_the_pin_breaks(
    caddy_front: CaddyFront, owner: ApiUser
) -> None:
    front = caddy_front
    """What the PIN fixes: each request without cookie or PIN may reach either worker,
    and a worker refuses a polling request of a session it does not hold (HTTP 400),
    which socket.io-client reports as "xhr post error" / "xhr poll error"."""
    game = await _new_game(owner)
    summary = await _play(front, game, player_transports=["polling"], send_pin=False)
    assert summary["ok"] is False
    text = json.dumps(summary)
    assert "xhr post error" in text or "xhr poll error" in text, summary


async def test_without_the_pin_the_cookies_spread_a_game_over_both_workers(
    caddy_front: CaddyFront, owner: ApiUser
) -> None:
    front = caddy_front
    """The control for the first test: the same cookies without the PIN put players on
    both workers, and the game still works across them (python-socketio's Redis manager)."""
    cookies = await _sticky_cookies(front)
    spread = [cookies[i % len(cookies)] for i in range(PLAYERS)]
    game = await _new_game(owner)
    before = await events_by_worker(front)
    summary = await _play(
        front, game, player_transports=["websocket"], player_cookies=spread, send_pin=False
    )
    _assert_played(summary)
    delta = events_since(before, await events_by_worker(front))
    answers = [d.get(("submit_answer", "ok"), 0.0) for d in delta]
    assert answers == [PLAYERS / 2 * QUESTIONS] * 2, delta


async def _host_worker(front: CaddyFront, game: dict[str, Any], command: str) -> int:
    """Connect the game's host through Caddy with its PIN; the worker that handled it."""
    before = await events_by_worker(front)
    host = Recorder(f"{front.url}/?pin={game['pin']}")
    try:
        await host.connect({"host_token": game["host_token"]})
        await host.wait("welcome")
        # One acknowledged command, so that the worker's event counter says where it ran.
        data = {"locked": True} if command == "lock_game" else {}
        assert (await host.call(command, data))["ok"]
    finally:
        await host.close()
    delta = events_since(before, await events_by_worker(front))
    the_one_busy_worker(delta)
    return next(i for i, counts in enumerate(delta) if counts)


async def test_each_pin_keeps_its_worker_and_pins_use_both_workers(
    caddy_front: CaddyFront, owner: ApiUser
) -> None:
    """Routing is a function of the PIN: the same PIN lands on the same worker every
    time, and different PINs are spread over the workers (games are created until
    both have been seen; with two workers, 24 games all on one is a 1 in 8 million
    chance)."""
    seen: dict[int, str] = {}
    for attempt in range(24):
        game = await create_game(owner, first=1)
        worker = await _host_worker(caddy_front, game, "lock_game")
        # Again, and the game ends (a teacher may hold only a few live games).
        assert await _host_worker(caddy_front, game, "end_game") == worker, game["pin"]
        seen.setdefault(worker, game["pin"])
        # At least 8 PINs each connected twice: a random choice would be caught.
        if attempt >= 7 and len(seen) == len(caddy_front.worker_urls):
            break
    assert len(seen) == len(caddy_front.worker_urls), f"every PIN went to worker(s) {seen}"
