"""Work every process does in the background: deadline firing and the fan-out listener.

Deadlines: a sorted set of due instants in Redis, fired by whichever process
holds a short lease (services/lease.py, renewed every tick), so a process that
dies mid-question does not freeze its games: once its lease lapses (at most
LEASE_MS after its last renewal) the next process to tick takes it over, so
deadlines are late by at most LEASE_MS + TICK_S (1.6 s) while that happens.

The same lease holder fires the abandoned-game timers (classquiz/game/autofinish.py):
a game whose host walked away is finished by exactly one process.

Fan-out: one Redis pub/sub message per reveal or end (published by
delivery.Fanout); each process answers it for the sockets it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from redis.asyncio import Redis

from classquiz.game.keys import fanout_channel
from classquiz.services.delivery import ResultDelivery
from classquiz.services.flow import GameFlow
from classquiz.services.lease import Lease
from classquiz.services.room import LiveRoom

log = logging.getLogger(__name__)
TICK_S = 0.1
LEASE_MS = 1500


class BackgroundWorkers:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        flow: GameFlow,
        room: LiveRoom,
        delivery: ResultDelivery,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.flow = flow
        self.room = room
        self.delivery = delivery
        self.lease = Lease(redis, f"{prefix}:lease:deadlines", LEASE_MS)
        self._tasks: list[asyncio.Task[Any]] = []
        self._ready = asyncio.Event()

    async def start(self) -> None:
        """Start both loops; returns once the fan-out listener is subscribed (a reveal
        published before that would reach no process)."""
        self._tasks = [
            asyncio.create_task(self._deadline_loop(), name="classquiz-deadlines"),
            asyncio.create_task(self._fanout_loop(), name="classquiz-fanout"),
        ]
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def stop(self) -> None:
        """Stop both loops and hand the deadline lease over at once: a process that
        stops on purpose should not leave the other processes' deadlines waiting
        for its lease to lapse."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._tasks:
            with contextlib.suppress(Exception):
                await self.lease.release()
        self._tasks = []

    async def _deadline_loop(self) -> None:
        while True:
            try:
                if await self.lease.hold():
                    await self.flow.fire_due_deadlines()
                    await self.room.fire_due_auto_finishes()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("deadline tick failed")
            await asyncio.sleep(TICK_S)

    async def _fanout_loop(self) -> None:
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(fanout_channel(self.prefix))
                self._ready.set()
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    try:
                        await self.delivery.deliver(orjson.loads(message["data"]))
                    except Exception:
                        log.exception("fan-out delivery failed")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("fan-out listener lost its connection; resubscribing")
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    # redis-py leaves PubSub.aclose unannotated (it returns None)
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
