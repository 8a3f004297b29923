"""Room protection and tokens (SPEC §4, §5), played by hostile clients over real sockets.

Refusals such as `invalid_token`, `wrong_password` and `game_not_found` count
against the client address, so these tests run against their own app (own
port, own Redis prefix) that trusts 127.0.0.1 as a proxy: every test speaks
from its own made-up address in `X-Forwarded-For`, and never blocks 127.0.0.1
for the rest of the run.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

import classquiz
from classquiz.config import Settings
from classquiz.services.tokens import ACCESS, HOST, PLAYER, TokenSigner
from tests.support.apps import separate_app
from tests.support.limits import new_address
from tests.support.live import SocketGroup, create_game
from tests.support.quizzes import sample_quiz
from tests.support.sockets import Recorder

SECRET = "test-secret-key-that-is-long-enough"
SPEC_REFUSALS = {
    "game_not_found",
    "game_over",
    "game_locked",
    "game_full",
    "wrong_password",
    "nickname_taken",
    "nickname_invalid",
    "nickname_not_allowed",
    "banned",
    "rate_limited",
    "invalid_token",
}
HOST_EVENTS: dict[str, dict[str, Any]] = {
    "start_game": {},
    "end_question": {},
    "next_question": {},
    "end_game": {},
    "kick_player": {"player_id": "x"},
    "lock_game": {"locked": True},
    "get_leaderboard": {},
}
PLAYER_EVENTS: dict[str, dict[str, Any]] = {
    "submit_answer": {"question_index": 0, "answer": 1},
    "reroll_nickname": {},
    "leave": {},
}
# -- a separate app, behind a "proxy" -------------------------------------------------------------


class Room:
    """One test's view of the separate app: a logged-in user, its address, its sockets."""

    def __init__(self, url: str, http: ClientSession, token: str, settings: Settings) -> None:
        self.url = url
        self.http = http
        self.token = token
        self.settings = settings
        self.address = new_address()
        self.sockets = SocketGroup(url, address=self.address)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Forwarded-For": self.address}

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        async with self.http.request(method, path, headers=headers, **kwargs) as resp:
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.read()

    async def game(self, settings: dict[str, Any] | None = None, questions: int = 1) -> dict:
        return await create_game(
            self, title="Room security", first=questions, settings=settings or {}
        )

    def client(self, address: str | None = None) -> Recorder:
        return self.sockets.client(address=address)

    async def host(self, game: dict[str, Any]) -> Recorder:
        return await self.sockets.host(game)

    async def join(self, auth: dict[str, Any]) -> tuple[Recorder, dict[str, Any]]:
        return await self.sockets.join(auth)

    async def refusal(self, auth: Any, address: str | None = None) -> str:
        return await self.sockets.refused(auth, address=address)

    async def info(self, pin: str) -> dict[str, Any]:
        async with self.http.get(
            f"/api/v1/games/{pin}", headers={"X-Forwarded-For": self.address}
        ) as resp:
            assert resp.status == 200
            return await resp.json()

    async def finish_and_store(self, host: Recorder, game: dict[str, Any]) -> None:
        ack = await host.call("end_game")
        assert ack["ok"], ack
        for _ in range(100):
            status, _body = await self.request("GET", f"/api/v1/results/{game['game_id']}")
            if status == 200:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the results were not stored")


async def register(http: ClientSession) -> str:
    """A new user's access token (hashing passwords is slow: once per module)."""
    name = "r" + uuid.uuid4().hex[:10]
    password = "correct horse battery"
    async with http.post(
        "/api/v1/users/register",
        json={"email": f"{name}@example.org", "username": name, "password": password},
    ) as resp:
        assert resp.status == 201, await resp.text()
    async with http.post("/api/v1/users/login", json={"login": name, "password": password}) as resp:
        assert resp.status == 200, await resp.text()
        return (await resp.json())["access_token"]


