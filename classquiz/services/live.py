"""LiveGames: the immutable part of each live game (quiz snapshot, settings), cached per process.

The quiz snapshot never changes once a game is created, so each process reads
it from Redis once and then grades answers without another round trip. The
cache is bounded by the bytes of the snapshots it holds (QUIZ_CACHE_BYTES), not
by a count: a thousand maximal quizzes would be hundreds of megabytes. The game
used longest ago goes first; it is read again from Redis when next needed.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from classquiz.errors import Refusal
from classquiz.game.nicknames import NicknamePolicy
from classquiz.game.store import GameStore


@dataclass(frozen=True)
class LiveGame:
    game_id: str
    quiz_id: str
    owner_id: str
    pin: str
    title: str
    questions: list[dict[str, Any]]  # play order, each with "shown": the display order of choices
    settings: dict[str, Any]
    password: str | None
    created_at_ms: int
    snapshot_bytes: int  # size of the quiz snapshot as stored: what the cache is weighed by

    @property
    def question_count(self) -> int:
        return len(self.questions)

    @functools.cached_property
    def nickname_policy(self) -> NicknamePolicy:
        """Built once per game and process (a roster can hold thousands of names)."""
        return NicknamePolicy.from_settings(self.settings["nicknames"])


class LiveGames:
    def __init__(self, store: GameStore, max_bytes: int) -> None:
        self.store = store
        self.max_bytes = max_bytes
        self._cache: OrderedDict[str, LiveGame] = OrderedDict()  # least recently used first
        self.cached_bytes = 0

    async def get(
        self, pin: str, meta: dict[str, str] | None = None, game_id: str | None = None
    ) -> LiveGame:
        """The game behind `pin` (404 `game_not_found` when there is none).

        With the `game_id` a socket was admitted to, a cached game is returned
        without asking Redis (the hot answer path; the answer script itself then
        checks that this game still owns the PIN).
        """
        if game_id is not None and meta is None:
            cached = self._cache.get(pin)
            if cached is not None and cached.game_id == game_id:
                self._cache.move_to_end(pin)
                return cached
        if meta is None:
            meta = await self.store.meta(pin)
        if not meta:
            raise Refusal("game_not_found", "there is no game with this PIN")
        cached = self._cache.get(pin)
        if cached is not None and cached.game_id == meta.get("id"):
            self._cache.move_to_end(pin)
            return cached
        snapshot = await self.store.quiz_snapshot(pin)
        if snapshot is None:
            raise Refusal("game_not_found", "there is no game with this PIN")
        game = LiveGame(
            game_id=meta["id"],
            quiz_id=meta["quiz_id"],
            owner_id=meta["owner_id"],
            pin=pin,
            title=meta.get("title", ""),
            questions=orjson.loads(snapshot),
            settings=orjson.loads(meta["settings"]),
            password=meta.get("password") or None,
            created_at_ms=int(meta.get("created_at", 0)),
            snapshot_bytes=len(snapshot),
        )
        self._remember(game)
        return game

    def _remember(self, game: LiveGame) -> None:
        """Cache `game` (replacing an older game on its PIN), dropping the games used
        longest ago until the snapshots fit the budget. A snapshot larger than the
        whole budget is not kept: it is served and read again when next needed."""
        previous = self._cache.pop(game.pin, None)
        if previous is not None:
            self.cached_bytes -= previous.snapshot_bytes
        if game.snapshot_bytes > self.max_bytes:
            return
        while self._cache and self.cached_bytes + game.snapshot_bytes > self.max_bytes:
            _, oldest = self._cache.popitem(last=False)
            self.cached_bytes -= oldest.snapshot_bytes
        self._cache[game.pin] = game
        self.cached_bytes += game.snapshot_bytes

    def cached_pins(self) -> list[str]:
        """The PINs in the cache, least recently used first."""
        return list(self._cache)
