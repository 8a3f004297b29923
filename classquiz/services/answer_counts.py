"""AnswerCountPacer: `answer_count` at most once per interval per game, across processes.

The host's `answer_count` is coalesced: an answer does not send one, it asks
for one to be sent soon. Coalescing per process (as before) let N workers
send N times the promised rate (audit finding 18), so the send slots live in
Redis, one series per game:

- `claim` (`lua/answer_count_claim.lua`) reserves the next free slot of the game, at least one
  interval after the last slot (as reserved, or as released if that was
  later), and marks the question as pending
  until then. Whoever gets the reservation sends at that instant; everyone
  else learns when that send is due and waits for it.
- `release` (`lua/answer_count_release.lua`) clears the pending mark just before the sender reads
  the counts, so an answer recorded after the read asks for a new slot: no
  answer is left out of the last count. It also moves the game's last slot to
  the moment of the release when that is later than the reserved instant: a
  busy process wakes up late for its slot, and the next slot must follow the
  send as it happened, or it would come less than an interval after it.

Each process also coalesces locally: while it waits for a slot (its own or
another process's), further answers only mark the question dirty, and one
more claim follows if any came in. So a burst costs each process about one
script call per interval, not one per answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from classquiz.game.keys import GameKeys
from classquiz.game.scripts import plain_script

Flush = Callable[[str, int], Awaitable[None]]

MARK_MARGIN_MS = 1000  # a sender that died frees its question's mark this long after its slot
MIN_WAIT_MS = 10


class AnswerCountPacer:
    def __init__(self, redis: Redis, prefix: str, interval_s: float, flush: Flush) -> None:
        self.redis = redis
        self.prefix = prefix
        self.interval_ms = max(1, round(interval_s * 1000))
        self.flush = flush  # reads the counts and sends them to the host
        self._claim = plain_script(redis, "answer_count_claim")
        self._release = plain_script(redis, "answer_count_release")
        self._dirty: dict[tuple[str, int], bool] = {}  # (pin, qi) running here -> new answers

    def _keys(self, pin: str, qi: int) -> tuple[str, str]:
        base = GameKeys(self.prefix, pin).base
        return f"{base}:ac:{qi}", f"{base}:ac_last"

    def answered(self, pin: str, qi: int) -> Awaitable[None] | None:
        """An answer to question `qi` was recorded: make sure a count follows.

        Returns the work that will see to it (for the caller to run in the
        background), or None when that work already runs in this process.
        """
        key = (pin, qi)
        if key in self._dirty:
            self._dirty[key] = True
            return None
        self._dirty[key] = False
        return self._run(pin, qi)

    async def _run(self, pin: str, qi: int) -> None:
        key = (pin, qi)
        pending, last = self._keys(pin, qi)
        try:
            while True:
                # Answers recorded before this claim are covered: by our own read if
                # we get the slot, else by the holder's, which reads after this claim.
                self._dirty[key] = False
                won, wait_ms = await self._claim(
                    keys=[pending, last], args=[self.interval_ms, MARK_MARGIN_MS]
                )
                if int(won):
                    await asyncio.sleep(int(wait_ms) / 1000)
                    # Release before reading, and the next slot counts from now: see above.
                    await self._release(
                        keys=[pending, last], args=[self.interval_ms + MARK_MARGIN_MS]
                    )
                    self._dirty[key] = False  # the read below covers what came in so far
                    await self.flush(pin, qi)
                else:
                    # Wait for the holder's send; never spin on a mark left by a dead one.
                    await asyncio.sleep(max(int(wait_ms), MIN_WAIT_MS) / 1000)
                if not self._dirty[key]:
                    return
        finally:
            self._dirty.pop(key, None)