@pytest.fixture(scope="module")
async def room_server(
    server: TestServer, storage: dict[str, str]
) -> AsyncIterator[tuple[TestServer, str, str]]:
    async with separate_app(
        storage,
        redis_prefix=storage["redis_prefix"] + "rooms",
        trusted_proxies=["127.0.0.1/32"],
        rate_limit_failures=12,
        socket_events_per_s=1000,
        socket_events_drop_per_s=5000,
        max_players_per_game=3000,
    ) as test_server:
        url = str(test_server.make_url("")).rstrip("/")
        async with ClientSession(url) as http:
            tokens = await asyncio.gather(register(http), register(http))
        yield test_server, tokens[0], tokens[1]


@pytest.fixture
async def room(room_server: tuple[TestServer, str, str]) -> AsyncIterator[Room]:
    test_server, token, _ = room_server
    url = str(test_server.make_url("")).rstrip("/")
    settings: Settings = test_server.app[classquiz.SERVICES].settings
    async with ClientSession(url) as http:
        kit = Room(url, http, token, settings)
        async with kit.sockets:
            yield kit


@pytest.fixture
def stranger(room_server: tuple[TestServer, str, str]) -> dict[str, str]:
    """Authorization of another user."""
    return {"Authorization": f"Bearer {room_server[2]}"}


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, SECRET, algorithms=["HS256"])


def tamper(token: str, **changes: Any) -> str:
    """The token with its payload edited and the original signature kept."""
    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(changes)
    raw = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{header}.{raw}.{signature}"


def code(ack: dict[str, Any]) -> str | None:
    return None if ack.get("ok") else ack["error"]["code"]


# -- room protection ------------------------------------------------------------------------------


async def test_join_password(room: Room) -> None:
    game = await room.game({"password": "tulip-42"})
    pin = game["pin"]
    info = await room.info(pin)
    assert info["requires_password"] is True
    assert "tulip" not in json.dumps(info)
    assert await room.refusal({"pin": pin, "nickname": "Ada"}) == "wrong_password"
    for wrong in ("tulip-43", "TULIP-42", "", 12345, ["tulip-42"], None):
        auth = {"pin": pin, "nickname": "Ada", "password": wrong}
        assert await room.refusal(auth) == "wrong_password", wrong
    _, welcome = await room.join({"pin": pin, "nickname": "Ada", "password": "tulip-42"})
    assert welcome["player"]["nickname"] == "Ada"
    assert "tulip" not in json.dumps(welcome)
    # the password is not needed to come back with the token
    back = await room.client().connect({"player_token": welcome["player"]["player_token"]})
    assert (await back.wait("welcome"))["player"]["player_id"] == welcome["player"]["player_id"]


async def test_lock_game_refuses_new_players_only(room: Room) -> None:
    game = await room.game()
    pin = game["pin"]
    host = await room.host(game)
    _, ada = await room.join({"pin": pin, "nickname": "Ada"})
    assert await host.call("lock_game", {"locked": True}) == {"ok": True, "locked": True}
    assert (await room.info(pin))["accepting_players"] is False
    assert await room.refusal({"pin": pin, "nickname": "Bob"}) == "game_locked"
    back = await room.client().connect({"player_token": ada["player"]["player_token"]})
    assert (await back.wait("welcome"))["player"]["nickname"] == "Ada"
    assert await host.call("lock_game", {"locked": False}) == {"ok": True, "locked": False}
    _, bob = await room.join({"pin": pin, "nickname": "Bob"})
    assert bob["player"]["nickname"] == "Bob"


async def test_lock_on_start(room: Room) -> None:
    game = await room.game({"lock_on_start": True})
    pin = game["pin"]
    host = await room.host(game)
    ada_socket, ada = await room.join({"pin": pin, "nickname": "Ada"})
    assert (await host.call("start_game"))["ok"]
    await ada_socket.wait("question_started")
    assert (await room.info(pin))["accepting_players"] is False
    assert await room.refusal({"pin": pin, "nickname": "Late"}) == "game_locked"
    await ada_socket.close()
    back = await room.client().connect({"player_token": ada["player"]["player_token"]})
    welcome = await back.wait("welcome")
    assert welcome["game"]["status"] == "question" and welcome["answered"] is False
    # without lock_on_start, latecomers may join a running game
    open_game = await room.game()
    open_host = await room.host(open_game)
    assert (await open_host.call("start_game"))["ok"]
    _, late = await room.join({"pin": open_game["pin"], "nickname": "Late"})
    assert late["game"]["status"] == "question"


