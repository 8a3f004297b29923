"""The answer script scores exactly as the Python rules say, over the whole range.

Scoring lives twice by necessity: `classquiz.game.rules.score_answer` is the
specification (and what the reveal and the tests use), `submit_answer.lua` is what
really scores, atomically in Redis. A drift between the two would give players
points the rules do not promise, so Hypothesis draws the inputs (right, wrong or a
poll; the question's multiplier; its time limit; how long the player took, also
before the opening and past the limit; the streak so far; the bonus on or off) and
every draw runs the real script on the real Redis and is compared with the rules.
"""

from __future__ import annotations

import asyncio
import uuid

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from classquiz.game.answer_batch import PendingAnswer, batch_argument
from classquiz.game.rules import GRACE_MS, score_answer
from classquiz.game.scripts import game_script

GAME_ID = "lua-property-game"
PLAYER = "p1"


@settings(max_examples=150, deadline=None)
@given(
    correct=st.sampled_from([True, False, None]),
    multiplier=st.integers(0, 2),
    time_limit_ms=st.integers(1_000, 240_000),
    # negative: the clock says before the opening (counts as instant); above the time
    # limit: an answer in the grace after the deadline (counts as the whole limit)
    elapsed=st.integers(-5_000, 300_000),
    streak_before=st.integers(0, 9),
    bonus=st.booleans(),
)
def test_the_answer_script_scores_like_the_rules(
    storage: dict[str, str],
    correct: bool | None,
    multiplier: int,
    time_limit_ms: int,
    elapsed: int,
    streak_before: int,
    bonus: bool,
) -> None:
    asyncio.run(
        score_once(
            storage["redis_url"],
            storage["redis_prefix"] + ":luaprop",
            correct,
            multiplier,
            time_limit_ms,
            elapsed,
            streak_before,
            bonus,
        )
    )


async def score_once(
    url: str,
    prefix: str,
    correct: bool | None,
    multiplier: int,
    time_limit_ms: int,
    elapsed: int,
    streak_before: int,
    bonus: bool,
) -> None:
    """One answer through the script as the server loads it, checked against the rules."""
    client = Redis.from_url(url)
    script = game_script(client, "submit_answer")
    base = f"{prefix}:{{{uuid.uuid4().hex}}}"
    keys = [f"{base}:{name}" for name in ("game", "answers:0", "scores", "streaks", "dist:0")]
    keys += [f"{base}:{name}" for name in ("correct", "gone", "online", "players")]
    game, answers, scores, streaks = keys[:4]
    seconds, micros = await client.time()
    now = int(seconds) * 1000 + int(micros) // 1000
    try:
        await client.hset(
            game,
            mapping={
                "status": "question",
                "qi": 0,
                "opens_at": now - elapsed,
                "deadline_at": now + 60_000,  # the deadline is not what this test is about
                "id": GAME_ID,
            },
        )
        await client.pexpire(game, 60_000)
        await client.hset(keys[7], PLAYER, "sid")
        await client.hset(keys[8], PLAYER, '{"n":"Ada","k":"ada"}')
        if streak_before:
            await client.hset(streaks, PLAYER, streak_before)
        flag = -1 if correct is None else int(correct)
        reply = await script(
            keys=keys,
            args=[
                GAME_ID,
                0,
                multiplier,
                time_limit_ms,
                "1" if bonus else "0",
                GRACE_MS,
                batch_argument([PendingAnswer(PLAYER, flag, orjson.dumps(0).decode(), ("0",))]),
            ],
        )
        raw = reply[0][0]  # the first (only) answer of the batch
        assert raw[0] == b"ok", raw
        record = orjson.loads(await client.hget(answers, PLAYER) or b"null")
        # The script measures the time itself (Redis TIME): a few milliseconds may have
        # passed since `now`, so the rules get the elapsed time the script recorded,
        # which must lie where the draw put it (clamped to 0..limit).
        expected_elapsed = max(0, min(elapsed, time_limit_ms))
        assert expected_elapsed <= record["e"] <= min(expected_elapsed + 1_000, time_limit_ms)
        assert record["s"] == streak_before and record["c"] == flag
        points, streak_after = score_answer(
            correct, multiplier, record["e"], time_limit_ms, streak_before, bonus
        )
        assert int(raw[2]) == record["p"] == points, (raw, record, points)
        assert int(await client.hget(streaks, PLAYER) or 0) == streak_after
        assert (await client.zscore(scores, PLAYER) or 0) == points
        assert int(await client.hget(keys[5], PLAYER) or 0) == (1 if correct else 0)
    finally:
        await client.delete(*keys)
        await client.aclose()
