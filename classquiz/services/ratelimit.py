"""Abuse limits (SPEC §5): failures per client address, kept in Redis; events per socket.

Only failures count against an address (unknown PINs, wrong passwords, bad
tokens), never successful joins, so a whole class behind one NAT address can
join at full speed; a guesser cycling through PINs is blocked after a handful
of tries. The block lives in Redis so every process enforces it.

Events per socket are counted in the process that holds the socket (a socket
never moves between processes), with a one-second window.
"""

from __future__ import annotations

import contextlib
import ipaddress
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

from classquiz.errors import ApiError

_RECORD_FAILURE = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if count >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

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


def request_address(request: web.Request, trusted: Sequence[Network]) -> str:
    """`client_address` of an aiohttp request (REST, or the request behind a socket)."""
    return client_address(request.remote, request.headers.get("X-Forwarded-For"), trusted)


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


class FailureLimiter:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        limit: int,
        window_s: int,
        block_s: int,
        scope: str = "join",
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.scope = scope
        self.limit = limit
        self.window_s = window_s
        self.block_s = block_s
        self._record = redis.register_script(_RECORD_FAILURE)

    def _keys(self, address: str) -> tuple[str, str]:
        base = f"{self.prefix}:rl:{self.scope}"
        return f"{base}:fail:{address}", f"{base}:block:{address}"

    async def is_blocked(self, address: str) -> bool:
        return bool(await self.redis.exists(self._keys(address)[1]))

    @contextlib.asynccontextmanager
    async def guard(self, address: str, counted_code: str, refusal: str) -> AsyncIterator[None]:
        """Refuse a blocked address with 429 `rate_limited` (message `refusal`), and count
        an ApiError with `counted_code` raised inside the block as one failure."""
        if await self.is_blocked(address):
            raise ApiError(429, "rate_limited", refusal)
        try:
            yield
        except ApiError as exc:
            if exc.code == counted_code:
                await self.record_failure(address)
            raise

    async def record_failure(self, address: str) -> bool:
        """Count one failure; True when this one triggered the block."""
        fail_key, block_key = self._keys(address)
        return bool(
            await self._record(
                keys=[fail_key, block_key], args=[self.window_s, self.limit, self.block_s]
            )
        )


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