async def test_max_players_and_game_full(room: Room) -> None:
    game = await room.game({"max_players": 2})
    pin = game["pin"]
    host = await room.host(game)
    ada_socket, _ = await room.join({"pin": pin, "nickname": "Ada"})
    bob_socket, bob = await room.join({"pin": pin, "nickname": "Bob"})
    assert (await room.info(pin))["accepting_players"] is False
    assert await room.refusal({"pin": pin, "nickname": "Cyd"}) == "game_full"
    # a dropped connection keeps its seat: the player comes back even though the game is full
    await bob_socket.close()
    assert await room.refusal({"pin": pin, "nickname": "Cyd"}) == "game_full"
    back = await room.client().connect({"player_token": bob["player"]["player_token"]})
    assert (await back.wait("welcome"))["player"]["nickname"] == "Bob"
    # leaving frees the seat
    assert await ada_socket.call("leave") == {"ok": True}
    await host.wait("player_left")
    _, cyd = await room.join({"pin": pin, "nickname": "Cyd"})
    assert cyd["game"]["players_count"] == 2
    # the server's own cap: 422 above MAX_PLAYERS_PER_GAME (3000 in this app)
    quiz = sample_quiz()
    quiz["questions"] = quiz["questions"][:1]
    _, created = await room.request("POST", "/api/v1/quizzes", json=quiz)
    body = {"quiz_id": created["id"], "settings": {"max_players": 3001}}
    status, error = await room.request("POST", "/api/v1/games", json=body)
    assert status == 422, error


async def test_kick_without_ban(room: Room) -> None:
    game = await room.game()
    pin = game["pin"]
    host = await room.host(game)
    ada_socket, ada = await room.join({"pin": pin, "nickname": "Ada"})
    player_id = ada["player"]["player_id"]
    ack = await host.call("kick_player", {"player_id": player_id})
    assert ack == {"ok": True}
    assert await ada_socket.wait("kicked") == {"reason": "kicked"}
    left = await host.wait("player_left")
    assert left["player"]["player_id"] == player_id and left["players_count"] == 0
    for _ in range(50):
        if not ada_socket.client.connected:
            break
        await asyncio.sleep(0.05)
    assert not ada_socket.client.connected
    token = ada["player"]["player_token"]
    assert await room.refusal({"player_token": token}) == "invalid_token"
    # the nickname is free again; the person joins as a new player
    _, again = await room.join({"pin": pin, "nickname": "ADA"})
    assert again["player"]["player_id"] != player_id
    assert code(await host.call("kick_player", {"player_id": player_id})) == "player_not_found"
    assert code(await host.call("kick_player", {"player_id": str(uuid.uuid4())})) == (
        "player_not_found"
    )


async def test_kick_with_ban(room: Room) -> None:
    game = await room.game()
    pin = game["pin"]
    host = await room.host(game)
    troll_socket, troll = await room.join({"pin": pin, "nickname": "Troll"})
    ack = await host.call("kick_player", {"player_id": troll["player"]["player_id"], "ban": True})
    assert ack == {"ok": True}
    assert await troll_socket.wait("kicked") == {"reason": "banned"}
    token = troll["player"]["player_token"]
    assert await room.refusal({"player_token": token}) == "banned"
    for nickname in ("Troll", "TROLL", " troll ", "Ｔｒｏｌｌ"):
        assert await room.refusal({"pin": pin, "nickname": nickname}) == "banned", nickname
    # a banned token also wins over a pin and nickname sent with it
    assert await room.refusal({"player_token": token, "pin": pin, "nickname": "Fresh"}) == "banned"
    _, other = await room.join({"pin": pin, "nickname": "Someone"})
    assert other["game"]["players_count"] == 1


