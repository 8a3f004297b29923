"""Work every process does in the background: deadline firing and the fan-out listener.

Deadlines: a sorted set of due instants in Redis. Each process fires, every tick,
the due deadlines of the games it holds sockets of (services/placement.py): a game
lives where its sockets are, so its reveal is computed and sent there, with no
pub/sub for a game local to one process. The safety net is a short lease
(services/lease.py, renewed every tick): its holder fires every deadline overdue by
more than SAFETY_NET_MS, whoever holds the game, so a game whose process died (or
that no process holds: everyone dropped) still moves on; once a dead holder's
lease lapses (at most LEASE_MS after its last renewal) the next process to tick
takes it over. Firing twice is harmless (closing a question is a compare-and-set).

The same lease holder fires the abandoned-game timers (classquiz/game/autofinish.py):
a game whose host walked away is finished by exactly one process.

Fan-out: one Redis pub/sub message per reveal or end of a game this process shares
with another (published by delivery.Fanout to this process's own channel); this
process answers it for the sockets it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from classquiz.services.delivery import ResultDelivery
from classquiz.services.flow import GameFlow
from classquiz.services.lease import Lease
from classquiz.services.placement import GamePlacement
from classquiz.services.room import LiveRoom
from classquiz.services.tasks import cancel_and_wait

log = logging.getLogger(__name__)
TICK_S = 0.1
LEASE_MS = 1500
# How long past due a deadline is left to the process that holds its game before the
# lease holder fires it anyway (a few ticks: the owner normally fires within one).
SAFETY_NET_MS = 400
FANOUT_WAIT_S = 1.0
RESUBSCRIBE_S = 0.2
# Redis is unreachable or does not answer in time: the loops wait it out, logging once.
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


class BackgroundWorkers:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        flow: GameFlow,
        room: LiveRoom,
        delivery: ResultDelivery,
        placement: GamePlacement | None = None,
        subscriber: Redis | None = None,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.flow = flow
        self.room = room
        self.delivery = delivery
        self.placement = placement
        # pub/sub needs a plain connection (on a Redis Cluster, to one node)
        self.subscriber = subscriber or redis
        self.lease = Lease(redis, f"{prefix}:lease:deadlines", LEASE_MS)
        self._tasks: list[asyncio.Task[Any]] = []
        self._ready = asyncio.Event()

    async def start(self) -> None:
        """Start both loops; returns once the fan-out listener is subscribed (a reveal
        published before that would reach no process)."""
        self._tasks = [asyncio.create_task(self._deadline_loop(), name="classquiz-deadlines")]
        if self.placement is None:
            self.delivery.listening = True  # nothing to subscribe to: always "listening"
            return  # one process: every reveal is delivered where it is made
        self._tasks.append(asyncio.create_task(self._fanout_loop(), name="classquiz-fanout"))
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def stop(self) -> None:
        """Stop both loops and hand the deadline lease over at once: a process that
        stops on purpose should not leave the other processes' deadlines waiting
        for its lease to lapse."""
        for task in self._tasks:
            if not await cancel_and_wait(task):
                log.warning("the %s loop did not stop in time", task.get_name())
        if self._tasks:
            with contextlib.suppress(Exception):
                await self.lease.release()
        self._tasks = []

    async def _deadline_loop(self) -> None:
        redis_down = False  # one log line per outage, not ten a second
        while True:
            try:
                placement = self.placement
                if placement is not None and placement.local:
                    await self.flow.fire_due_deadlines(only=placement.holds)
                if await self.lease.hold():
                    if placement is None:
                        await self.flow.fire_due_deadlines()
                    else:
                        await self.flow.fire_due_deadlines(overdue_ms=SAFETY_NET_MS)
                    await self.room.fire_due_auto_finishes()
                if redis_down:
                    log.warning("Redis is back; deadlines fire again")
                    redis_down = False
            except asyncio.CancelledError:
                raise
            except REDIS_DOWN as exc:
                if not redis_down:
                    log.warning("Redis unreachable; deadlines wait for it: %s", exc)
                    redis_down = True
            except Exception:
                log.exception("deadline tick failed")
            await asyncio.sleep(TICK_S)

    async def _fanout_loop(self) -> None:
        while True:
            pubsub = self.subscriber.pubsub(ignore_subscribe_messages=True)
            try:
                assert self.placement is not None
                await pubsub.subscribe(self.placement.fanout_channel)
                self.delivery.listening = True
                self._ready.set()
                while True:
                    # An explicit wait, not listen(): listen() reads with the client's
                    # command timeout and would drop the subscription at every quiet spell.
                    message = await pubsub.get_message(timeout=FANOUT_WAIT_S)
                    if message is None or message.get("type") != "message":
                        continue
                    try:
                        await self.delivery.deliver(orjson.loads(message["data"]))
                    except Exception:
                        log.exception("fan-out delivery failed")
            except asyncio.CancelledError:
                raise
            except REDIS_DOWN as exc:
                self.delivery.listening = False
                log.warning("fan-out listener lost Redis (%s); resubscribing", exc)
                await asyncio.sleep(RESUBSCRIBE_S)
            except Exception:
                self.delivery.listening = False
                log.exception("fan-out listener lost its connection; resubscribing")
                await asyncio.sleep(RESUBSCRIBE_S)
            finally:
                with contextlib.suppress(Exception):
                    # redis-py leaves PubSub.aclose unannotated (it returns None)
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
