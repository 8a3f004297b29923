"""GamePlacement: which server processes hold sockets of a game, so that a game whose
sockets all live on one process never touches the pub/sub.

Behind PIN routing (the Caddyfile) every socket of a game normally reaches the same
process; a client that reached another one (a failover, a client without the PIN in
its query) makes the game *span* processes. Each game keeps, under its own hash tag,
the set of process ids that hold at least one of its sockets
(`cq:game:{pin}:procs`). A process adds itself before a socket enters the game's
rooms and removes itself when its last socket of the game is gone; a broadcast is
delivered to this process's sockets directly, and a script reads the set and
publishes the message to every *other* member's own channel in one atomic step
(`lua/placement_publish.lua`).

Why no message is lost or doubled:
* A socket's process is in the set before the socket can receive anything (the
  add is awaited before the socket enters its rooms and before its welcome is
  read), and the publisher reads the set in the same step as it publishes: a
  broadcast whose state change came before the add is in the welcome, one after it
  reaches the new member.
* Adds and removes of one game are serialised in this process (one lock per game),
  so Redis sees them in the order they were decided and a remove can never land
  after the add of a socket that joined meanwhile.
* Each member hears a message once, on its own channel, and delivers it only to its
  own sockets; the sender delivers to its own. A process that died stays in the set
  (it costs one PUBLISH to nobody) until the game's keys expire; it never hides a
  live member.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from prometheus_client import Counter
from redis.asyncio import Redis

from classquiz.game.keys import GameKeys, emit_channel, fanout_channel
from classquiz.game.scripts import game_script, plain_script
from classquiz.game.store_base import async_reply

# Game messages this process sent to other processes, by kind (`emit`: a broadcast,
# `fanout`: a reveal or an end). Zero while every game is local to one process.
GAME_MESSAGES_SENT = Counter(
    "classquiz_game_pubsub_sent_total",
    "Game messages published to other server processes (games that span processes)",
    ["kind"],
)

# The set's lifetime when the game's hash has none (the game is gone): it only has to
# outlive the sockets the sweeper is about to close.
ORPHAN_TTL_MS = 60 * 60 * 1000


class GamePlacement:
    """This process's view of where games live; `process_id` names its channels."""

    def __init__(self, redis: Redis, prefix: str, process_id: str, buckets: int = 1) -> None:
        self.redis = redis
        self.buckets = buckets
        self.prefix = prefix
        self.process_id = process_id
        self._hold = game_script(redis, "placement_hold")
        self._publish = plain_script(redis, "placement_publish")
        # pin -> ids of this process's sockets in the game (host and players)
        self.local: dict[str, set[str]] = {}
        self._registered: set[str] = set()
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        self.published = 0  # messages sent to other processes (a metric and a test probe)

    @property
    def emit_channel(self) -> str:
        return emit_channel(self.prefix, self.process_id)

    @property
    def fanout_channel(self) -> str:
        return fanout_channel(self.prefix, self.process_id)

    def holds(self, pin: str) -> bool:
        """Whether this process holds a socket of game `pin` now."""
        return bool(self.local.get(pin))

    async def enter(self, pin: str, socket_id: str) -> None:
        """Socket `socket_id` of this process joins game `pin`: returns once this
        process is in the game's set (the socket may receive broadcasts after it)."""
        async with self._lock(pin):
            self.local.setdefault(pin, set()).add(socket_id)
            # Every join re-adds, idempotently: a new game on a reused PIN starts with
            # an empty set even if this process still holds the old game's sockets.
            await self._hold(
                keys=[self._keys(pin).game, self._keys(pin).procs],
                args=[self.process_id, ORPHAN_TTL_MS],
            )
            self._registered.add(pin)

    async def leave(self, pin: str, socket_id: str) -> None:
        """Socket `socket_id` left game `pin` (disconnected); the last one of this
        process takes the process out of the game's set."""
        async with self._lock(pin):
            sockets = self.local.get(pin)
            if sockets is not None:
                sockets.discard(socket_id)
                if sockets:
                    return
                del self.local[pin]
            if pin in self._registered:
                await async_reply(self.redis.srem(self._keys(pin).procs, self.process_id))
                self._registered.discard(pin)

    async def to_others(
        self, pin: str, channel_prefix: str, message: bytes, kind: str = "emit"
    ) -> int:
        """Publish `message` to `channel_prefix + id` of every other process holding a
        socket of `pin`; returns how many (0 for a game local to this process)."""
        sent = int(
            await self._publish(
                keys=[self._keys(pin).procs],
                args=[self.process_id, channel_prefix, message],
            )
        )
        self.published += sent
        if sent:
            GAME_MESSAGES_SENT.labels(kind).inc(sent)
        return sent

    async def emit_to_others(self, pin: str, message: bytes) -> int:
        return await self.to_others(pin, emit_channel(self.prefix, ""), message)

    async def fanout_to_others(self, pin: str, message: bytes) -> int:
        return await self.to_others(pin, fanout_channel(self.prefix, ""), message, "fanout")

    def _keys(self, pin: str) -> GameKeys:
        return GameKeys(self.prefix, pin, self.buckets)

    @contextlib.asynccontextmanager
    async def _lock(self, pin: str) -> AsyncIterator[None]:
        """The game's lock, dropped once no one holds or waits for it (a process sees
        many games over its life)."""
        entry = self._locks.get(pin)
        if entry is None:
            entry = self._locks[pin] = (asyncio.Lock(), [0])
        lock, users = entry
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._locks[pin]