async def test_player_takeover_only_with_the_token(room: Room) -> None:
    game = await room.game()
    pin = game["pin"]
    await room.host(game)
    first, ada = await room.join({"pin": pin, "nickname": "Ada"})
    token = ada["player"]["player_token"]
    # without the token: the nickname is taken, a tampered token is refused
    assert await room.refusal({"pin": pin, "nickname": "ada"}) == "nickname_taken"
    bob_token = tamper(token, sub=str(uuid.uuid4()))
    assert await room.refusal({"player_token": bob_token}) == "invalid_token"
    assert first.client.connected and "replaced" not in first.events
    # with the token: the older socket is told `replaced` and disconnected
    second, again = await room.join({"player_token": token, "pin": "000000", "nickname": "X"})
    assert again["player"]["player_id"] == ada["player"]["player_id"]
    assert again["player"]["nickname"] == "Ada"
    assert await first.wait("replaced") == {}
    for _ in range(50):
        if not first.client.connected:
            break
        await asyncio.sleep(0.05)
    assert not first.client.connected and second.client.connected


async def test_host_takeover_only_with_the_host_token(room: Room) -> None:
    game = await room.game()
    other_game = await room.game()
    host = await room.host(game)
    _, ada = await room.join({"pin": game["pin"], "nickname": "Ada"})
    # neither a player token, the user's access token nor a tampered token makes a host
    for token in (ada["player"]["player_token"], room.token, tamper(game["host_token"], x=1)):
        assert await room.refusal({"host_token": token}) == "invalid_token"
    # another game's host token makes a host of that other game, not of this one
    other = await room.host(other_game)
    assert other.events["welcome"][0]["game"]["game_id"] == other_game["game_id"]
    assert host.client.connected and "replaced" not in host.events
    screen = await room.host(game)
    assert await host.wait("replaced") == {}
    assert screen.events["welcome"][0]["game"]["game_id"] == game["game_id"]
    assert (await screen.call("get_leaderboard"))["total"] == 1


# -- roles ----------------------------------------------------------------------------------------


async def test_a_player_trying_every_host_event_is_forbidden(room: Room) -> None:
    game = await room.game()
    pin = game["pin"]
    host = await room.host(game)
    ada_socket, ada = await room.join({"pin": pin, "nickname": "Ada"})
    eve_socket, _ = await room.join({"pin": pin, "nickname": "Eve"})
    ada_id = ada["player"]["player_id"]
    attempts = dict(HOST_EVENTS)
    attempts["kick_player"] = {"player_id": ada_id, "ban": True}  # another player's id
    for event, payload in attempts.items():
        ack = await eve_socket.call(event, payload)
        assert code(ack) == "forbidden", (event, ack)
        assert ack["error"]["message"]
        ack = await eve_socket.call(event)  # without a payload too
        assert code(ack) == "forbidden", (event, ack)
    # nothing happened: the game is in the lobby, unlocked, Ada still there
    info = await room.info(pin)
    assert info["status"] == "lobby" and info["accepting_players"] is True
    assert ada_socket.client.connected and "kicked" not in ada_socket.events
    board = await host.call("get_leaderboard")
    assert board["total"] == 2
    # a player cannot act for another one either: payloads carry no player id
    ack = await eve_socket.call(
        "submit_answer", {"question_index": 0, "answer": 1, "player_id": ada_id}
    )
    assert code(ack) == "invalid_payload"
    assert eve_socket.client.connected
    assert (await host.call("start_game"))["ok"]


async def test_a_host_trying_player_events_is_forbidden(room: Room) -> None:
    game = await room.game()
    host = await room.host(game)
    await room.join({"pin": game["pin"], "nickname": "Ada"})
    assert (await host.call("start_game"))["ok"]
    for event, payload in PLAYER_EVENTS.items():
        ack = await host.call(event, payload)
        assert code(ack) == "forbidden", (event, ack)
    assert host.client.connected
    board = await host.call("get_leaderboard")
    assert board["ok"] and board["total"] == 1


