"""RESULTS_RETENTION_DAYS: stored results are deleted once their game finished longer ago.

A school keeps pupils' answers only as long as it needs them. The purge deletes a
game's players and answers as its host's deletion would (the tombstone stays, so
nothing brings them back), leaves younger games alone, and runs by itself in the
results loop. The games here finished in 1999, so no other test's games (all of
them later) are ever old enough to go.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from classquiz.db.engine import database
from classquiz.runtime import Services
from classquiz.services import results_store as store
from classquiz.services.results import ResultService
from tests.support.results import PLAN, count_rows, finished_game, game_row
from tests.support.users import ApiUser, user_id

OLD = datetime(1999, 1, 1, 9, 0, tzinfo=UTC)
RECENT = datetime(1999, 12, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2000, 1, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def retaining(svc: Services) -> AsyncIterator[ResultService]:
    """A ResultService keeping results 100 days, on its own Redis prefix (its own lease)."""
    prefix = f"{svc.settings.redis_prefix}:r{uuid.uuid4().hex[:8]}"
    results = ResultService(svc.redis, prefix, svc.signer, retention_days=100)
    yield results
    await results.stop()


async def test_results_older_than_the_retention_period_go(
    user: ApiUser, retaining: ResultService
) -> None:
    owner = await user_id(user)
    old, recent = finished_game(owner, finished_at=OLD), finished_game(owner, finished_at=RECENT)
    for game in (old, recent):
        assert await retaining.finish(game) is True
    # Teachers are told when each game's results will go.
    listed = await retaining.list_finished(owner, 20, 0)
    expiry = {item.game_id: item.expires_at for item in listed.items}
    assert expiry == {
        old.game_id: OLD + timedelta(days=100),
        recent.game_id: RECENT + timedelta(days=100),
    }

    assert await retaining.purge_expired(NOW) >= 1  # more if another test's 1999 game waits
    assert await count_rows(old.game_id) == (1, 0, 0)  # the tombstone only
    assert (await game_row(old.game_id)).deleted_at is not None
    assert await count_rows(recent.game_id) == (1, 5, len(PLAN))
    status, listed = await user.request("GET", "/api/v1/results")
    assert status == 200
    assert [item["game_id"] for item in listed["items"]] == [str(recent.game_id)]
    # Deleted once: the next pass finds nothing more, and the old snapshot cannot return.
    assert await retaining.purge_expired(NOW) == 0
    assert await retaining.finish(old) is True
    assert await count_rows(old.game_id) == (1, 0, 0)
    # A year on, the younger game's time is up too.
    assert await retaining.purge_expired(NOW + timedelta(days=365)) >= 1
    assert await count_rows(recent.game_id) == (1, 0, 0)


async def test_set_aside_snapshots_expire_too(svc: Services, retaining: ResultService) -> None:
    """A game the database refused for good sits in the dead-letter hash with its pupils'
    answers: the retention period ends it as well (by the end the snapshot records);
    a younger one stays, and so does one that does not say when it ended."""
    old, recent = finished_game(uuid.uuid4(), finished_at=OLD), finished_game(uuid.uuid4(), RECENT)
    dead = retaining.dead_letter_key
    await svc.redis.hset(
        dead,
        mapping={
            str(old.game_id): old.model_dump_json(),
            str(recent.game_id): recent.model_dump_json(),
            "broken": b"\xff not json",
            "undated": b'{"game_id": "x"}',
        },
    )
    assert await retaining.purge_expired(NOW) is not None
    left = {key.decode() for key in await svc.redis.hkeys(dead)}
    assert left == {str(recent.game_id), "broken", "undated"}
    await svc.redis.delete(dead)


async def test_one_process_purges_at_a_time(svc: Services, retaining: ResultService) -> None:
    """Another process holding the purge lease: this one does nothing and says so (None),
    and the retries of parked results do not wait for a purge (a lease of their own)."""
    other = ResultService(svc.redis, retaining.key_prefix, svc.signer, retention_days=100)
    assert await other.purge_lease.hold()
    try:
        assert await retaining.purge_expired(NOW) is None
        assert await retaining.lease.hold()  # the retry lease is free
        await retaining.lease.release()
    finally:
        await other.purge_lease.release()
    assert await retaining.purge_expired(NOW) is not None


async def test_without_a_retention_period_nothing_goes(user: ApiUser, svc: Services) -> None:
    keeping = ResultService(svc.redis, f"{svc.settings.redis_prefix}:k", svc.signer)
    old = finished_game(await user_id(user), finished_at=OLD)
    await keeping.finish(old)
    listed = await keeping.list_finished(old.owner_id, 20, 0)
    assert [item.expires_at for item in listed.items if item.game_id == old.game_id] == [None]
    assert await keeping.purge_expired(NOW + timedelta(days=36_500)) is None
    assert await count_rows(old.game_id) == (1, 5, len(PLAN))
    # Gone by hand, so that no later purge in this run counts it.
    assert await store.delete_game(database, old.game_id, old.owner_id)


async def test_the_results_loop_purges_by_itself(user: ApiUser, svc: Services) -> None:
    """The running loop (as the app starts it) purges without being asked: with the
    period ending in mid-1999, the January game goes and the December one stays."""
    days = (datetime.now(UTC) - datetime(1999, 6, 1, tzinfo=UTC)).days
    prefix = f"{svc.settings.redis_prefix}:l{uuid.uuid4().hex[:8]}"
    results = ResultService(svc.redis, prefix, svc.signer, retention_days=days)
    owner = await user_id(user)
    old, recent = finished_game(owner, finished_at=OLD), finished_game(owner, finished_at=RECENT)
    for game in (old, recent):
        await results.finish(game)
    results.start(interval_s=0.05)
    try:
        for _ in range(400):  # up to 20 s on a busy machine
            if (await game_row(old.game_id)).deleted_at is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        await results.stop()
    assert await count_rows(old.game_id) == (1, 0, 0)
    assert await count_rows(recent.game_id) == (1, 5, len(PLAN))
