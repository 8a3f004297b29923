"""The live store's typed records and its one lease, on the real Redis.

`game/records.py` is the only Python code that knows the one-letter layout of the
player and answer records (and reads the game hash's moving part as a `GameState`),
but two Lua scripts write them too
(`reroll_nickname.lua` re-encodes a player record, `submit_answer.lua` builds an
answer record): these tests make the scripts and the codec meet, so a letter
renamed on one side only fails here. The lease (`services/lease.py`) is the one
mechanism the deadline loop and the results retry pass share.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from classquiz.config import Settings
from classquiz.game.records import AnswerRecord, GameState, PlayerRecord, gone_reason
from classquiz.game.rules import GRACE_MS
from classquiz.game.store import GameStore
from classquiz.services.lease import Lease


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[GameStore]:
    redis = Redis.from_url(settings.require_redis_url())
    try:
        yield GameStore(redis, f"{settings.redis_prefix}records-{uuid.uuid4().hex[:8]}", 60)
    finally:
        await redis.aclose()


async def new_game(store: GameStore) -> tuple[str, str]:
    """(pin, game id) of a lobby with one graded question."""
    game_id, owner = str(uuid.uuid4()), str(uuid.uuid4())
    fields = {
        "id": game_id,
        "quiz_id": str(uuid.uuid4()),
        "owner_id": owner,
        "title": "Records",
        "status": "lobby",
        "qi": -1,
        "active": 0,
        "locked": "0",
        "settings": {"max_players": 10},
        "created_at": 1,
    }
    question = {"type": "single", "text": "Q", "time_limit_s": 30, "choices": []}
    return await store.create(game_id, owner, fields, [question], 10), game_id


async def test_a_player_record_survives_the_join_and_the_reroll_script(
    store: GameStore,
) -> None:
    pin, game_id = await new_game(store)
    lobby = GameState(game_id, "lobby", -1, None, None, 0, False)
    assert await store.state(pin) == lobby
    assert await store.state("000000") is None
    player_id = str(uuid.uuid4())
    record = PlayerRecord("Blue Fox", "blue fox", joined_at_ms=1234)
    assert (await store.join(pin, player_id, record, max_players=10)).ok
    assert await store.player(pin, player_id) == (record, None)

    # reroll_nickname.lua decodes the record, changes n/k, counts r and encodes it again
    assert (await store.reroll(pin, player_id, "red owl", "Red Owl", 3)).values == (1,)
    renamed, gone = await store.player(pin, player_id)
    assert renamed == PlayerRecord("Red Owl", "red owl", joined_at_ms=1234, rerolls=1)
    assert gone is None
    assert await store.taken_nicknames(pin, ["blue fox", "red owl"]) == {"red owl"}


async def test_an_answer_record_decodes_what_the_answer_script_wrote(store: GameStore) -> None:
    pin, game_id = await new_game(store)
    ada, bob = str(uuid.uuid4()), str(uuid.uuid4())
    for pid, name in ((ada, "Ada"), (bob, "Bob")):
        assert (await store.join(pin, pid, PlayerRecord(name, name.lower()), 10)).ok
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
    assert opened.ok, opened
    opens_at, deadline_at = opened.values
    assert await store.state(pin) == GameState(
        game_id=game_id,
        status="question",
        question_index=0,
        opens_at_ms=opens_at,
        deadline_at_ms=deadline_at,
        active=2,
        locked=False,
    )
    answer = {
        "game_id": game_id,
        "player_id": ada,
        "question_index": 0,
        "points": 1,
        "time_limit_ms": 30_000,
        "streak_bonus": True,
        "grace_ms": GRACE_MS,
        "buckets": ("1",),
    }
    submitted = await store.submit(pin, correct=True, stored=1, **answer)
    assert submitted.ok, submitted
    received_at, points = submitted.values[0], submitted.values[1]
    # Bob leaves after the start: he stays in the roster, marked gone as `left`
    removed, _ = await store.remove(pin, bob, "bob", "left")
    assert removed.ok

    state = await store.final_state(pin, 1)
    record = state.answers[0][ada]
    assert isinstance(record, AnswerRecord)
    assert (record.answer, record.correct, record.points) == (1, True, points)
    assert record.received_at_ms == received_at and record.streak_before == 0
    assert 0 <= record.elapsed_ms <= 30_000
    assert set(state.players) == {ada, bob} and state.gone == {bob: "left"}
    assert state.correct == {ada: 1} and state.distributions == [{"1": 1}]
    standing = (await store.results_for(pin, 0, [ada]))[0]
    assert (standing.answer, standing.rank, standing.correct_count) == (record, 1, 1)


def test_only_the_reasons_the_remove_script_writes_are_read_as_gone() -> None:
    assert [gone_reason(r) for r in ("left", "kicked", "banned")] == ["left", "kicked", "banned"]
    with pytest.raises(ValueError):
        gone_reason("active")


async def test_one_lease_one_holder_renewed_and_released_only_by_it(
    settings: Settings, redis_client: Redis
) -> None:
    key = f"{settings.redis_prefix}lease-test-{uuid.uuid4().hex[:8]}"
    a = Lease(redis_client, key, 5_000)
    b = Lease(redis_client, key, 5_000)
    assert await a.hold() is True
    assert await b.hold() is False  # held by a: b waits
    await redis_client.pexpire(key, 100)
    assert await a.hold() is True  # a renews its own lease for a whole lifetime
    assert await redis_client.pttl(key) > 1_000
    assert await b.release() is False  # not b's to release
    assert await redis_client.get(key) == a.owner.encode()
    assert await a.release() is True
    assert await b.hold() is True  # free again: the next to ask takes it
    assert await b.release() is True
