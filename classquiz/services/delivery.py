"""ResultDelivery: each process sends the per-player messages of a reveal or an end
to the sockets it holds.

One fan-out message (`{"kind": "reveal" | "finished", "pin", "qi"?, "gid"}`) per
reveal or end: the process that made the move delivers it to its own sockets and
publishes it only to the other processes holding sockets of the game
(services/placement.py), none for a game local to one process. Each reads the
standings of its own players in one Redis round trip and queues one message per
socket. No process ever publishes one pub/sub message per player.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from classquiz.game.records import Standing
from classquiz.game.store import GameStore
from classquiz.services.live import LiveGames
from classquiz.services.notifier import Notifier
from classquiz.services.placement import GamePlacement
from classquiz.services.tasks import KeptTasks

# pin -> player id -> socket id, for the players whose sockets this process holds
# (kept by the room's join, drop and leave steps).
LocalPlayers = dict[str, dict[str, str]]


class Fanout:
    """Sends the one message per reveal or end to every process holding sockets of the
    game: this one's ResultDelivery at once (in the background, so the move's caller
    does not wait for N sends), the others through their fan-out channels (each one's
    BackgroundWorkers hears it). Without a placement (one process, no Redis manager)
    every socket is local."""

    def __init__(
        self,
        placement: GamePlacement | None,
        deliver_here: Callable[[dict[str, Any]], Awaitable[None]],
        tasks: KeptTasks,
    ) -> None:
        self.placement = placement
        self.deliver_here = deliver_here
        self.tasks = tasks

    async def publish(self, message: dict[str, Any]) -> None:
        self.tasks.spawn(self.deliver_here(message))
        if self.placement is not None:
            await self.placement.fanout_to_others(message["pin"], orjson.dumps(message))


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
        # Whether this process receives the fan-out right now (set by services/background.py:
        # always, for a single process; while subscribed, for several). A reveal published
        # while it is not reaches none of this process's players, so /readyz says "not
        # ready" until it is, after start-up and after Redis comes back from an outage.
        self.listening = False

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
