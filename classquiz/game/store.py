"""GameStore: every Redis operation on live games; nothing else touches these keys.

One object for the services to hold, put together from three parts, one idea each:
`Presence` (presence.py: the roster, nicknames, online marks), `StateMoves`
(moves.py: creating, the compare-and-set state moves, answers, deadlines) and
`Projections` (projections.py: reads shaped for one message or screen). Multi-key
changes that must not interleave are Lua scripts (`lua/`, loaded by scripts.py);
reads that need several keys are pipelined into one round trip. The records kept
under the keys are typed in records.py.
"""

from __future__ import annotations

from redis.asyncio import Redis

from classquiz.game.moves import LiveStoreFull, StateMoves, TooManyLiveGames, random_pin
from classquiz.game.presence import Presence
from classquiz.game.projections import Projections, places_by_score
from classquiz.game.store_base import ScriptResult

__all__ = [
    "GameStore",
    "LiveStoreFull",
    "ScriptResult",
    "TooManyLiveGames",
    "places_by_score",
    "random_pin",
]


class GameStore(Presence, StateMoves, Projections):
    def __init__(self, redis: Redis, prefix: str, ttl_s: int, buckets: int = 1) -> None:
        super().__init__(redis, prefix, ttl_s, buckets)
