"""Abuse limits (SPEC §5): failures per client address, kept in Redis; events per socket.

Only failures count against an address (unknown PINs, wrong passwords, bad
tokens), never successful joins, so a whole class behind one NAT address can
join at full speed; a guesser cycling through PINs is blocked after a handful
of tries. The block lives in Redis so every process enforces it.

Check and count are one Redis script: an attempt is reserved before the work
and settled after it (see FailureLimiter), so a concurrent burst cannot slip
past the limit. IPv6 clients are counted per /64 (`address_group`).

Events per socket are counted in the process that holds the socket (a socket
never moves between processes), with a one-second window.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from classquiz.errors import Refusal
from classquiz.game.scripts import plain_script

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The real client address: the TCP peer, or X-Forwarded-For when the peer is a trusted proxy.

    X-Forwarded-For is read right to left, skipping trusted proxies, so a client
    cannot choose its address by sending the header itself.
    """
    address = peer or "unknown"
    if not forwarded_for or not trusted:
        return address
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    current = address
    while _is_trusted(current, trusted) and hops:
        current = hops.pop()
    return current


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


# The reservation scripts: lua/limit_reserve.lua takes one attempt's slot before the
# work is done (so a concurrent burst is cut at exactly `limit`), lua/limit_settle.lua
# gives it back or keeps it as a failure. limit_reserve.lua answers with one of:
GRANTED, BLOCKED, BUSY = 0, 1, 2


@dataclass
class _Queue:
    """The attempts of one subject waiting for a free slot in this process."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0


class RateLimited(Exception):
    """The subject may not try now; `retry_after_s` is when it is worth trying again."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"rate limited for {retry_after_s} s")
        self.retry_after_s = retry_after_s


def address_group(address: str) -> str:
    """The unit an address limit counts: an IPv4 address, or an IPv6 /64.

    One subscriber or host usually owns a whole /64 and may use any address in
    it, so counting single IPv6 addresses would give an attacker 2^64 fresh
    budgets. Anything that is not an IP address (a user id) is its own group.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class FailureLimiter:
    """At most `limit` failures per subject (address group or account) within the window.

    Check and count are one step: `attempt` reserves a slot in Redis before the
    work, and settling it afterwards either gives it back (a success, where
    only failures count) or keeps it as a failure. Failures plus attempts in
    flight never exceed `limit`, so a burst of concurrent guesses is judged at
    most `limit` times. When every slot is in flight the next attempt waits a
    little for one to free (a class joining at once from one NAT address right
    after a few typos), and is refused once the subject is blocked.
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        limit: int,
        window_s: int,
        block_s: int,
        scope: str = "join",
        queue_s: float = 10.0,
        hold_s: float = 120.0,
    ) -> None:
        self.redis = redis
        # On a Redis Cluster the three keys of a subject must share a hash slot (on one
        # Redis the names stay as they always were).
        self.hash_tag = isinstance(redis, RedisCluster)
        self.prefix = prefix
        self.scope = scope
        self.limit = limit
        self.window_s = window_s
        self.block_s = block_s
        self.queue_s = queue_s  # how long an attempt may wait for a free slot
        self.hold_ms = int(hold_s * 1000)  # a reservation never settled (crash) frees after this
        self._reserve = plain_script(redis, "limit_reserve")
        self._settle = plain_script(redis, "limit_settle")
        # Waiters of this process queue per subject, so only the head polls Redis.
        self._queues: dict[str, _Queue] = {}

    def _keys(self, subject: str) -> list[str]:
        base = f"{self.prefix}:rl:{self.scope}"
        group = address_group(subject)
        if self.hash_tag:
            group = f"{{{group}}}"
        return [f"{base}:fail:{group}", f"{base}:block:{group}", f"{base}:pending:{group}"]

    async def _try_reserve(self, keys: list[str], ticket: str) -> tuple[int, int]:
        verdict, ms = await self._reserve(keys=keys, args=[self.limit, ticket, self.hold_ms])
        return int(verdict), int(ms)

    async def reserve(self, subject: str) -> str:
        """A ticket for one attempt, or RateLimited; settle the ticket when judged."""
        keys = self._keys(subject)
        ticket = uuid.uuid4().hex
        verdict, ms = await self._try_reserve(keys, ticket)
        if verdict == GRANTED:
            return ticket
        if verdict == BLOCKED:
            raise RateLimited(max(1, math.ceil(ms / 1000)))
        deadline = time.monotonic() + self.queue_s
        queue = self._queues.setdefault(keys[0], _Queue())
        queue.waiting += 1
        try:
            async with queue.lock:
                delay = 0.002
                while True:
                    verdict, ms = await self._try_reserve(keys, ticket)
                    if verdict == GRANTED:
                        return ticket
                    if verdict == BLOCKED:
                        raise RateLimited(max(1, math.ceil(ms / 1000)))
                    if time.monotonic() + delay > deadline:
                        raise RateLimited(1)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 0.05)
        finally:
            queue.waiting -= 1
            if queue.waiting == 0:
                self._queues.pop(keys[0], None)

    async def settle(self, subject: str, ticket: str, failed: bool) -> bool:
        """Give the reservation back, or keep it as a failure; True when this one blocked."""
        args = [ticket, 1 if failed else 0, self.limit, self.window_s, self.block_s]
        return bool(await self._settle(keys=self._keys(subject), args=args))

    @contextlib.asynccontextmanager
    async def attempt(
        self,
        subject: str,
        failed: Callable[[BaseException | None], bool],
        refused: Callable[[RateLimited], Exception] | None = None,
    ) -> AsyncIterator[None]:
        """Reserve before the block, settle after it.

        `failed(exc)` says whether the outcome counts: `exc` is what the block
        raised, None when it succeeded. A refusal raises RateLimited, or what
        `refused` makes of it (each transport has its own refusal).
        """
        try:
            ticket = await self.reserve(subject)
        except RateLimited as exc:
            if refused is None:
                raise
            raise refused(exc) from None
        outcome: BaseException | None = None
        try:
            yield
        except BaseException as exc:
            outcome = exc
            raise
        finally:
            await self.settle(subject, ticket, failed(outcome))

    def guard(
        self,
        subject: str,
        counted_codes: Collection[str],
        refusal: str,
        count_success: bool = False,
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """`attempt` for REST: a Refusal whose code is in `counted_codes` (and a success
        when `count_success`) counts; a blocked subject is refused `rate_limited`, with
        the seconds until it may come back."""

        def failed(exc: BaseException | None) -> bool:
            if exc is None:
                return count_success
            return isinstance(exc, Refusal) and exc.code in counted_codes

        return self.attempt(
            subject, failed, refused=lambda exc: too_many(refusal, exc.retry_after_s)
        )


def too_many(message: str, retry_after_s: int) -> Refusal:
    """The refusal of a limit: `rate_limited`, saying when to come back (at least 1 s)."""
    return Refusal("rate_limited", message, retry_after_s=max(1, retry_after_s))


@dataclass
class EventRate:
    """Events of one socket in the current one-second window."""

    soft_limit: int
    hard_limit: int
    window_start: float = 0.0
    count: int = 0

    def hit(self) -> str:
        """'ok', 'limited' (answer `rate_limited`) or 'drop' (close the socket)."""
        now = time.monotonic()
        if now - self.window_start >= 1.0:
            self.window_start = now
            self.count = 0
        self.count += 1
        if self.count > self.hard_limit:
            return "drop"
        if self.count > self.soft_limit:
            return "limited"
        return "ok"
