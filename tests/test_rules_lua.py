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

import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

import classquiz.game
from classquiz.game.rules import GRACE_MS, score_answer

LUA_DIR = Path(classquiz.game.__file__).parent / "lua"
GAME_ID = "lua-property-game"
PLAYER = "p1"


@pytest.fixture(scope="module")
def submit_script(
    storage: dict[str, str],
) -> Iterator[tuple[redis.Redis, str, redis.client.Script]]:
    """The answer script as the server loads it (the shared prelude, then the script)."""
    client = redis.Redis.from_url(storage["redis_url"])
    prelude = (LUA_DIR / "_follow_game.lua").read_text()
    source = prelude + (LUA_DIR / "submit_answer.lua").read_text()
    yield client, storage["redis_prefix"] + ":luaprop", client.register_script(source)
    client.close()


def redis_now_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


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
    submit_script: tuple[redis.Redis, str, redis.client.Script],
    correct: bool | None,
    multiplier: int,
    time_limit_ms: int,
    elapsed: int,
    streak_before: int,
    bonus: bool,
) -> None:
    client, prefix, script = submit_script
    base = f"{prefix}:{{{uuid.uuid4().hex}}}"
    keys = [f"{base}:{name}" for name in ("game", "answers:0", "scores", "streaks", "dist:0")]
    keys += [f"{base}:{name}" for name in ("correct", "gone", "online", "players")]
    game, answers, scores, streaks = keys[:4]
    now = redis_now_ms(client)
    try:
        client.hset(
            game,
            mapping={
                "status": "question",
                "qi": 0,
                "opens_at": now - elapsed,
                "deadline_at": now + 60_000,  # the deadline is not what this test is about
                "id": GAME_ID,
            },
        )
        client.pexpire(game, 60_000)
        client.hset(keys[7], PLAYER, "sid")
        client.hset(keys[8], PLAYER, '{"n":"Ada","k":"ada"}')
        if streak_before:
            client.hset(streaks, PLAYER, streak_before)
        flag = -1 if correct is None else int(correct)
        raw = script(
            keys=keys,
            args=[
                PLAYER,
                0,
                flag,
                multiplier,
                time_limit_ms,
                "1" if bonus else "0",
                GRACE_MS,
                orjson.dumps(0),
                GAME_ID,
                "0",
            ],
        )
        assert raw[0] == b"ok", raw
        record = orjson.loads(client.hget(answers, PLAYER) or b"null")
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
        assert int(client.hget(streaks, PLAYER) or 0) == streak_after
        assert (client.zscore(scores, PLAYER) or 0) == points
        assert int(client.hget(keys[5], PLAYER) or 0) == (1 if correct else 0)
    finally:
        client.delete(*keys)
