"""Audit finding 13: names that grow under NFKC, and results that can never be stored.

A roster entry of 40 characters can become hundreds after NFKC ("ﷺ" is one
character and eighteen after it), which made the game's results unstorable
(`game_players.nickname` holds 100) and retried every 5 s forever. Lengths are
now checked after normalisation, and a snapshot that fails for a reason other
than an outage is set aside in a dead-letter hash, loudly, and not retried.
Real Redis, real PostgreSQL, real app over HTTP.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from prometheus_client import REGISTRY

from classquiz.game.nicknames import normalize_nickname
from classquiz.services.results import ResultService
from tests.support.quizzes import sample_quiz
from tests.support.results import PLAN, count_rows, finished_game
from tests.support.users import ApiUser, user_id

SET_ASIDE = "classquiz_results_set_aside_total"
EXPANDS = "\ufdfa"  # ARABIC LIGATURE SALLALLAHOU ALAYHE WASALLAM: 1 character, 18 after NFKC


def set_aside_count() -> float:
    return REGISTRY.get_sample_value(SET_ASIDE) or 0.0


async def create_game(user: ApiUser, nicknames: dict[str, Any]) -> tuple[int, Any]:
    quiz = sample_quiz()
    quiz["questions"] = quiz["questions"][:1]
    status, created = await user.request("POST", "/api/v1/quizzes", json=quiz)
    assert status == 201, created
    return await user.request(
        "POST",
        "/api/v1/games",
        json={"quiz_id": created["id"], "settings": {"nicknames": nicknames}},
    )


# ---------------------------------------------------------------- lengths after NFKC


@pytest.mark.parametrize(
    "entry",
    [
        EXPANDS * 3,  # 3 characters as sent, 54 as stored
        EXPANDS * 40,  # 40 as sent (the old limit), 720 as stored
        "Ada" + "\ufb03" * 19,  # 22 as sent, 60 after NFKC (the "ffi" ligature)
        "\u200b\u200b",  # invisible only: nothing a teacher could read
    ],
)
async def test_a_roster_entry_is_measured_after_normalisation(user: ApiUser, entry: str) -> None:
    status, body = await create_game(user, {"mode": "roster", "roster": ["Ada", entry]})
    assert status == 422, body
    assert body["error"]["code"] == "validation_error", body
    fields = [d.get("field", "") for d in body["error"].get("details", [])]
    assert any(f.startswith("settings.nicknames.roster") for f in fields), body


async def test_a_roster_that_stays_short_after_normalisation_is_accepted(user: ApiUser) -> None:
    entry = "\ufb01ona " + EXPANDS  # "fiona" + 18 characters: 24 after NFKC
    assert len(normalize_nickname(entry)) <= 40
    status, body = await create_game(user, {"mode": "roster", "roster": ["Ada", entry]})
    assert status == 201, body


# ---------------------------------------------------------------- results set aside


async def test_results_that_can_never_be_stored_are_set_aside_loudly(
    user: ApiUser, private_results: ResultService, caplog: pytest.LogCaptureFixture
) -> None:
    """A permanent error (here: a nickname past the column) is not retried forever."""
    final = finished_game(await user_id(user))
    final.players[0].nickname = normalize_nickname(EXPANDS * 6)  # 108 characters
    game_id = str(final.game_id)
    before = set_aside_count()
    with caplog.at_level(logging.ERROR, logger="classquiz.services.results"):
        assert await private_results.finish(final) is False
    assert await private_results.pending_ids() == [], "still parked: it would be retried"
    dead = await private_results.redis.hget(private_results.dead_letter_key, game_id)
    assert dead is not None and dead.decode() == final.model_dump_json()
    assert set_aside_count() == before + 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and game_id in r.getMessage()]
    assert errors, caplog.text
    assert await count_rows(final.game_id) == (0, 0, 0)  # nothing half-written

    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="classquiz.services.results"):
        assert await private_results.retry_pending() == 0
    assert not caplog.records, "a set-aside game was tried again"
    assert set_aside_count() == before + 1


async def test_a_parked_poison_game_is_set_aside_and_does_not_block_the_others(
    user: ApiUser, private_results: ResultService
) -> None:
    """Parked before the fix (or by any bug): moved aside by the retry pass, once; the
    good game parked with it is stored in the same pass."""
    owner = await user_id(user)
    poison = finished_game(owner)
    poison.players[1].nickname = "x" * 101
    good = finished_game(owner)
    redis = private_results.redis
    await redis.hset(private_results.pending_key, str(poison.game_id), poison.model_dump_json())
    await redis.hset(private_results.pending_key, str(good.game_id), good.model_dump_json())
    garbage_id = str(uuid.uuid4())
    await redis.hset(private_results.pending_key, garbage_id, b"{not json")
    before = set_aside_count()

    assert await private_results.retry_pending() == 1
    assert await private_results.pending_ids() == []
    assert await count_rows(good.game_id) == (1, 5, len(PLAN))
    assert await count_rows(poison.game_id) == (0, 0, 0)
    dead = await redis.hgetall(private_results.dead_letter_key)
    assert dead[str(poison.game_id).encode()].decode() == poison.model_dump_json()
    assert dead[garbage_id.encode()] == b"{not json"  # kept as it was, for a human
    assert set_aside_count() == before + 2

    assert await private_results.retry_pending() == 0
    assert set_aside_count() == before + 2
