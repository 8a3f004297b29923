"""The roster picker's data (issue 10 follow-ups): `GET /api/v1/games/{pin}` lists the
class list's free names in roster mode, only to someone who may join. A game with a
password shows them only to the right password; a wrong one is refused, shows nothing
and counts towards the same failure limit as a wrong join password. Real server (with
small limits), real Redis, real Socket.IO handshakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from tests.support.apps import separate_app
from tests.support.limits import FAILURES, Limited, limited_settings, new_address
from tests.support.users import register_user

ROSTER = ["Zoë Adams", "ben  carter", "Ada Lovelace", "Cem Yılmaz"]


@pytest.fixture(scope="module")
async def app(server: TestServer, storage: dict[str, str]) -> AsyncIterator[Limited]:
    async with separate_app(storage, **limited_settings(storage)) as test_server:
        url = str(test_server.make_url("")).rstrip("/")
        async with ClientSession(url) as http:
            token = (await register_user(http)).token
        yield Limited(test_server, token)


@pytest.fixture
async def http(app: Limited) -> AsyncIterator[ClientSession]:
    async with ClientSession(app.url) as session:
        yield session


async def look_up(
    http: ClientSession, pin: str, address: str, password: str | None = None
) -> tuple[int, Any]:
    params = {} if password is None else {"password": password}
    async with http.get(
        f"/api/v1/games/{pin}", params=params, headers={"X-Forwarded-For": address}
    ) as resp:
        return resp.status, await resp.json()


def roster_settings(**extra: Any) -> dict[str, Any]:
    return {
        "nicknames": {"mode": "roster", "roster": ROSTER, **extra.pop("nicknames", {})},
        **extra,
    }


async def test_the_free_names_of_the_class_list(app: Limited, http: ClientSession) -> None:
    game = await app.game(http, **roster_settings())
    status, info = await look_up(http, game["pin"], new_address())
    assert status == 200, info
    # As players will be shown (normalised: one space), sorted case-insensitively.
    assert info["nicknames"]["roster_available"] == [
        "Ada Lovelace",
        "ben carter",
        "Cem Yılmaz",
        "Zoë Adams",
    ]
    ada, refused = await app.handshake(
        {"pin": game["pin"], "nickname": "ada lovelace"}, new_address()
    )
    try:
        assert refused is None, refused
        status, info = await look_up(http, game["pin"], new_address())
        assert info["nicknames"]["roster_available"] == ["ben carter", "Cem Yılmaz", "Zoë Adams"]
        # Whoever may not join (the game is locked) sees no list.
        host, _ = await app.handshake({"host_token": game["host_token"]}, new_address())
        assert (await host.call("lock_game", {"locked": True}))["ok"]
        status, info = await look_up(http, game["pin"], new_address())
        assert status == 200 and info["nicknames"]["roster_available"] is None
        await host.close()
    finally:
        await ada.close()


async def test_the_teacher_can_turn_the_picker_off(app: Limited, http: ClientSession) -> None:
    game = await app.game(http, **roster_settings(nicknames={"roster_picker": False}))
    status, info = await look_up(http, game["pin"], new_address())
    assert status == 200 and info["nicknames"]["mode"] == "roster"
    assert info["nicknames"]["roster_available"] is None
    free = await app.game(http)
    status, info = await look_up(http, free["pin"], new_address())
    assert status == 200 and info["nicknames"]["roster_available"] is None


async def test_a_wrong_password_reveals_nothing_and_counts_as_a_failure(
    app: Limited, http: ClientSession
) -> None:
    game = await app.game(http, password="owl-42", **roster_settings())
    guesser, pupil = new_address(), new_address()

    status, info = await look_up(http, game["pin"], guesser)
    assert status == 200 and info["requires_password"] is True
    assert info["nicknames"]["roster_available"] is None

    for _ in range(FAILURES):
        status, body = await look_up(http, game["pin"], guesser, "owl-41")
        assert status == 403, body
        assert body["error"]["code"] == "wrong_password"
        assert "nicknames" not in body and "Ada Lovelace" not in str(body)
    # The same limiter as a wrong join password: the address is now blocked, over REST
    # (even with the right password) and for new joins over Socket.IO.
    status, body = await look_up(http, game["pin"], guesser, "owl-42")
    assert status == 429 and body["error"]["code"] == "rate_limited", body
    client, refused = await app.handshake(
        {"pin": game["pin"], "nickname": "Ada Lovelace", "password": "owl-42"}, guesser
    )
    await client.close()
    assert refused is not None and refused["code"] == "rate_limited", refused

    # Someone who knows the password sees the list.
    status, info = await look_up(http, game["pin"], pupil, "owl-42")
    assert status == 200, info
    assert "Ada Lovelace" in info["nicknames"]["roster_available"]
