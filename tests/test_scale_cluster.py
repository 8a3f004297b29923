"""The live state on a real Redis Cluster (issue 13): three masters from Debian's
`redis-server` on loopback, two `serve` processes on it (REDIS_URL=redis+cluster://),
games played through both, results stored exactly once in PostgreSQL.

On a cluster every script must stay in one hash slot; keys.py groups games in
buckets so that a game's keys and the indexes its scripts write (deadlines, unparked
results, PIN reservation, the owner's games) share one. A CROSSSLOT error anywhere
in creating, joining, answering, revealing, deadline firing or finishing fails these
games.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis import Redis as SyncRedis

from tests.support.cluster import redis_cluster
from tests.support.database import stored_rows
from tests.support.play import create_game, play, stored_once
from tests.support.processes import ServerProcess, running_servers
from tests.support.quizzes import sample_quiz
from tests.support.sockets import Recorder
from tests.support.users import register_user


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int]]:
    with redis_cluster(tmp_path_factory.mktemp("cluster")) as ports:
        yield ports


@pytest.fixture(scope="module")
async def cluster_pair(
    cluster: list[int], storage: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    on_cluster = {**storage, "redis_url": f"redis+cluster://127.0.0.1:{cluster[0]}"}
    async with running_servers(on_cluster, tmp_path_factory.mktemp("cl"), "A", "B") as (a, b):
        yield a, b


async def test_games_play_through_two_processes_on_a_redis_cluster(
    cluster: list[int],
    cluster_pair: tuple[ServerProcess, ServerProcess],
    storage: dict[str, str],
) -> None:
    a, b = cluster_pair
    assert a.http is not None and b.http is not None
    owner = await register_user(a.http)
    other = await register_user(b.http)
    # A game local to A, one spanning A and B, one local to B (another owner, so
    # another bucket of the cluster), played at once.
    played = await asyncio.gather(
        play(a.url, [a.url] * 4, owner),
        play(a.url, [a.url, b.url, b.url], owner, questions=3),
        play(b.url, [b.url] * 3, other),
    )
    for (game, players, _), who in zip(played, (owner, owner, other), strict=True):
        await stored_once(who, storage, game["game_id"], len(players))
    rows = await asyncio.to_thread(stored_rows, storage["database_url"], played[1][0]["game_id"])
    assert rows == (1, 3, 9), rows  # every answer of the spanning game, once

    # The live state really is spread: more than one master holds keys.
    sizes = [SyncRedis(host="127.0.0.1", port=port).dbsize() for port in cluster]
    assert sum(1 for size in sizes if size) >= 2, sizes


async def test_a_deadline_ends_a_question_on_a_redis_cluster(
    cluster_pair: tuple[ServerProcess, ServerProcess],
    storage: dict[str, str],
) -> None:
    """Nobody answers: the question ends at its deadline (the per-bucket deadlines index),
    and the game is finished and stored."""
    a, b = cluster_pair
    assert b.http is not None
    owner = await register_user(b.http)
    game = await create_game(owner, [{**sample_quiz()["questions"][0], "time_limit_s": 5}])
    host = await Recorder(b.url).connect({"host_token": game["host_token"]})
    here = await Recorder(b.url).connect({"pin": game["pin"], "nickname": "Here"})
    there = await Recorder(a.url).connect({"pin": game["pin"], "nickname": "There"})
    try:
        await host.wait("player_joined", count=2)
        assert (await host.call("start_game"))["ok"]
        for p in (here, there):
            await p.wait("question_started")
        for rec in (host, here, there):
            ended = await rec.wait("question_ended", timeout=15)
            assert ended["answered"] == 0, ended
        for p in (here, there):
            assert (await p.wait("your_result"))["answered"] is False
        assert (await host.call("next_question")) == {"ok": True, "finished": True}
        for p in (here, there):
            await p.wait("final_result")
    finally:
        await asyncio.gather(*(c.close() for c in (host, here, there)), return_exceptions=True)
    await stored_once(owner, storage, game["game_id"], 2)


def test_the_cluster_harness_cleans_up(tmp_path: Path) -> None:
    """The nodes a test starts are gone after it (no stray redis-server on its ports)."""
    with redis_cluster(tmp_path) as ports:
        assert SyncRedis(host="127.0.0.1", port=ports[0]).cluster("info")["cluster_state"] == "ok"
    for port in ports:
        with pytest.raises(Exception):  # noqa: B017 (any connection error)
            SyncRedis(host="127.0.0.1", port=port, socket_connect_timeout=1).ping()
