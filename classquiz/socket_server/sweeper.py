"""Closing the sockets of games that are over (audit finding 5).

Sockets join rooms named by PIN, and PINs are reused: a host or player socket
left connected after its game ended would hear (and, before host commands
checked the game id, steer) the next game that draws the same PIN. So every
process periodically looks at the games of the sockets it holds and
disconnects:

- at once, the sockets whose PIN has no game any more (it expired) or belongs
  to another game;
- after `grace_s`, the sockets of a game that finished: long enough for
  `game_finished` and `final_result` to arrive and for late commands to be
  answered `wrong_state`, as before.

A per-process sweep needs no message between processes: each one sees the
game's state in Redis and closes its own sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from typing import Any, Literal

import socketio

from classquiz.game.records import GameState
from classquiz.game.store import GameStore
from classquiz.services.admission import Admission
from classquiz.services.background import REDIS_DOWN

log = logging.getLogger(__name__)
MAX_SWEEP_INTERVAL_S = 1.0

Verdict = Literal["live", "finished", "gone"]


def game_verdict(state: GameState | None, game_id: str) -> Verdict:
    """What became of game `game_id`, from the state its PIN holds now."""
    if state is None or state.game_id != game_id:
        return "gone"
    return "finished" if state.status == "finished" else "live"


class GameOverSweeper:
    """Disconnects this process's sockets of expired, replaced or finished games."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        sessions: dict[str, Admission],
        store: GameStore,
        grace_s: float,
    ) -> None:
        self.sio = sio
        self.sessions = sessions  # sid -> Admission, kept by the handlers
        self.store = store
        self.grace_s = grace_s
        self.interval_s = min(MAX_SWEEP_INTERVAL_S, grace_s / 4)
        self._finished_since: dict[str, float] = {}  # game id -> when first seen finished
        self._task: asyncio.Task[Any] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._loop(), name="classquiz-game-over-sweeper"
            )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        redis_down = False  # one log line per Redis outage, not one per sweep
        while True:
            try:
                await self.sweep()
                redis_down = False
            except asyncio.CancelledError:
                raise
            except REDIS_DOWN as exc:
                if not redis_down:
                    log.warning("game-over sweep waits for Redis: %s", exc)
                    redis_down = True
            except Exception:
                log.exception("game-over sweep failed")
            await asyncio.sleep(self.interval_s)

    async def sweep(self) -> int:
        """One pass; returns how many sockets it disconnected."""
        by_game: dict[tuple[str, str], list[str]] = defaultdict(list)
        for sid, admission in list(self.sessions.items()):
            by_game[(admission.pin, admission.game_id)].append(sid)
        if not by_game:
            self._finished_since.clear()
            return 0
        pins = sorted({pin for pin, _ in by_game})
        states = dict(zip(pins, await asyncio.gather(*map(self.store.state, pins)), strict=True))
        now = time.monotonic()
        closing: list[str] = []
        for (pin, game_id), sids in by_game.items():
            verdict = game_verdict(states[pin], game_id)
            if verdict == "live":
                continue
            if verdict == "finished":
                since = self._finished_since.setdefault(game_id, now)
                if now - since < self.grace_s:
                    continue
            closing.extend(sids)
        known = {game_id for _, game_id in by_game}
        for game_id in set(self._finished_since) - known:
            del self._finished_since[game_id]
        for sid in closing:
            await self.sio.disconnect(sid)
        return len(closing)
