"""The live room's steps, driven on the services without a socket (in-memory Notifier).

Each step of a room's life is called the way the Socket.IO layer calls it, and the
test reads what every audience was told: the host's and the players' screens depend
on exactly these messages. The state is the real one (real Redis, the run's
database; the game is created over the real REST API of the shared app, whose
Redis prefix these services share); only the transport is the in-memory one, which
is what makes these tests fast and lets them look at a step on its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from classquiz.config import Settings
from classquiz.errors import Refusal
from classquiz.runtime import Services, build_services
from classquiz.services.admission import Admission
from tests.support.notifier import InMemoryNotifier, Sent
from tests.support.quizzes import sample_quiz
from tests.support.users import ApiUser

ADDRESS = "192.0.2.7"


@pytest.fixture
async def notifier() -> InMemoryNotifier:
    return InMemoryNotifier()


@pytest.fixture
async def svc(
    server: TestServer, settings: Settings, notifier: InMemoryNotifier
) -> AsyncIterator[Services]:
    """The game services as the app builds them, speaking through `notifier`.

    `server` is required for the database connection it owns and for the REST API
    the games are created with."""
    redis = Redis.from_url(settings.require_redis_url())
    services = build_services(settings, redis, notifier)
    yield services
    await services.tasks.drain()
    await redis.aclose()


async def join(svc: Services, notifier: InMemoryNotifier, admission: Admission, sid: str) -> None:
    """The join step as the transport calls it. The socket enters the game's groups and
    gets exactly one welcome (sent in the background); both are checked here and the
    welcome taken out, so the tests read only what the others were told."""
    await svc.room.join(admission, sid)
    await svc.tasks.drain()
    assert notifier.entered[-1] == (sid, admission.pin, admission.role)
    welcomes = [(m.audience, m.target) for m in notifier.sent if m.event == "welcome"]
    assert welcomes == [("socket", sid)]
    notifier.sent = [m for m in notifier.sent if m.event != "welcome"]


async def new_game(user: ApiUser, questions: int = 2) -> dict[str, Any]:
    quiz = sample_quiz(title="Room steps")
    quiz["questions"] = quiz["questions"][:questions]
    status, created = await user.request("POST", "/api/v1/quizzes", json=quiz)
    assert status == 201, created
    status, game = await user.request("POST", "/api/v1/games", json={"quiz_id": created["id"]})
    assert status == 201, game
    return game


async def test_join_drop_reconnect_replace_and_leave_tell_the_host_each_once(
    svc: Services, notifier: InMemoryNotifier, user: ApiUser
) -> None:
    game = await new_game(user)
    pin = game["pin"]
    room = svc.room

    host = await room.authorize({"host_token": game["host_token"]}, ADDRESS)
    assert (host.role, host.pin, host.game_id) == ("host", pin, game["game_id"])
    await join(svc, notifier, host, "host-1")
    assert notifier.take() == [Sent("players", pin, "host_status", {"connected": True})]

    # join: a new player is announced to the host with the new count
    ada = await room.authorize({"pin": pin, "nickname": "Ada"}, ADDRESS)
    assert ada.role == "player" and ada.is_new and ada.nickname == "Ada"
    await join(svc, notifier, ada, "ada-1")
    player = {"player_id": ada.player_id, "nickname": "Ada"}
    assert notifier.take() == [
        Sent("host", pin, "player_joined", {"player": player, "players_count": 1})
    ]
    welcome = await room.welcome(ada)
    assert welcome["role"] == "player" and welcome["player"]["player_id"] == ada.player_id
    token = welcome["player"]["player_token"]

    # drop: the host sees the player go grey; nobody else is told
    assert await room.drop(ada) is True
    assert notifier.take() == [
        Sent("host", pin, "player_status", {"player_id": ada.player_id, "connected": False})
    ]

    # reconnect with the player token: the same player, back online, not a new join
    back = await room.authorize({"player_token": token}, ADDRESS)
    assert (back.player_id, back.is_new) == (ada.player_id, False)
    await join(svc, notifier, back, "ada-2")
    assert notifier.take() == [
        Sent("host", pin, "player_status", {"player_id": ada.player_id, "connected": True})
    ]

    # a second tab with the same token replaces the first: told, then disconnected;
    # the host sees no change (the player never went away)
    again = await room.authorize({"player_token": token}, ADDRESS)
    await join(svc, notifier, again, "ada-3")
    assert notifier.take() == [Sent("socket", "ada-2", "replaced", {})]
    assert notifier.disconnected == ["ada-2"]
    assert await room.drop(back) is False  # the replaced socket's drop changes nothing
    assert notifier.take() == []

    # leave: the host is told once, with the count going down
    await svc.room.leave(pin, ada.player_id)
    assert notifier.take() == [
        Sent("host", pin, "player_left", {"player": player, "players_count": 0})
    ]
    await svc.room.leave(pin, ada.player_id)  # a second leave is a no-op
    assert notifier.take() == []


async def test_host_commands_and_dispose_reach_the_whole_room(
    svc: Services, notifier: InMemoryNotifier, user: ApiUser
) -> None:
    game = await new_game(user, questions=1)
    pin, game_id = game["pin"], game["game_id"]
    host = await svc.room.authorize({"host_token": game["host_token"]}, ADDRESS)
    await join(svc, notifier, host, "host-1")
    ada = await svc.room.authorize({"pin": pin, "nickname": "Ada"}, ADDRESS)
    await join(svc, notifier, ada, "ada-1")
    notifier.take()

    assert await svc.room.start_game(pin, game_id) == {"question_index": 0}
    started = [(m.audience, m.event) for m in notifier.take()]
    assert started == [("game", "question_started")]

    await svc.room.end_question(pin, game_id)
    ended = [m for m in notifier.take() if m.event == "question_ended"]
    assert [(m.audience, m.target) for m in ended] == [("game", pin)]
    assert ended[0].data["question_index"] == 0 and ended[0].data["players_count"] == 1

    # the last next_question finishes the game: everyone gets game_finished, once
    assert await svc.room.next_question(pin, game_id) == {"finished": True}
    finished = [m for m in notifier.take() if m.event == "game_finished"]
    assert [(m.audience, m.target) for m in finished] == [("game", pin)]
    assert finished[0].data["game_id"] == game_id

    with pytest.raises(Refusal) as refused:
        await svc.room.end_game(pin, game_id)
    assert refused.value.code == "wrong_state"
    assert notifier.take() == []


async def test_a_refused_join_changes_nothing_and_tells_nobody(
    svc: Services, notifier: InMemoryNotifier, user: ApiUser
) -> None:
    game = await new_game(user, questions=1)
    pin = game["pin"]
    with pytest.raises(Refusal) as refused:
        await svc.room.authorize({"pin": pin, "nickname": "  "}, ADDRESS)
    assert refused.value.code == "nickname_invalid"
    with pytest.raises(Refusal) as forged:
        await svc.room.authorize({"player_token": "not-a-token"}, ADDRESS)
    assert forged.value.code == "invalid_token"
    assert notifier.sent == [] and notifier.disconnected == []
    assert await svc.room.store.roster(pin) == []


async def test_the_host_drops_and_comes_back_and_a_kick_reaches_the_right_socket(
    svc: Services, notifier: InMemoryNotifier, user: ApiUser
) -> None:
    game = await new_game(user, questions=1)
    pin, game_id = game["pin"], game["game_id"]
    host = await svc.room.authorize({"host_token": game["host_token"]}, ADDRESS)
    await join(svc, notifier, host, "host-1")
    ada = await svc.room.authorize({"pin": pin, "nickname": "Ada"}, ADDRESS)
    await join(svc, notifier, ada, "ada-1")
    notifier.take()

    # the host's drop: the players see the presenter go; its return: they see it back
    assert await svc.room.drop(host) is True
    assert notifier.take() == [Sent("players", pin, "host_status", {"connected": False})]
    again = await svc.room.authorize({"host_token": game["host_token"]}, ADDRESS)
    await join(svc, notifier, again, "host-2")
    assert notifier.take() == [Sent("players", pin, "host_status", {"connected": True})]

    # a ban: the banned socket is told why and closed, the host sees the player leave
    assert await svc.room.kick_player(pin, game_id, ada.player_id, True) == {}
    player = {"player_id": ada.player_id, "nickname": "Ada"}
    assert notifier.take() == [
        Sent("host", pin, "player_left", {"player": player, "players_count": 0}),
        Sent("socket", "ada-1", "kicked", {"reason": "banned"}),
    ]
    assert notifier.disconnected == ["ada-1"]
    with pytest.raises(Refusal) as banned:
        await svc.room.authorize({"pin": pin, "nickname": "Ada"}, ADDRESS)
    assert banned.value.code == "banned"
    with pytest.raises(Refusal) as unknown:
        await svc.room.kick_player(pin, game_id, ada.player_id, False)
    assert unknown.value.code == "player_not_found"