# -- tokens ---------------------------------------------------------------------------------------


async def test_forged_expired_tampered_and_wrong_role_tokens(room: Room) -> None:
    game = await room.game()
    pin, game_id = game["pin"], game["game_id"]
    host = await room.host(game)
    _, ada = await room.join({"pin": pin, "nickname": "Ada"})
    token = ada["player"]["player_token"]
    player_id = ada["player"]["player_id"]
    claims = claims_of(token)
    assert claims["typ"] == PLAYER and claims["gid"] == game_id and claims["pin"] == pin
    assert claims["exp"] - claims["iat"] == room.settings.game_token_expiry_s
    host_claims = claims_of(game["host_token"])
    assert host_claims["typ"] == HOST and host_claims["gid"] == game_id

    ours = TokenSigner(SECRET)
    theirs = TokenSigner("another-secret-key-that-is-long-enough")
    forged, _ = theirs.issue(player_id, PLAYER, 600, gid=game_id, pin=pin)
    forged_host, _ = theirs.issue(host_claims["sub"], HOST, 600, gid=game_id, pin=pin)
    expired, _ = ours.issue(player_id, PLAYER, -120, gid=game_id, pin=pin)
    expired_host, _ = ours.issue(host_claims["sub"], HOST, -120, gid=game_id, pin=pin)
    unsigned = token.rsplit(".", 1)[0] + "."
    alg_none = (
        base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
        + "."
        + token.split(".")[1]
        + "."
    )
    access, _ = ours.issue(host_claims["sub"], ACCESS, 600, gen=0)
    stranger, _ = ours.issue(str(uuid.uuid4()), PLAYER, 600, gid=game_id, pin=pin)
    player_cases = {
        "forged": forged,
        "expired": expired,
        "signature removed": unsigned,
        "alg none": alg_none,
        "payload edited": tamper(token, sub=str(uuid.uuid4())),
        "expiry extended": tamper(token, exp=claims["exp"] + 10**6),
        "signature flipped": token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1],
        "host token as player": game["host_token"],
        "access token as player": access,
        "unknown player": stranger,
        "garbage": "not-a-token",
        "huge": "x" * 10_000,
        "number": 12345,
        "list": [token],
    }
    for name, bad in player_cases.items():
        address = new_address()  # many failures: spread them so this test is not rate limited
        assert await room.refusal({"player_token": bad}, address) == "invalid_token", name
    host_cases = {
        "forged": forged_host,
        "expired": expired_host,
        "player token as host": token,
        "access token as host": room.token,
        "payload edited": tamper(game["host_token"], gid=str(uuid.uuid4())),
    }
    for name, bad in host_cases.items():
        assert await room.refusal({"host_token": bad}, new_address()) == "invalid_token", name
    for auth in (None, {}, "token", ["x"], {"nickname": "Ada"}, {"player_token": ""}):
        assert await room.refusal(auth, new_address()) == "invalid_token", auth
    # the real ones still work, and nobody was replaced by the attempts
    assert "replaced" not in host.events
    again = await room.client().connect({"player_token": token})
    assert (await again.wait("welcome"))["player"]["player_id"] == player_id


async def test_a_token_is_scoped_to_its_game(room: Room) -> None:
    game_a, game_b = await room.game(), await room.game()
    host_b = await room.host(game_b)
    _, ada = await room.join({"pin": game_a["pin"], "nickname": "Ada"})
    token = ada["player"]["player_token"]
    # a token of game A sent with game B's PIN leads back to game A, never into B
    client, welcome = await room.join({"player_token": token, "pin": game_b["pin"]})
    assert welcome["game"]["game_id"] == game_a["game_id"]
    assert (await host_b.call("get_leaderboard"))["total"] == 0
    assert "player_joined" not in host_b.events
    await client.close()
    # the host token of A commands A only
    host_a = await room.host(game_a)
    assert (await host_a.call("lock_game", {"locked": True}))["ok"]
    assert (await room.info(game_b["pin"]))["accepting_players"] is True


