"""LiveGames: the immutable part of each live game (quiz snapshot, settings), cached per process.

The quiz snapshot never changes once a game is created, so each process reads
it from Redis once and then grades answers without another round trip.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import orjson

from classquiz.errors import ApiError
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

    @property
    def question_count(self) -> int:
        return len(self.questions)

    @functools.cached_property
    def nickname_policy(self) -> NicknamePolicy:
        """Built once per game and process (a roster can hold thousands of names)."""
        return NicknamePolicy.from_settings(self.settings["nicknames"])


class LiveGames:
    def __init__(self, store: GameStore, max_cached: int = 1000) -> None:
        self.store = store
        self._cache: dict[str, LiveGame] = {}
        self._max = max_cached

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
                return cached
        if meta is None:
            meta = await self.store.meta(pin)
        if not meta:
            raise ApiError(404, "game_not_found", "there is no game with this PIN")
        cached = self._cache.get(pin)
        if cached is not None and cached.game_id == meta.get("id"):
            return cached
        questions = await self.store.quiz(pin)
        if questions is None:
            raise ApiError(404, "game_not_found", "there is no game with this PIN")
        game = LiveGame(
            game_id=meta["id"],
            quiz_id=meta["quiz_id"],
            owner_id=meta["owner_id"],
            pin=pin,
            title=meta.get("title", ""),
            questions=questions,
            settings=orjson.loads(meta["settings"]),
            password=meta.get("password") or None,
            created_at_ms=int(meta.get("created_at", 0)),
        )
        if len(self._cache) >= self._max:
            self._cache.pop(next(iter(self._cache)))
        self._cache[pin] = game
        return game
