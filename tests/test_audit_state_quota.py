"""Audit finding 6: quotas on live games and on the per-process quiz cache.

One account created 40 live games in under two seconds, each holding its quiz
snapshot in Redis for hours, and every process kept up to 1,000 snapshots in
memory whatever their size. Live games per account are capped (a setting, a
clear 409), and the cache is bounded by the bytes of the snapshots it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from classquiz.config import Settings
from classquiz.game.keys import pin_key
from classquiz.game.store import GameStore
from classquiz.services.live import LiveGames
from tests.support.apps import separate_app
from tests.support.sockets import Recorder
from tests.support.users import ApiUser, register_user

CAP = 5
COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


async def new_quiz(owner: ApiUser) -> str:
    quiz = {
        "title": "Quota",
        "questions": [
            {
                "type": "single",
                "text": "Pick",
                "time_limit_s": 30,
                "choices": [{"text": "A", "correct": True}, {"text": "B"}],
            }
        ],
    }
    status, created = await owner.request("POST", "/api/v1/quizzes", json=quiz)
    assert status == 201, created
    return str(created["id"])


async def start(owner: ApiUser, quiz_id: str) -> tuple[int, Any]:
    return await owner.request("POST", "/api/v1/games", json={"quiz_id": quiz_id})


async def test_live_games_per_account_are_capped(
    server: TestServer, storage: dict[str, str]
) -> None:
    prefix = storage["redis_prefix"] + "quota"
    async with separate_app(storage, redis_prefix=prefix, max_live_games_per_user=CAP) as app:
        url = str(app.make_url("")).rstrip("/")
        async with ClientSession(url) as http:
            owner, other = await register_user(http), await register_user(http)
            quiz_id = await new_quiz(owner)

            # A burst of 40 concurrent creations: exactly CAP get through.
            answers = await asyncio.gather(*(start(owner, quiz_id) for _ in range(40)))
            created = [body for status, body in answers if status == 201]
            refused = [(status, body) for status, body in answers if status != 201]
            assert len(created) == CAP, [s for s, _ in answers]
            for status, body in refused:
                assert status == 409, body
                assert body["error"]["code"] == "too_many_live_games", body
                assert str(CAP) in body["error"]["message"]
            # another account has its own quota
            assert (await start(other, await new_quiz(other)))[0] == 201

            # Ending a game frees its slot...
            host = await Recorder(url).connect({"host_token": created[0]["host_token"]})
            await host.wait("welcome")
            assert (await host.call("end_game"))["ok"]
            await host.close()
            status, fresh = await start(owner, quiz_id)
            assert status == 201, fresh
            assert (await start(owner, quiz_id))[0] == 409

            # ...and so does a game whose live state expired.
            redis = Redis.from_url(storage["redis_url"])
            try:
                gone = GameStore(redis, prefix, 60).keys(created[1]["pin"])
                await redis.delete(gone.game, gone.quiz, pin_key(prefix, created[1]["pin"]))
            finally:
                await redis.aclose()
            assert (await start(owner, quiz_id))[0] == 201
            assert (await start(owner, quiz_id))[0] == 409


def quiz_of_size(approx_bytes: int) -> list[dict[str, Any]]:
    text = "x" * 900
    count = max(1, approx_bytes // 1000)
    return [
        {
            "type": "single",
            "text": text,
            "time_limit_s": 10,
            "choices": [{"text": "A", "correct": True}, {"text": "B"}],
            "shown": [0, 1],
        }
        for _ in range(count)
    ]


async def test_the_quiz_cache_is_bounded_by_bytes(settings: Settings) -> None:
    redis = Redis.from_url(settings.require_redis_url())
    prefix = settings.redis_prefix + "cache"
    store = GameStore(redis, prefix, 60)
    budget = 100_000
    live = LiveGames(store, max_bytes=budget)
    owner = str(uuid.uuid4())

    async def new_game(approx_bytes: int) -> str:
        game_id = str(uuid.uuid4())
        fields = {
            "id": game_id,
            "quiz_id": str(uuid.uuid4()),
            "owner_id": owner,
            "title": "Cache",
            "status": "lobby",
            "qi": -1,
            "active": 0,
            "settings": {"max_players": 10},
            "created_at": 1,
        }
        return await store.create(game_id, owner, fields, quiz_of_size(approx_bytes), 100)

    try:
        pins = [await new_game(40_000) for _ in range(4)]
        for pin in pins:
            game = await live.get(pin)
            assert game.snapshot_bytes > 35_000
            assert live.cached_bytes <= budget
        # two 40 kB snapshots fit in 100 kB; the two used longest ago were dropped
        assert live.cached_pins() == pins[2:]
        # a hit makes a game the most recently used: the next one evicts the other
        await live.get(pins[2])
        await live.get(pins[0])
        assert live.cached_pins() == [pins[2], pins[0]]
        # a snapshot larger than the whole budget is served but not kept
        huge = await new_game(150_000)
        assert (await live.get(huge)).question_count == 150
        assert huge not in live.cached_pins() and live.cached_bytes <= budget
    finally:
        async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
            await redis.delete(key)
        await redis.aclose()


def compose_redis_flags() -> dict[str, str]:
    """The `--flag value` pairs the compose file starts Redis with."""
    command = yaml.safe_load(COMPOSE.read_text())["services"]["redis"]["command"]
    assert command[0] == "redis-server", command
    return {flag[2:]: value for flag, value in zip(command[1::2], command[2::2], strict=True)}


@pytest.fixture
async def capped_redis() -> AsyncIterator[str]:
    """A Redis of our own with the compose file's eviction policy (the cap is set later)."""
    policy = compose_redis_flags()["maxmemory-policy"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as workdir:
        process = await asyncio.create_subprocess_exec(
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
            "--maxmemory-policy",
            policy,
            stdout=asyncio.subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            client = Redis.from_url(url)
            for _ in range(100):
                with contextlib.suppress(Exception):
                    if await client.ping():
                        break
                await asyncio.sleep(0.05)
            await client.aclose()
            yield url
        finally:
            process.terminate()
            await process.wait()


def test_compose_caps_redis_memory_without_eviction() -> None:
    flags = compose_redis_flags()
    assert flags["maxmemory-policy"] == "noeviction"
    assert flags["maxmemory"].startswith("${REDIS_MAXMEMORY:-"), flags


async def test_a_full_redis_refuses_new_games_and_keeps_running_ones(
    server: TestServer, storage: dict[str, str], capped_redis: str
) -> None:
    big_quiz = {
        "title": "Big",
        "questions": [
            {
                "type": "single",
                "text": f"{i} " + "q" * 490,
                "time_limit_s": 30,
                "choices": [{"text": c * 150, "correct": c == "a"} for c in "abcd"],
            }
            for i in range(200)
        ],
    }
    prefix = storage["redis_prefix"] + "full"
    redis = Redis.from_url(capped_redis)
    async with separate_app(storage, redis_url=capped_redis, redis_prefix=prefix) as app:
        url = str(app.make_url("")).rstrip("/")
        async with ClientSession(url) as http:
            owner = await register_user(http)
            status, quiz = await owner.request("POST", "/api/v1/quizzes", json=big_quiz)
            assert status == 201, quiz
            used = int((await redis.info("memory"))["used_memory"])
            await redis.config_set("maxmemory", used + 3 * 1024 * 1024)
            created: list[dict[str, Any]] = []
            for _ in range(100):
                status, body = await start(owner, quiz["id"])
                if status != 201:
                    break
                created.append(body)
            assert status == 503, body
            assert body["error"]["code"] == "live_storage_full", body
            assert 3 <= len(created) < 100, len(created)
            # nothing of the running games was evicted to make room
            store = GameStore(redis, prefix, 60)
            for game in created:
                keys = store.keys(game["pin"])
                assert await redis.exists(keys.game, keys.quiz, pin_key(prefix, game["pin"])) == 3
                async with http.get(f"/api/v1/games/{game['pin']}") as resp:
                    assert resp.status == 200
    await redis.aclose()
