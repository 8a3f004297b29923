"""Lease: one short, exclusive claim in Redis, for work that one process at a time
should do (firing deadlines, retrying parked results, purging expired results).

The owner's token is the value; `hold` takes the lease or, if this owner already
holds it, gives it another lifetime, in one script (`lua/lease_hold.lua`), so
taking and renewing are the same call and a lapsed lease simply passes to
whoever asks next. `release` lets go only of a lease still ours
(`lua/lease_release.lua`): after a pause longer than the lifetime another
process may hold it, and its lease must stay.

A lease saves work; it is not what keeps things correct. What it guards is safe
to run twice (compare-and-set state moves, idempotent result writes).
"""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from classquiz.game.scripts import plain_script


class Lease:
    def __init__(self, redis: Redis, key: str, ttl_ms: int, owner: str | None = None) -> None:
        self.key = key
        self.ttl_ms = ttl_ms
        self.owner = owner or uuid.uuid4().hex
        self._hold = plain_script(redis, "lease_hold")
        self._release = plain_script(redis, "lease_release")

    async def hold(self) -> bool:
        """Take the lease or renew ours for `ttl_ms`; False while another owner holds it."""
        return bool(await self._hold(keys=[self.key], args=[self.owner, self.ttl_ms]))

    async def release(self) -> bool:
        """Give the lease up if it is still ours; True if it was."""
        return bool(await self._release(keys=[self.key], args=[self.owner]))
