"""The people around one live game, for tests: the game over REST, the sockets of the room.

Test modules used to carry their own group of sockets (a "table", a "room", a
"session"...) with the same connect, wait-for-welcome, expect-a-refusal and
close-them-all code. `SocketGroup` is that code once; a module keeps only what is
its own (a Redis helper, a validation pass over everything received).
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Any, Protocol

from tests.support.quizzes import sample_quiz
from tests.support.sockets import Recorder


class RestClient(Protocol):
    """Anything that calls the REST API as a logged-in teacher (an `ApiUser`, or a test's
    own wrapper that adds headers)."""

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]: ...


async def create_game(
    owner: RestClient,
    questions: list[dict[str, Any]] | None = None,
    *,
    title: str = "Live game",
    first: int | None = None,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A new quiz and a game of it in the lobby (the POST /games body: pin, tokens, ids).

    `questions` default to the sample quiz's, one of each type; `first` keeps only
    the first n of them. `settings` is sent only when given, so the server's
    defaults are what a test without it gets."""
    quiz = sample_quiz(title=title)
    if questions is not None:
        quiz["questions"] = questions
    if first is not None:
        quiz["questions"] = quiz["questions"][:first]
    status, created = await owner.request("POST", "/api/v1/quizzes", json=quiz)
    assert status == 201, created
    body: dict[str, Any] = {"quiz_id": created["id"]}
    if settings is not None:
        body["settings"] = settings
    status, game = await owner.request("POST", "/api/v1/games", json=body)
    assert status == 201, game
    return game


class SocketGroup:
    """The Socket.IO clients of one test, all closed at the end.

    `address`, when given, is sent as X-Forwarded-For (for an app that trusts
    127.0.0.1 as a proxy), so a test can speak from many made-up addresses."""

    def __init__(self, url: str, address: str | None = None) -> None:
        self.url = url
        self.address = address
        self.clients: list[Recorder] = []

    def client(self, *, address: str | None = None, polling: bool = False) -> Recorder:
        """A new, not yet connected client; `polling` starts on long-polling and upgrades
        to WebSocket, as a browser does."""
        address = address or self.address
        client = Recorder(
            self.url,
            transports=["polling", "websocket"] if polling else None,
            headers={"X-Forwarded-For": address} if address else None,
        )
        self.clients.append(client)
        return client

    async def connect(
        self, auth: dict[str, Any], *, address: str | None = None, polling: bool = False
    ) -> Recorder:
        """A client admitted with `auth`, once its welcome has arrived."""
        client = await self.client(address=address, polling=polling).connect(auth)
        await client.wait("welcome")
        return client

    async def join(
        self, auth: dict[str, Any], *, address: str | None = None
    ) -> tuple[Recorder, dict[str, Any]]:
        """A player admitted with `auth`, and its welcome."""
        client = await self.client(address=address).connect(auth)
        return client, await client.wait("welcome")

    async def host(self, game: dict[str, Any]) -> Recorder:
        return await self.connect({"host_token": game["host_token"]})

    async def player(self, game: dict[str, Any], nickname: str, **auth: Any) -> Recorder:
        return await self.connect({"pin": game["pin"], "nickname": nickname, **auth})

    async def refusal(self, auth: Any, *, address: str | None = None) -> dict[str, Any]:
        """The `connect_error` data of a handshake with `auth`; fails if it was accepted.

        Every refusal carries a code and a sentence for people (never the code again)."""
        error = await self.client(address=address).try_connect(auth)
        assert isinstance(error, dict), f"not refused: {auth!r} -> {error!r}"
        assert isinstance(error.get("code"), str) and error["code"], error
        assert isinstance(error.get("message"), str), error
        assert error["message"] and error["message"] != error["code"], error
        return error

    async def refused(self, auth: Any, *, address: str | None = None) -> str:
        """The refusal code of a handshake with `auth` (see `refusal`)."""
        return str((await self.refusal(auth, address=address))["code"])

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)

    async def __aenter__(self) -> SocketGroup:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


PACE_S = 0.11  # stay under the per-socket event limit (10 a second)


async def paced(client: Recorder, event: str, data: Any = None) -> Any:
    """The ack of `event`, then a pause, so a burst of commands stays under the event limit."""
    ack = await client.call(event, data)
    await asyncio.sleep(PACE_S)
    return ack


async def wait_disconnected(client: Recorder, timeout: float = 5) -> None:
    """Until the server has closed `client`'s connection; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while client.client.connected:
        assert time.monotonic() < deadline, "the server did not disconnect the socket"
        await asyncio.sleep(0.02)


async def stored_results(owner: RestClient, game_id: str) -> dict[str, Any]:
    """The game's results once the server has stored them (they are stored in the background)."""
    for _ in range(150):
        status, body = await owner.request("GET", f"/api/v1/results/{game_id}")
        if status == 200:
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"results of {game_id} never stored: {status} {body}")
