"""ResultDelivery: each process sends the per-player messages of a reveal or an end
to the sockets it holds.

One fan-out message (`{"kind": "reveal" | "finished", "pin", "qi"?, "gid"}`)
reaches every process; each reads the standings of its own players in one
Redis round trip and queues one message per socket. No process ever publishes
one pub/sub message per player.
"""

from __future__ import annotations

from typing import Any

import orjson
from redis.asyncio import Redis

from classquiz.game.keys import fanout_channel
from classquiz.game.records import Standing
from classquiz.game.store import GameStore
from classquiz.services.live import LiveGames
from classquiz.services.notifier import Notifier

# pin -> player id -> socket id, for the players whose sockets this process holds
# (kept by the room's join, drop and leave steps).
LocalPlayers = dict[str, dict[str, str]]


class Fanout:
    """Publishes the one message per reveal or end that reaches every process (each
    one's BackgroundWorkers hears it and hands it to its ResultDelivery)."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.channel = fanout_channel(prefix)

    async def publish(self, message: dict[str, Any]) -> None:
        await self.redis.publish(self.channel, orjson.dumps(message))


def your_result(qi: int, is_poll: bool, standing: Standing) -> dict[str, Any]:
    """The `your_result` payload of one player from their standing after question `qi`
    (a `GameStore.results_for` row or `GameStore.standing`): one home for its shape, used
    by the reveal's delivery and by the welcome of a player who reconnects in the reveal."""
    answer = standing.answer
    payload: dict[str, Any] = {
        "question_index": qi,
        "answered": answer is not None,
        "correct": None if is_poll else bool(answer and answer.correct),
        "points": answer.points if answer else 0,
        "streak": standing.streak,
        "score": standing.score,
        "rank": standing.rank,
    }
    if standing.gap_to_next is not None:
        payload["gap_to_next"] = standing.gap_to_next
    return payload


class ResultDelivery:
    def __init__(
        self, store: GameStore, live: LiveGames, local_players: LocalPlayers, notifier: Notifier
    ) -> None:
        self.store = store
        self.live = live
        self.local_players = local_players
        self.notifier = notifier

    async def deliver(self, message: dict[str, Any]) -> None:
        pin = message["pin"]
        local = dict(self.local_players.get(pin, {}))
        if not local:
            return
        if message["kind"] == "reveal":
            await self._your_results(pin, int(message["qi"]), local, message.get("gid"))
        elif message["kind"] == "finished":
            await self._final_results(pin, local, message.get("gid"))

    async def _your_results(
        self, pin: str, qi: int, local: dict[str, str], game_id: str | None
    ) -> None:
        game = await self.live.get(pin, game_id=game_id)
        is_poll = game.questions[qi]["type"] == "poll"
        rows = await self.store.results_for(pin, qi, list(local))
        messages = [(local[row.player_id], your_result(qi, is_poll, row)) for row in rows]
        await self.notifier.to_local_sockets("your_result", messages)

    async def _final_results(self, pin: str, local: dict[str, str], game_id: str | None) -> None:
        game = await self.live.get(pin, game_id=game_id)
        messages = [
            (
                local[row.player_id],
                {
                    "rank": row.rank,
                    "score": row.score,
                    "correct_count": row.correct_count,
                    "question_count": game.question_count,
                },
            )
            for row in await self.store.results_for(pin, None, list(local))
        ]
        await self.notifier.to_local_sockets("final_result", messages)