async def test_a_token_naming_another_live_game_is_invalid(room: Room) -> None:
    game_a, game_b = await room.game(), await room.game()
    await room.host(game_b)
    _, ada = await room.join({"pin": game_a["pin"], "nickname": "Ada"})
    player_id = ada["player"]["player_id"]
    crossed, _ = TokenSigner(SECRET).issue(
        player_id, PLAYER, 600, gid=game_a["game_id"], pin=game_b["pin"]
    )
    assert await room.refusal({"player_token": crossed}) == "invalid_token"


async def test_tokens_of_a_finished_game_get_game_over(room: Room) -> None:
    game = await room.game()
    pin = game["pin"]
    host = await room.host(game)
    ada_socket, ada = await room.join({"pin": pin, "nickname": "Ada"})
    assert (await host.call("start_game"))["ok"]
    await ada_socket.wait("question_started")
    assert (await ada_socket.call("submit_answer", {"question_index": 0, "answer": 1}))["ok"]
    await room.finish_and_store(host, game)
    await ada_socket.wait("final_result")
    await asyncio.gather(host.close(), ada_socket.close())
    token = ada["player"]["player_token"]
    assert await room.refusal({"host_token": game["host_token"]}) == "game_over"
    assert await room.refusal({"player_token": token}) == "game_over"
    assert await room.refusal({"pin": pin, "nickname": "Late"}) == "game_over"
    # ...except for the player's own results over REST
    headers = {"Authorization": f"Bearer {token}"}
    async with room.http.get(f"/api/v1/results/{game['game_id']}/me", headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        mine = await resp.json()
    assert mine["player_id"] == ada["player"]["player_id"] and mine["nickname"] == "Ada"
    assert [a["question_index"] for a in mine["answers"]] == [0]
    # a game token is never a user session
    for bad in (token, game["host_token"]):
        async with room.http.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {bad}"}
        ) as resp:
            assert resp.status == 401
        async with room.http.get(
            f"/api/v1/results/{game['game_id']}", headers={"Authorization": f"Bearer {bad}"}
        ) as resp:
            assert resp.status == 401


async def test_results_endpoints_check_ownership(room: Room, stranger: dict[str, str]) -> None:
    game = await room.game()
    other_game = await room.game()
    game_id = game["game_id"]
    host = await room.host(game)
    ada_socket, ada = await room.join({"pin": game["pin"], "nickname": "Ada"})
    _, bob = await room.join({"pin": game["pin"], "nickname": "Bob"})
    assert (await host.call("start_game"))["ok"]
    await ada_socket.wait("question_started")
    await room.finish_and_store(host, game)
    other_host = await room.host(other_game)
    _, cyd = await room.join({"pin": other_game["pin"], "nickname": "Cyd"})
    await room.finish_and_store(other_host, other_game)

    # another user: 404 for the stats and both exports (existence stays hidden)
    for path in ("", "/export?format=csv", "/export?format=xlsx"):
        async with room.http.get(f"/api/v1/results/{game_id}{path}", headers=stranger) as resp:
            assert resp.status == 404, (path, resp.status)
        async with room.http.get(f"/api/v1/results/{game_id}{path}") as resp:
            assert resp.status == 401, (path, resp.status)
        status, _ = await room.request("GET", f"/api/v1/results/{game_id}{path}")
        assert status == 200, path
    async with room.http.get("/api/v1/results", headers=stranger) as resp:
        assert game_id not in await resp.text()

    # /me: only with a player token of this very game, and only one's own line
    me = f"/api/v1/results/{game_id}/me"
    for player in (ada, bob):
        headers = {"Authorization": f"Bearer {player['player']['player_token']}"}
        async with room.http.get(me, headers=headers) as resp:
            assert resp.status == 200
            body = await resp.json()
        assert body["player_id"] == player["player"]["player_id"]
    cyd_token = cyd["player"]["player_token"]
    ada_token = ada["player"]["player_token"]
    bad_tokens = {
        "none": None,
        "other game's player": cyd_token,
        "host token": game["host_token"],
        "user token": room.token,
        "tampered": tamper(ada_token, sub=bob["player"]["player_id"]),
        "expired": TokenSigner(SECRET).issue(
            ada["player"]["player_id"], PLAYER, -60, gid=game_id, pin=game["pin"]
        )[0],
    }
    for name, bad in bad_tokens.items():
        headers = {"Authorization": f"Bearer {bad}"} if bad else {}
        async with room.http.get(me, headers=headers) as resp:
            assert resp.status == 401, (name, resp.status)
            # no player token at all is answered like a wrong one (this route takes only those)
            assert (await resp.json())["error"]["code"] == "invalid_token", name


