"""The record of a finished game, rebuilt from its live state in Redis.

Two callers: the room's dispose step (the game it just finished) and the
results sweeper (a game a dying process finished but never parked). Kept apart
from both so the results service needs no room to rebuild a record.
"""

from __future__ import annotations

from classquiz.errors import Refusal
from classquiz.game.final import FinishedGame, finished_game
from classquiz.game.store import GameStore
from classquiz.services.live import LiveGames


class FinalRecords:
    def __init__(self, store: GameStore, live: LiveGames) -> None:
        self.store = store
        self.live = live

    async def of_finished(self, pin: str, game_id: str) -> FinishedGame | None:
        """The record of finished game `game_id`, if its live state is still in Redis."""
        meta = await self.store.meta(pin)
        if not meta or meta.get("id") != game_id or meta.get("status") != "finished":
            return None
        return await self.of_live(pin)

    async def of_live(self, pin: str) -> FinishedGame:
        """The record of the game on `pin` as it stands now."""
        meta = await self.store.meta(pin)
        if not meta:
            raise Refusal("game_not_found", "there is no game with this PIN")
        game = await self.live.get(pin, meta)
        return finished_game(
            game_id=game.game_id,
            quiz_id=game.quiz_id,
            owner_id=game.owner_id,
            pin=pin,
            title=game.title,
            questions=game.questions,
            created_at_ms=game.created_at_ms,
            started_at_ms=int(meta["started_at"]) if meta.get("started_at") else None,
            finished_at_ms=int(meta.get("finished_at", 0)) or None,
            state=await self.store.final_state(pin, game.question_count),
        )
