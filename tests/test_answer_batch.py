"""Answers to one question share script calls (game/answer_batch.py), on the real Redis.

Batching must change nothing a player sees: every answer is judged as if it came
alone (points, streaks, duplicates, players who may not answer), exactly once, and
a failed call fails each of its answers, none silently.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from classquiz.config import Settings
from classquiz.game.answer_batch import (
    BURST_CALL_INTERVAL_S,
    PendingAnswer,
    QuestionBatchKey,
    split_reply,
)
from classquiz.game.records import PlayerRecord
from classquiz.game.rules import GRACE_MS
from classquiz.game.store import GameStore
from classquiz.game.store_base import ScriptResult

PLAYERS = 120


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[GameStore]:
    redis = Redis.from_url(settings.require_redis_url())
    try:
        yield GameStore(redis, f"{settings.redis_prefix}batch-{uuid.uuid4().hex[:8]}", 60)
    finally:
        await redis.aclose()


async def open_game(store: GameStore, players: list[str]) -> tuple[str, str]:
    """(pin, game id) of a game with `players` joined and online, question 0 open."""
    game_id = str(uuid.uuid4())
    fields = {
        "id": game_id,
        "quiz_id": str(uuid.uuid4()),
        "owner_id": str(uuid.uuid4()),
        "title": "Batch",
        "status": "lobby",
        "qi": -1,
        "active": 0,
        "locked": "0",
        "settings": {"max_players": len(players) + 1},
        "created_at": 1,
    }
    question = {"type": "single", "text": "Q", "time_limit_s": 30, "choices": []}
    pin = await store.create(game_id, fields["owner_id"], fields, [question], 10)
    for i, pid in enumerate(players):
        assert (await store.join(pin, pid, PlayerRecord(f"P{i}", f"p{i}"), 1000)).ok
        await store.set_online(pin, pid, f"sid-{i}")
    opened = await store.open_question(
        pin,
        game_id=game_id,
        expected_status="lobby",
        expected_qi=-1,
        new_qi=0,
        time_limit_ms=30_000,
        grace_ms=GRACE_MS,
        lock=False,
    )
    assert opened.ok
    return pin, game_id


def answer_of(game_id: str, player_id: str, correct: bool) -> dict[str, Any]:
    return {
        "game_id": game_id,
        "player_id": player_id,
        "question_index": 0,
        "correct": correct,
        "points": 1,
        "time_limit_ms": 30_000,
        "streak_bonus": True,
        "grace_ms": GRACE_MS,
        "stored": 1 if correct else 0,
        "buckets": ("1" if correct else "0",),
    }


async def test_a_burst_is_judged_as_if_every_answer_came_alone(store: GameStore) -> None:
    players = [str(uuid.uuid4()) for _ in range(PLAYERS)]
    pin, game_id = await open_game(store, players)
    calls: list[int] = []
    real_call = store.answer_batches.call

    async def counted(key: QuestionBatchKey, batch: list[PendingAnswer]) -> Any:
        calls.append(len(batch))
        return await real_call(key, batch)

    store.answer_batches.call = counted
    # Every player answers at once; every third one twice (a double tap).
    submissions = [answer_of(game_id, pid, i % 2 == 0) for i, pid in enumerate(players)]
    submissions += [answer_of(game_id, pid, True) for pid in players[::3]]
    results = await asyncio.gather(*(store.submit(pin, **a) for a in submissions))

    assert sum(calls) == len(submissions)
    assert len(calls) < len(submissions) // 4  # they really travelled together
    first, doubles = results[:PLAYERS], results[PLAYERS:]
    assert all(r.code == "ok" for r in first)
    assert all(r.code == "already_answered" for r in doubles)
    # The points are the rules' for an answer this fast; the last one saw everyone answer.
    for i, result in enumerate(first):
        points = result.values[1]
        assert (points > 900) if i % 2 == 0 else (points == 0)
    assert sorted(r.values[2] for r in first) == list(range(1, PLAYERS + 1))
    assert [r.values[3] for r in first].count(1) == 1  # "everyone answered" said once
    dist = await store.redis.hgetall(store.keys(pin).dist(0))
    assert {k.decode(): int(v) for k, v in dist.items()} == {"1": PLAYERS // 2, "0": PLAYERS // 2}
    assert await store.redis.hlen(store.keys(pin).answers(0)) == PLAYERS


async def test_in_a_burst_calls_are_spaced_and_a_lone_answer_is_not_held(
    store: GameStore,
) -> None:
    players = [str(uuid.uuid4()) for _ in range(33)]
    pin, game_id = await open_game(store, players)
    starts: list[float] = []
    real_call = store.answer_batches.call
    loop = asyncio.get_running_loop()

    async def timed(key: QuestionBatchKey, batch: list[PendingAnswer]) -> Any:
        starts.append(loop.time())
        return await real_call(key, batch)

    store.answer_batches.call = timed
    # A lone answer: one call, no wait behind the burst spacing.
    began = loop.time()
    [alone] = await asyncio.gather(store.submit(pin, **answer_of(game_id, players[0], True)))
    assert alone.code == "ok" and len(starts) == 1
    assert starts[0] - began < BURST_CALL_INTERVAL_S
    # A burst that keeps coming while calls are in flight: the calls start spaced.
    starts.clear()

    async def one(i: int) -> Any:
        await asyncio.sleep(i * 0.0002)  # 29 answers over about 6 ms
        return await store.submit(pin, **answer_of(game_id, players[i], True))

    results = await asyncio.gather(*(one(i) for i in range(1, 30)))
    assert all(r.code == "ok" for r in results)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(starts) >= 2 and all(gap >= BURST_CALL_INTERVAL_S * 0.99 for gap in gaps), gaps
    # A trickle: each answer comes just after the previous one's ack, when the queue has
    # run empty (Redis answered faster than the next player): still spaced, not one
    # call each at once.
    starts.clear()
    for i in range(30, 33):
        result = await store.submit(pin, **answer_of(game_id, players[i], True))
        assert result.code == "ok"
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(starts) == 3 and all(gap >= BURST_CALL_INTERVAL_S * 0.99 for gap in gaps), gaps


async def test_who_may_not_answer_is_refused_inside_a_batch(store: GameStore) -> None:
    ada, bob = str(uuid.uuid4()), str(uuid.uuid4())
    pin, game_id = await open_game(store, [ada, bob])
    stranger = str(uuid.uuid4())
    results = await asyncio.gather(
        store.submit(pin, **answer_of(game_id, ada, True)),
        store.submit(pin, **answer_of(game_id, stranger, True)),
        store.submit(pin, **{**answer_of(game_id, bob, True), "game_id": "another-game"}),
        store.submit(pin, **answer_of(game_id, bob, False)),
    )
    assert [r.code for r in results] == ["ok", "forbidden", "game_not_found", "ok"]


async def test_a_failed_call_fails_every_answer_in_it_and_records_nothing(
    store: GameStore, settings: Settings
) -> None:
    ada, bob = str(uuid.uuid4()), str(uuid.uuid4())
    pin, game_id = await open_game(store, [ada, bob])
    broken = GameStore(Redis.from_url("redis://127.0.0.1:1/0"), store.prefix, 60)
    try:
        outcomes = await asyncio.gather(
            broken.submit(pin, **answer_of(game_id, ada, True)),
            broken.submit(pin, **answer_of(game_id, bob, True)),
            return_exceptions=True,
        )
    finally:
        await broken.redis.aclose()
    assert all(isinstance(o, RedisConnectionError) for o in outcomes), outcomes
    assert await store.redis.hlen(store.keys(pin).answers(0)) == 0
    # The sender stays for the rest of the burst interval, after a failure too, then goes.
    assert not broken.answer_batches.waiting
    await asyncio.sleep(BURST_CALL_INTERVAL_S * 5)
    assert not broken.answer_batches.sending


def test_only_the_last_recorded_answer_says_everyone_answered() -> None:
    raw = [[[b"ok", 5, 900, 1], [b"already_answered"], [b"ok", 5, 0, 2], [b"too_late"]], 1]
    assert split_reply(raw, 4) == [
        ScriptResult("ok", (5, 900, 1, 0)),
        ScriptResult("already_answered", ()),
        ScriptResult("ok", (5, 0, 2, 1)),
        ScriptResult("too_late", ()),
    ]
    with pytest.raises(ValueError):
        split_reply(raw, 3)