# -- every refusal code of SPEC §4, on purpose ----------------------------------------------------


async def test_every_refusal_code_is_reachable(room: Room) -> None:
    reached: dict[str, str] = {}

    async def expect(expected: str, auth: Any, address: str | None = None) -> None:
        got = await room.refusal(auth, address or new_address())
        assert got == expected, (auth, got)
        reached[expected] = got

    await expect("game_not_found", {"pin": "000000", "nickname": "Ada"})
    await expect("game_not_found", {"pin": "12ab56", "nickname": "Ada"})
    await expect("game_not_found", {"pin": 12, "nickname": "Ada"})
    await expect("invalid_token", {"player_token": "forged"})
    await expect("invalid_token", None)

    game = await room.game(
        {"max_players": 2, "password": "pw", "nicknames": {"blocklist": ["Boss"]}}
    )
    pin = game["pin"]
    host = await room.host(game)
    await expect("wrong_password", {"pin": pin, "nickname": "Ada", "password": "nope"})
    await expect("nickname_invalid", {"pin": pin, "nickname": "Ada\u200b", "password": "pw"})
    await expect("nickname_not_allowed", {"pin": pin, "nickname": "BOSS", "password": "pw"})
    _, ada = await room.join({"pin": pin, "nickname": "Ada", "password": "pw"})
    await expect("nickname_taken", {"pin": pin, "nickname": "ada", "password": "pw"})
    _, troll = await room.join({"pin": pin, "nickname": "Troll", "password": "pw"})
    await expect("game_full", {"pin": pin, "nickname": "Cyd", "password": "pw"})
    await host.call("kick_player", {"player_id": troll["player"]["player_id"], "ban": True})
    await expect("banned", {"pin": pin, "nickname": "troll", "password": "pw"})
    await expect("banned", {"player_token": troll["player"]["player_token"]})
    assert (await host.call("lock_game", {"locked": True}))["ok"]
    await expect("game_locked", {"pin": pin, "nickname": "Dee", "password": "pw"})
    assert (await host.call("end_game"))["ok"]
    await expect("game_over", {"pin": pin, "nickname": "Eve", "password": "pw"})
    await expect("game_over", {"player_token": ada["player"]["player_token"]})
    await expect("game_over", {"host_token": game["host_token"]})

    guesser = new_address()
    for _ in range(room.settings.rate_limit_failures):
        assert await room.refusal({"pin": "000001", "nickname": "G"}, guesser) == "game_not_found"
    await expect("rate_limited", {"pin": "000001", "nickname": "G"}, guesser)
    await expect("rate_limited", {"pin": pin, "nickname": "Real"}, guesser)

    assert set(reached) == SPEC_REFUSALS


async def test_a_lower_server_cap_still_accepts_games_without_max_players(
    storage: dict[str, str], room_server: tuple[TestServer, str, str]
) -> None:
    async with separate_app(
        storage, redis_prefix=storage["redis_prefix"] + "cap", max_players_per_game=50
    ) as capped:
        url = str(capped.make_url("")).rstrip("/")
        async with ClientSession(url) as http:
            kit = Room(url, http, room_server[1], capped.app[classquiz.SERVICES].settings)
            game = await kit.game()
            assert game["pin"]
