"""GamePlacement against the run's Redis: the set of processes holding a game's sockets
always ends up as the processes' own books say, however joins and leaves interleave,
and a message goes to the other members only (services/placement.py)."""

from __future__ import annotations

import asyncio
import random

from redis.asyncio import Redis

from classquiz.game.keys import GameKeys
from classquiz.services.placement import GamePlacement


async def test_the_set_follows_interleaved_joins_and_leaves(
    redis_client: Redis, storage: dict[str, str]
) -> None:
    prefix = f"{storage['redis_prefix']}pl"
    pin = "424242"
    procs = GameKeys(prefix, pin).procs
    placement = GamePlacement(redis_client, prefix, "proc-1")
    rng = random.Random(7)
    for round_no in range(12):
        sockets = [f"s{round_no}-{i}" for i in range(8)]
        steps = []
        for sid in sockets:
            steps.append(placement.enter(pin, sid))
            if rng.random() < 0.6:
                steps.append(placement.leave(pin, sid))
        # Leaves are only ever scheduled after their own enter, as a socket does it.
        await asyncio.gather(*steps)
        held = placement.holds(pin)
        assert bool(await redis_client.sismember(procs, "proc-1")) == held, (round_no, held)
        for sid in list(placement.local.get(pin, ())):
            await placement.leave(pin, sid)
        assert not placement.holds(pin)
        assert not await redis_client.sismember(procs, "proc-1")
    assert placement._locks == {}  # every game's lock is dropped once unused
    assert await redis_client.pttl(procs) == -2  # the empty set is gone


async def test_a_message_reaches_the_other_members_only(
    redis_client: Redis, storage: dict[str, str]
) -> None:
    prefix = f"{storage['redis_prefix']}pl"
    pin = "434343"
    one = GamePlacement(redis_client, prefix, "proc-1")
    two = GamePlacement(redis_client, prefix, "proc-2")
    listener = Redis.from_url(storage["redis_url"])
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(one.emit_channel, two.emit_channel)
    try:
        await one.enter(pin, "a")
        assert await one.emit_to_others(pin, b"alone") == 0  # local: nothing published
        await two.enter(pin, "b")
        assert await one.emit_to_others(pin, b"to two") == 1
        assert await two.emit_to_others(pin, b"to one") == 1
        await two.leave(pin, "b")
        assert await one.emit_to_others(pin, b"alone again") == 0
        heard = []
        for _ in range(20):
            message = await pubsub.get_message(timeout=0.1)
            if message:
                heard.append((message["channel"].decode(), message["data"]))
        assert heard == [(two.emit_channel, b"to two"), (one.emit_channel, b"to one")], heard
        # Without a game hash the set still expires (a game gone meanwhile).
        assert 0 < await redis_client.pttl(GameKeys(prefix, pin).procs)
    finally:
        await one.leave(pin, "a")
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await listener.aclose()
