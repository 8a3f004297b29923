"""Timers that finish abandoned games, so their results are stored (audit finding 7).

Two ways a game is abandoned: its host has had no socket for a set time (the
teacher closed the tab), or it has sat in the reveal of its LAST question for a
set time (the host screen is open but nobody ends the game). Either way the
game would otherwise sit until its Redis keys expire, and its results would
never be stored. A third timer is the safety net under both: a started game is
finished shortly before its keys would expire, whatever else happened (the
host's process died with the host's socket, so no disconnect was ever seen; or
both settings are off).

A timer is one member `pin:game_id:reason` of a sorted set scored by its due
instant (Redis' clock). Timers are fired by the process holding the deadline
lease (classquiz/services/background.py); whether the game is still abandoned
is decided again when a timer fires, from the game as it is then (`still_abandoned`),
so a host who came back, or a game that moved on, simply drops the timer. Two
processes finishing the same game are kept apart by `finish_game.lua`'s
compare-and-set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeGuard

from redis.asyncio import Redis

from classquiz.game.keys import auto_finish_key

Reason = Literal["host_gone", "idle_after_last", "expiring"]
HOST_GONE: Reason = "host_gone"
IDLE_AFTER_LAST: Reason = "idle_after_last"
EXPIRING: Reason = "expiring"
_REASONS: frozenset[str] = frozenset({HOST_GONE, IDLE_AFTER_LAST, EXPIRING})
# How long before a game's keys expire the safety net finishes it (at most).
EXPIRY_MARGIN_MS = 10 * 60 * 1000


def before_expiry(touched_at_ms: int, ttl_s: int) -> int:
    """When to finish a game whose keys were last given `ttl_s` at `touched_at_ms`:
    a tenth of the lifetime (at most EXPIRY_MARGIN_MS) before they expire."""
    ttl_ms = ttl_s * 1000
    return touched_at_ms + ttl_ms - min(EXPIRY_MARGIN_MS, ttl_ms // 10)


@dataclass(frozen=True)
class Timer:
    pin: str
    game_id: str
    reason: Reason

    @property
    def member(self) -> str:
        return f"{self.pin}:{self.game_id}:{self.reason}"

    @classmethod
    def parse(cls, member: str) -> Timer | None:
        pin, _, rest = member.partition(":")
        game_id, _, reason = rest.partition(":")
        if not pin or not game_id or not _is_reason(reason):
            return None
        return cls(pin, game_id, reason)


def still_abandoned(timer: Timer, meta: dict[str, str] | None) -> bool:
    """True if the game `timer` names should be finished now, judged from its game hash.

    The same PIN may belong to a newer game by now: the game id must match. A game
    still in its lobby never started, has no results, and is left to expire.
    """
    if not meta or meta.get("id") != timer.game_id:
        return False
    status = meta.get("status")
    if timer.reason == HOST_GONE:
        return status in ("question", "reveal") and not meta.get("host_sid")
    if timer.reason == EXPIRING:
        return status in ("question", "reveal")
    last = int(meta.get("qcount", 0)) - 1
    return status == "reveal" and int(meta.get("qi", -1)) >= last


class AutoFinishTimers:
    """The sorted set of abandoned-game timers (one per game and reason)."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.key = auto_finish_key(prefix)

    async def arm(self, timer: Timer, due_ms: int) -> None:
        """Set (or move) the timer to `due_ms`."""
        await self.redis.zadd(self.key, {timer.member: due_ms})

    async def due(self, now_ms: int, limit: int = 20) -> list[Timer]:
        raw = await self.redis.zrangebyscore(self.key, "-inf", now_ms, start=0, num=limit)
        timers = []
        for value in raw:
            member = value.decode() if isinstance(value, bytes) else str(value)
            timer = Timer.parse(member)
            if timer is None:
                await self.redis.zrem(self.key, member)  # not ours to understand: drop it
            else:
                timers.append(timer)
        return timers

    async def disarm(self, timer: Timer) -> None:
        await self.redis.zrem(self.key, timer.member)

    async def disarm_game(self, pin: str, game_id: str) -> None:
        """Drop every timer of a game that finished: left armed, they would sit in the
        set for hours (the safety net's is due shortly before the keys' expiry), and
        the set, which has no TTL of its own, would never empty."""
        reasons: tuple[Reason, ...] = (HOST_GONE, IDLE_AFTER_LAST, EXPIRING)
        await self.redis.zrem(self.key, *(Timer(pin, game_id, r).member for r in reasons))


def _is_reason(text: str) -> TypeGuard[Reason]:
    return text in _REASONS
