"""What every part of the live-game store shares: the connection, the key names, the
clock, and the shape of a script's answer.

The store is split by idea (`presence.py`: who is in a game and online;
`moves.py`: creating games, state moves and deadlines; `projections.py`: reads
shaped for one screen or message), joined again in `store.py` as `GameStore`.
Nothing else in the server touches a game's keys.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from redis.asyncio import Redis

from classquiz.game.keys import GameKeys, all_buckets, bucket_of, deadlines_key

T = TypeVar("T")


def async_reply(command: Awaitable[T] | T) -> Awaitable[T]:
    """A command of the asyncio client, typed as what it is: something to await.

    redis-py types many commands (`hgetall`, `hkeys`, `hget`, `hdel`, `zrem`, ...) once for
    both clients as `Awaitable[T] | T`, which mypy refuses to await (redis-py issues #2399,
    #3195); on `redis.asyncio.Redis` they always return an awaitable. Type-only: no runtime
    change.
    """
    return cast(Awaitable[T], command)


def text(value: Any) -> str:
    """A Redis reply (bytes) or script argument as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class ScriptResult:
    """`code` is "ok" or an error code; `values` the script's further return values."""

    code: str
    values: tuple[int, ...]

    @property
    def ok(self) -> bool:
        return self.code == "ok"


def script_result(raw: list[Any]) -> ScriptResult:
    return ScriptResult(text(raw[0]), tuple(int(v) for v in raw[1:]))


class StoreBase:
    def __init__(self, redis: Redis, prefix: str, ttl_s: int, buckets: int = 1) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_s = ttl_s
        self.buckets = buckets  # 1 on a single Redis; the index buckets on a Cluster (keys.py)

    def keys(self, pin: str) -> GameKeys:
        return GameKeys(self.prefix, pin, self.buckets)

    def deadlines(self, pin: str) -> str:
        """The deadlines index that game `pin`'s scripts write (in its hash slot)."""
        return deadlines_key(self.prefix, bucket_of(pin, self.buckets))

    @property
    def all_deadlines(self) -> list[str]:
        return [deadlines_key(self.prefix, bucket) for bucket in all_buckets(self.buckets)]

    async def now_ms(self) -> int:
        """Redis' clock: the one deadlines and answers are judged by."""
        seconds, micros = await self.redis.time()
        return int(seconds) * 1000 + int(micros) // 1000
