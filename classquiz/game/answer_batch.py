"""Answers to one question travel to Redis together: one script call for many.

In a class's answer burst, thousands of answers arrive within half a second; a
round trip each costs the process more in redis-py than the script costs Redis.
So per question (a game, a question index and the game id the players were
admitted to), at most one call of `submit_answer.lua` is in flight: an answer
that arrives meanwhile waits for it and goes with everything else that arrived in
the next call (group commit). A lone answer leaves on the next turn of the event
loop; after that, the calls of one question start at least `BURST_CALL_INTERVAL_S`
apart: the sender stays for the rest of that interval after each call, so an answer
that comes then waits for it even if the queue had run empty meanwhile (a burst
whose answers trickle in faster than Redis answers would otherwise go out one by
one). A call costs the process about 80 µs in redis-py whatever it carries, and
Redis answers a small one within a fraction of a millisecond, so without that
spacing a 2,000-player burst went out in calls of about four answers; spaced, the
calls are fuller and an answer waits at most that long more for its ack.

The script judges every answer as if it came alone, in arrival order, so batching
changes no result; each caller gets its own answer's result or the call's error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from classquiz.game.store_base import ScriptResult, text

# In a burst, the least time between the starts of two calls for the same question.
BURST_CALL_INTERVAL_S = 0.002


@dataclass(frozen=True, slots=True)
class QuestionBatchKey:
    """What all answers of one call share: the script's KEYS and its fixed ARGV."""

    pin: str
    question_index: int
    game_id: str
    points: int
    time_limit_ms: int
    streak_bonus: bool
    grace_ms: int


@dataclass(slots=True)
class PendingAnswer:
    player_id: str
    correct_flag: int
    answer_json: str
    buckets: tuple[str, ...]
    result: asyncio.Future[ScriptResult] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def row(self) -> tuple[str, int, str, tuple[str, ...]]:
        """This answer in the script's batch argument (see `batch_argument`)."""
        return (self.player_id, self.correct_flag, self.answer_json, self.buckets)


def batch_argument(batch: list[PendingAnswer]) -> bytes:
    """The answers of one call as the script's single batch argument: a JSON array of
    [player_id, correct, answer JSON (as a string), [buckets]], encoded in one go."""
    return orjson.dumps([answer.row() for answer in batch])


# Runs one call of the script for a batch: (key, answers) -> the script's raw reply.
BatchCall = Callable[[QuestionBatchKey, list[PendingAnswer]], Awaitable[list[Any]]]


def split_reply(raw: list[Any], count: int) -> list[ScriptResult]:
    """One ScriptResult per answer from the script's `{results, all}` reply.

    Only the last recorded answer carries "everyone online has answered", so the
    question is closed once, not by every answer of the call that completed it."""
    rows, everyone = raw[0], int(raw[1])
    if len(rows) != count:
        raise ValueError(f"submit_answer.lua answered {len(rows)} of {count} answers")
    results = []
    last_ok = max((i for i, row in enumerate(rows) if text(row[0]) == "ok"), default=-1)
    for i, row in enumerate(rows):
        code = text(row[0])
        if code != "ok":
            results.append(ScriptResult(code, ()))
            continue
        received_at, points, answered = (int(v) for v in row[1:4])
        results.append(
            ScriptResult("ok", (received_at, points, answered, everyone if i == last_ok else 0))
        )
    return results


class AnswerBatcher:
    """Queues answers per question and keeps at most one call per question in flight."""

    def __init__(self, call: BatchCall) -> None:
        self.call = call
        self.waiting: dict[QuestionBatchKey, list[PendingAnswer]] = {}
        self.sending: dict[QuestionBatchKey, asyncio.Task[None]] = {}

    async def submit(self, key: QuestionBatchKey, answer: PendingAnswer) -> ScriptResult:
        self.waiting.setdefault(key, []).append(answer)
        if key not in self.sending:
            # The sender keeps running (and is referenced here) until the queue is
            # empty, even if this caller is cancelled: its answer may already be in Redis.
            self.sending[key] = asyncio.ensure_future(self._send(key))
        # Awaited directly: a caller cancelled meanwhile cancels only its own future,
        # which the sender then skips (its answer may already be in Redis).
        return await answer.result

    async def _send(self, key: QuestionBatchKey) -> None:
        loop = asyncio.get_running_loop()
        try:
            while batch := self.waiting.pop(key, None):
                started = loop.time()
                try:
                    results = split_reply(await self.call(key, batch), len(batch))
                except Exception as exc:
                    for answer in batch:
                        if not answer.result.done():
                            answer.result.set_exception(exc)
                except BaseException:  # the sender was cancelled (shutdown)
                    for answer in batch:
                        answer.result.cancel()
                    raise
                else:
                    for answer, result in zip(batch, results, strict=True):
                        if not answer.result.done():
                            answer.result.set_result(result)
                # After a failed call too: a Redis in trouble gets no faster calls.
                gap = BURST_CALL_INTERVAL_S - (loop.time() - started)
                if gap > 0:
                    # Stay the sender for the rest of the interval, even if the queue
                    # is empty now: an answer that comes meanwhile is part of the same
                    # burst and goes with the next call, not in a call of its own.
                    await asyncio.sleep(gap)
        finally:
            del self.sending[key]
            # Answers still waiting only if the sender itself was stopped (shutdown).
            for answer in self.waiting.pop(key, None) or ():
                answer.result.set_exception(ConnectionError("the answer was not sent"))
