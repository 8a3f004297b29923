"""The live store's state moves: creating a game, opening and closing questions,
answers, finishing, and the deadlines that close questions on time.

Every move is a compare-and-set Lua script (`lua/`): it checks that the game is
still the one the caller saw, in the state the caller saw, so the host, a
deadline and a second process can never move one game twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import OutOfMemoryError

from classquiz.contracts.quizzes import MAX_QUESTIONS
from classquiz.game.answer_batch import (
    AnswerBatcher,
    PendingAnswer,
    QuestionBatchKey,
    batch_argument,
)
from classquiz.game.keys import (
    bucket_of,
    game_member,
    owner_bucket,
    owner_games_key,
    pin_bucket,
    pin_key,
    unparked_key,
)
from classquiz.game.records import correct_flag
from classquiz.game.scripts import game_script, plain_script
from classquiz.game.store_base import ScriptResult, StoreBase, script_result, text


def random_pin() -> str:
    """A 6-digit PIN from the operating system's CSPRNG: PINs must not be predictable."""
    return f"{100_000 + secrets.randbelow(900_000)}"


class TooManyLiveGames(Exception):
    """The owner already has as many live (not finished) games as allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} live games per account")
        self.limit = limit


class LiveStoreFull(Exception):
    """Redis reached its memory cap (`maxmemory` with `noeviction`): it refuses new
    writes rather than evicting keys of running games."""


class StateMoves(StoreBase):
    def __init__(self, redis: Redis, prefix: str, ttl_s: int, buckets: int = 1) -> None:
        super().__init__(redis, prefix, ttl_s, buckets)
        # Where PINs come from; a test swaps it to make two games draw the same PIN.
        self.draw_pin: Callable[[], str] = random_pin
        self._create = game_script(redis, "create_game")
        self._touch = game_script(redis, "touch")
        self._open = game_script(redis, "open_question")
        self._close = game_script(redis, "close_question")
        self._finish = game_script(redis, "finish_game")
        self._submit = game_script(redis, "submit_answer")
        self.answer_batches = AnswerBatcher(self._submit_batch)
        self._keep_reveal = plain_script(redis, "keep_reveal")

    def _draw_pin_of(self, owner_id: str) -> str:
        """A PIN for a new game of `owner_id`: on a Redis Cluster, one in the owner's
        bucket, so the game and the owner's quota set share a hash slot (keys.py)."""
        if self.buckets == 1:
            return self.draw_pin()
        wanted = owner_bucket(owner_id, self.buckets)
        for _ in range(100 * self.buckets):
            pin = self.draw_pin()
            if pin_bucket(pin, self.buckets) == wanted:
                return pin
        raise RuntimeError("no PIN drawn in the owner's bucket")

    # -- a game's beginning and end ------------------------------------------------------

    async def create(
        self,
        game_id: str,
        owner_id: str,
        fields: dict[str, Any],
        quiz: list[dict[str, Any]],
        max_live_per_owner: int,
        attempts: int = 50,
    ) -> str:
        """Reserve a random PIN no live game uses and create the game on it, atomically
        (create_game.lua), unless the owner already has `max_live_per_owner` live games
        (TooManyLiveGames), or Redis is full (LiveStoreFull). Leftovers of an older game
        on the PIN are cleared first.
        Returns the PIN; `fields` get its `pin` added."""
        snapshot = orjson.dumps(quiz)
        owner_games = owner_games_key(self.prefix, owner_id, self.buckets)
        for _ in range(attempts):
            pin = self._draw_pin_of(owner_id)
            keys = self.keys(pin)
            seen = [text(m) for m in await self.redis.zrange(owner_games, 0, -1)]
            args: list[Any] = [
                game_id,
                self.ttl_s * 1000,
                snapshot,
                max_live_per_owner,
                game_member(pin, game_id),
                len(seen),
                *seen,
            ]
            for name, value in {**fields, "pin": pin}.items():
                args += [name, _hash_value(value)]
            try:
                raw = await self._create(
                    keys=[
                        pin_key(self.prefix, pin, self.buckets),
                        keys.game,
                        keys.quiz,
                        owner_games,
                        *(self.keys(member.partition(":")[0]).game for member in seen),
                        *(k for k in keys.all(MAX_QUESTIONS) if k not in (keys.game, keys.quiz)),
                    ],
                    args=args,
                )
            except OutOfMemoryError:
                raise LiveStoreFull from None
            outcome = script_result(raw)
            if outcome.code == "too_many_live_games":
                raise TooManyLiveGames(max_live_per_owner)
            if outcome.ok:
                return pin
        raise RuntimeError("no free PIN found; too many live games")

    async def touch(self, pin: str, question_count: int) -> None:
        """Push every key's expiry forward while the game is played (not once finished)."""
        keys = self.keys(pin)
        others = [k for k in keys.all(question_count) if k != keys.game]
        await self._touch(
            keys=[keys.game, pin_key(self.prefix, pin, self.buckets), *others],
            args=[self.ttl_s * 1000],
        )

    async def finish(self, pin: str, game_id: str) -> ScriptResult:
        """Finish game `game_id`; game_not_found if another game has taken its PIN."""
        k = self.keys(pin)
        keys = [
            k.game,
            self.deadlines(pin),
            unparked_key(self.prefix, bucket_of(pin, self.buckets)),
        ]
        return script_result(await self._finish(keys=keys, args=[pin, game_id]))

    async def keep_for_results(self, pin: str, question_count: int, ttl_s: int) -> None:
        """Shorten a finished game's keys, its PIN reservation included, to `ttl_s`."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in [
                *self.keys(pin).all(question_count),
                pin_key(self.prefix, pin, self.buckets),
            ]:
                pipe.expire(key, ttl_s)
            await pipe.execute()

    # -- questions -------------------------------------------------------------------------

    async def open_question(
        self,
        pin: str,
        *,
        game_id: str,
        expected_status: str,
        expected_qi: int,
        new_qi: int,
        time_limit_ms: int,
        grace_ms: int,
        lock: bool,
    ) -> ScriptResult:
        """Open `new_qi` if game `game_id` still owns the PIN and is where the caller saw it."""
        k = self.keys(pin)
        raw = await self._open(
            keys=[k.game, self.deadlines(pin)],
            args=[
                expected_status,
                expected_qi,
                new_qi,
                time_limit_ms,
                grace_ms,
                f"{pin}:{new_qi}",
                "1" if lock else "0",
                game_id,
            ],
        )
        return script_result(raw)

    async def close_question(
        self, pin: str, qi: int, graded: bool, game_id: str = ""
    ) -> ScriptResult:
        """Close question `qi`; with `game_id`, only while that game owns the PIN."""
        k = self.keys(pin)
        raw = await self._close(
            keys=[k.game, self.deadlines(pin), k.answers(qi), k.streaks, k.players],
            args=[qi, f"{pin}:{qi}", "1" if graded else "0", game_id],
        )
        return script_result(raw)

    async def submit(
        self,
        pin: str,
        *,
        game_id: str,
        player_id: str,
        question_index: int,
        correct: bool | None,
        points: int,
        time_limit_ms: int,
        streak_bonus: bool,
        grace_ms: int,
        stored: Any,
        buckets: tuple[str, ...],
    ) -> ScriptResult:
        """Record one answer, scored by Redis' clock (submit_answer.lua): the whole hot
        path in one round trip, shared with the answers to the same question that
        arrive meanwhile (game/answer_batch.py). `points` is the question's multiplier,
        `stored` the answer as the results keep it, `buckets` what it adds to the
        distribution."""
        key = QuestionBatchKey(
            pin=pin,
            question_index=question_index,
            game_id=game_id,
            points=points,
            time_limit_ms=time_limit_ms,
            streak_bonus=streak_bonus,
            grace_ms=grace_ms,
        )
        answer = PendingAnswer(
            player_id, correct_flag(correct), orjson.dumps(stored).decode(), buckets
        )
        return await self.answer_batches.submit(key, answer)

    async def _submit_batch(self, key: QuestionBatchKey, batch: list[PendingAnswer]) -> Any:
        k = self.keys(key.pin)
        qi = key.question_index
        args: list[Any] = [
            key.game_id,
            qi,
            key.points,
            key.time_limit_ms,
            "1" if key.streak_bonus else "0",
            key.grace_ms,
            batch_argument(batch),
        ]
        return await self._submit(
            keys=[
                k.game,
                k.answers(qi),
                k.scores,
                k.streaks,
                k.dist(qi),
                k.correct,
                k.gone,
                k.online,
                k.players,
            ],
            args=args,
        )

    async def keep_reveal(self, pin: str, game_id: str, question_ended: dict[str, Any]) -> None:
        """Store the `question_ended` payload just sent, once per question (never per
        answer), so a presenter that reloads during the reveal can draw it again."""
        k = self.keys(pin)
        await self._keep_reveal(
            keys=[k.game, k.revealed], args=[orjson.dumps(question_ended), game_id]
        )

    # -- deadlines -------------------------------------------------------------------------

    async def due_deadlines(self, now_ms: int, limit: int = 20) -> list[tuple[str, int]]:
        """(pin, question index) of questions whose deadline plus grace is past `now_ms`."""
        if self.buckets == 1:
            raw = await self.redis.zrangebyscore(
                self.all_deadlines[0], "-inf", now_ms, start=0, num=limit
            )
        else:  # a Redis Cluster: every bucket's index, in one pipeline
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in self.all_deadlines:
                    pipe.zrangebyscore(key, "-inf", now_ms, start=0, num=limit)
                raw = [member for part in await pipe.execute() for member in part][:limit]
        out = []
        for member in raw:
            pin, _, qi = text(member).partition(":")
            out.append((pin, int(qi)))
        return out

    async def drop_deadline(self, pin: str, qi: int) -> None:
        await self.redis.zrem(self.deadlines(pin), f"{pin}:{qi}")


def _hash_value(value: Any) -> str | int | float:
    """A game hash field as stored: flags as "1"/"0", numbers and text as they are,
    anything else (settings) as JSON."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | str):
        return value
    return orjson.dumps(value).decode()
