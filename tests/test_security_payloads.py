"""Malformed payloads of every client event (SPEC §2): refused with `invalid_payload` and the
field, the connection and the game unharmed; oversized messages close only their connection;
hypothesis fuzzing of submit_answer against the live server.

Runs against its own app (own port, own Redis prefix) whose per-socket event limit is high,
so hundreds of hostile events from one socket are judged on their content, not their rate
(the rate limit has its own tests in test_security_limits.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, WSMsgType
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.apps import separate_app
from tests.support.live import SocketGroup
from tests.support.quizzes import sample_quiz
from tests.support.sockets import RawSocket, Recorder
from tests.support.users import register_user

DEPTH = 40
HUGE = "x" * 60_000  # below MAX_MESSAGE_BYTES (65,536), far above every text bound
ANSWER_ERRORS = {
    "invalid_payload",
    "invalid_answer",
    "wrong_question",
    "wrong_state",
    "already_answered",
    "too_late",
}


def deep(depth: int = DEPTH, leaf: Any = 1) -> Any:
    value: Any = leaf
    for _ in range(depth - 1):
        value = [value]
    return value


def deep_object(depth: int = DEPTH) -> Any:
    value: Any = 1
    for _ in range(depth - 1):
        value = {"a": value}
    return value


# -- a separate app ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def payload_server(
    server: TestServer, storage: dict[str, str]
) -> AsyncIterator[tuple[str, str]]:
    async with separate_app(
        storage,
        redis_prefix=storage["redis_prefix"] + "payloads",
        socket_events_per_s=100_000,
        socket_events_drop_per_s=200_000,
    ) as test_server:
        url = str(test_server.make_url("")).rstrip("/")
        async with ClientSession(url) as http:
            token = (await register_user(http)).token
        yield url, token


class Table:
    """A fresh game in the lobby with a host and two players."""

    def __init__(self, url: str, http: ClientSession, token: str) -> None:
        self.url = url
        self.http = http
        self.token = token
        self.sockets = SocketGroup(url)
        self.clients = self.sockets.clients

    async def setup(self, questions: list[int] | None = None) -> Table:
        headers = {"Authorization": f"Bearer {self.token}"}
        quiz = sample_quiz(title="Payloads")
        quiz["questions"] = [quiz["questions"][i] for i in questions or [0]]
        async with self.http.post("/api/v1/quizzes", json=quiz, headers=headers) as resp:
            quiz_id = (await resp.json())["id"]
        async with self.http.post(
            "/api/v1/games", json={"quiz_id": quiz_id}, headers=headers
        ) as resp:
            self.game = await resp.json()
        self.pin = self.game["pin"]
        self.host = await self.connect({"host_token": self.game["host_token"]})
        self.ada = await self.connect({"pin": self.pin, "nickname": "Ada"})
        self.bob = await self.connect({"pin": self.pin, "nickname": "Bob"})
        self.ada_welcome = self.ada.events["welcome"][0]
        return self

    async def connect(self, auth: dict[str, Any]) -> Recorder:
        return await self.sockets.connect(auth)

    async def status(self) -> str:
        async with self.http.get(f"/api/v1/games/{self.pin}") as resp:
            return (await resp.json())["status"]

    async def healthy(self, players: int = 2) -> None:
        """Every socket connected, the host in command, the game in the lobby with its players."""
        for client in self.clients:
            assert client.client.connected
        board = await self.host.call("get_leaderboard")
        assert board["ok"] and board["total"] == players, board
        assert await self.status() == "lobby"


@pytest.fixture
async def table(payload_server: tuple[str, str]) -> AsyncIterator[Table]:
    url, token = payload_server
    async with ClientSession(url) as http:
        kit = Table(url, http, token)
        async with kit.sockets:
            yield await kit.setup()


def assert_invalid(ack: Any, field: str | None, context: Any) -> None:
    assert isinstance(ack, dict) and ack.get("ok") is False, (context, ack)
    error = ack["error"]
    assert error["code"] == "invalid_payload", (context, ack)
    assert isinstance(error["message"], str) and error["message"], (context, ack)
    if field is not None:
        assert str(error.get("field", "")).split(".")[0] == field, (context, ack)


# -- malformed payloads of every event -----------------------------------------------------------

# No binary attachments here: a binary packet closes the connection (test_audit_socket_binary.py).
TOP_LEVEL = [1, -1.5, "start", True, [1, 2], deep(), [deep_object()]]
EXTRA = [
    {"unexpected": 1},
    {"unexpected": HUGE},
    {"unexpected": deep()},
    {"unexpected": deep_object()},
    {"unexpected": None},
]
FIELDS: dict[str, list[tuple[Any, str]]] = {
    "kick_player": [
        ({}, "player_id"),
        ({"player_id": 5}, "player_id"),
        ({"player_id": None}, "player_id"),
        ({"player_id": ""}, "player_id"),
        ({"player_id": HUGE}, "player_id"),
        ({"player_id": deep()}, "player_id"),
        ({"player_id": ["a"]}, "player_id"),
        ({"player_id": "p", "ban": "yes"}, "ban"),
        ({"player_id": "p", "ban": 1}, "ban"),
        ({"player_id": "p", "ban": None}, "ban"),
    ],
    "lock_game": [
        ({}, "locked"),
        ({"locked": "true"}, "locked"),
        ({"locked": 1}, "locked"),
        ({"locked": None}, "locked"),
        ({"locked": deep()}, "locked"),
        ({"locked": HUGE}, "locked"),
    ],
    "get_leaderboard": [
        ({"offset": -1}, "offset"),
        ({"offset": "0"}, "offset"),
        ({"offset": 1.5}, "offset"),
        ({"offset": 1e300}, "offset"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": True}, "limit"),
        ({"limit": HUGE}, "limit"),
        ({"limit": deep()}, "limit"),
    ],
    "submit_answer": [
        ({}, "question_index"),
        ({"answer": 1}, "question_index"),
        ({"question_index": 0}, "answer"),
        ({"question_index": "0", "answer": 1}, "question_index"),
        ({"question_index": -1, "answer": 1}, "question_index"),
        ({"question_index": 10**6, "answer": 1}, "question_index"),
        ({"question_index": 0.0, "answer": 1}, "question_index"),
        ({"question_index": True, "answer": 1}, "question_index"),
        ({"question_index": None, "answer": 1}, "question_index"),
        ({"question_index": deep(), "answer": 1}, "question_index"),
        ({"question_index": 0, "answer": True}, "answer"),
        ({"question_index": 0, "answer": None}, "answer"),
        ({"question_index": 0, "answer": {"id": 1}}, "answer"),
        ({"question_index": 0, "answer": "y" * 201}, "answer"),
        ({"question_index": 0, "answer": HUGE}, "answer"),
        ({"question_index": 0, "answer": list(range(51))}, "answer"),
        ({"question_index": 0, "answer": deep()}, "answer"),
        ({"question_index": 0, "answer": [deep_object()]}, "answer"),
        ({"question_index": 0, "answer": ["a", "b"]}, "answer"),
        ({"question_index": 0, "answer": [1.5]}, "answer"),
        ({"question_index": 0, "answer": [True]}, "answer"),
    ],
}
HOST_EVENTS = ["start_game", "end_question", "next_question", "end_game"]
HOST_EVENTS += ["kick_player", "lock_game", "get_leaderboard"]
PLAYER_EVENTS = ["submit_answer", "reroll_nickname", "leave"]


def malformed(event: str) -> list[tuple[Any, str | None]]:
    """Top-level junk, an unexpected field beside valid ones, then the event's own fields."""
    cases: list[tuple[Any, str | None]] = [(payload, "payload") for payload in TOP_LEVEL]
    valid = {
        "kick_player": {"player_id": "p"},
        "lock_game": {"locked": True},
        "submit_answer": {"question_index": 0, "answer": 1},
    }.get(event, {})
    cases += [({**valid, **extra}, "unexpected") for extra in EXTRA]
    cases += FIELDS.get(event, [])
    return cases


async def test_every_host_event_refuses_malformed_payloads(table: Table) -> None:
    for event in HOST_EVENTS:
        for payload, field in malformed(event):
            ack = await table.host.call(event, payload)
            assert_invalid(ack, field, (event, payload if len(repr(payload)) < 200 else "…"))
            # the same connection still works
            board = await table.host.call("get_leaderboard", {"limit": 1})
            assert board["ok"] is True and board["total"] == 2, (event, board)
    await table.healthy()
    ack = await table.host.call("start_game")
    assert ack == {"ok": True, "question_index": 0}


async def test_every_player_event_refuses_malformed_payloads(table: Table) -> None:
    for player in (table.ada,):
        for event in PLAYER_EVENTS:
            for payload, field in malformed(event):
                ack = await player.call(event, payload)
                assert_invalid(ack, field, (event, payload if len(repr(payload)) < 200 else "…"))
                probe = await player.call("submit_answer", {"question_index": 0, "answer": 1})
                assert probe["ok"] is False and probe["error"]["code"] == "wrong_state", probe
    await table.healthy()
    # the refusals did not use up anything: the player answers the real question
    assert (await table.host.call("start_game"))["ok"]
    await table.ada.wait("question_started")
    ack = await table.ada.call("submit_answer", {"question_index": 0, "answer": 1})
    assert ack["ok"] is True and isinstance(ack["received_at_ms"], int), ack


async def test_binary_attachments_close_the_connection(payload_server: tuple[str, str]) -> None:
    """Binary data is no answer: a client library sending bytes loses its connection.

    (Audit finding 1: the server never buffers binary attachments; the raw-frame cases
    and the memory measurement are in test_audit_socket_binary.py.)
    """
    url, token = payload_server
    async with ClientSession(url) as http:
        table = await Table(url, http, token).setup(questions=[3])  # a text question
        try:
            assert (await table.host.call("start_game"))["ok"]
            await table.ada.wait("question_started")
            player_id = table.ada_welcome["player"]["player_id"]
            for answer in (b"Paris", [b"\x00\xff"]):
                client = table.ada
                seen = len(table.host.events["player_status"])
                await client.client.emit("submit_answer", {"question_index": 0, "answer": answer})
                for _ in range(40):
                    if not client.client.connected:
                        break
                    await asyncio.sleep(0.05)
                assert not client.client.connected, answer
                status = await table.host.wait("player_status", count=seen + 1)
                assert status == {"player_id": player_id, "connected": False}
                table.clients.remove(client)
                table.ada = await table.connect(
                    {"player_token": table.ada_welcome["player"]["player_token"]}
                )
                back = await table.host.wait("player_status", count=seen + 2)
                assert back == {"player_id": player_id, "connected": True}
            assert table.bob.client.connected and table.host.client.connected
            ack = await table.ada.call("submit_answer", {"question_index": 0, "answer": "y" * 200})
            assert ack["ok"] is True, ack
        finally:
            await table.sockets.close()


async def test_a_payload_that_is_not_an_object_names_the_payload(table: Table) -> None:
    for event in ("submit_answer", "reroll_nickname", "leave"):
        for payload in (1, "x", [1], deep()):
            ack = await table.ada.call(event, payload)
            assert_invalid(ack, "payload", payload)
    await table.healthy()


async def test_a_huge_leaderboard_offset_is_refused_and_the_largest_allowed_one_is_answered(
    table: Table,
) -> None:
    """An offset past the published bound never reaches Redis as a range argument: it is
    refused naming the field. The bound itself is a valid request, answered with an empty
    page (the bound is read from docs/asyncapi.json, what clients are told)."""
    spec = json.loads((Path(__file__).parent.parent / "docs" / "asyncapi.json").read_text())
    offset_field = spec["components"]["schemas"]["LeaderboardIn"]["properties"]["offset"]
    bound = offset_field["maximum"]
    for offset in (2**63 - 1, bound + 1):
        ack = await table.host.call("get_leaderboard", {"offset": offset})
        assert_invalid(ack, "offset", offset)
    ack = await table.host.call("get_leaderboard", {"offset": bound})
    assert ack == {"ok": True, "entries": [], "total": 2}, ack
    await table.healthy()


# -- below the Socket.IO layer -------------------------------------------------------------------


async def test_undecodable_packets_leave_the_connection_working(table: Table) -> None:
    token = table.ada_welcome["player"]["player_token"]
    raw = await RawSocket.open(table.http, {"player_token": token})
    await table.ada.wait("replaced")  # the raw socket took Ada's seat with her token
    table.clients.remove(table.ada)
    garbage = [
        '421["submit_answer",{"question_index":0,',  # truncated JSON
        '422["submit_answer",NaN]',  # not JSON
        '423["submit_answer",{"question_index":0,"answer":"\\ud800"}]',  # lone surrogate
        "424{}",  # an event that is no list
        "42",  # no data at all
        "47[]",  # unknown packet type
    ]
    for packet in garbage:
        await raw.ws.send_str(packet)
    await raw.ws.send_str('429["get_leaderboard",{}]')
    for ack_id in (1, 2, 3):  # what asked for an ack gets one
        assert_invalid(await raw.ack(ack_id), None, garbage[ack_id - 1])
    ack = await raw.ack(9)
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden", ack
    await raw.ws.send_str('4210["submit_answer",{"question_index":0,"answer":1}]')
    ack = await raw.ack(10)
    assert ack["ok"] is False and ack["error"]["code"] == "wrong_state", ack
    assert not raw.ws.closed
    await raw.ws.close()
    await table.healthy()


async def test_a_frame_that_is_no_engine_io_packet_drops_only_that_connection(
    table: Table,
) -> None:
    """python-engineio cannot decode it and ends that transport; the player returns by token."""
    token = table.ada_welcome["player"]["player_token"]
    raw = await RawSocket.open(table.http, {"player_token": token})
    await raw.ws.send_str("\x00\x01")
    async with asyncio.timeout(5):
        while (await raw.ws.receive()).type == WSMsgType.TEXT:
            pass
    await raw.ws.close()
    back = await table.connect({"player_token": token})
    assert (
        back.events["welcome"][0]["player"]["player_id"] == table.ada_welcome["player"]["player_id"]
    )
    assert (await table.host.call("get_leaderboard"))["total"] == 2
    assert await table.status() == "lobby"


async def test_an_undecodable_packet_with_an_ack_id_is_answered(table: Table) -> None:
    token = table.ada_welcome["player"]["player_token"]
    raw = await RawSocket.open(table.http, {"player_token": token})
    await raw.ws.send_str('427["submit_answer",{"question_index":0,')
    ack = await raw.ack(7, timeout=1.5)
    assert ack["error"]["code"] == "invalid_payload"


async def test_a_message_above_max_message_bytes_closes_only_that_connection(
    table: Table,
) -> None:
    assert (await table.host.call("start_game"))["ok"]
    await table.ada.wait("question_started")
    await table.ada.client.emit("submit_answer", {"question_index": 0, "answer": "z" * 70_000})
    for _ in range(100):
        if not table.ada.client.connected:
            break
        await asyncio.sleep(0.05)
    assert not table.ada.client.connected
    status = await table.host.wait("player_status")
    assert status == {"player_id": table.ada_welcome["player"]["player_id"], "connected": False}
    # everyone else is untouched, and the player comes back with its token
    assert table.host.client.connected and table.bob.client.connected
    back = await table.connect({"player_token": table.ada_welcome["player"]["player_token"]})
    welcome = back.events["welcome"][0]
    assert welcome["player"]["player_id"] == table.ada_welcome["player"]["player_id"]
    assert welcome["game"]["status"] == "question" and welcome["answered"] is False
    ack = await back.call("submit_answer", {"question_index": 0, "answer": 1})
    assert ack["ok"] is True, ack
    board = await table.host.call("get_leaderboard")
    assert board["total"] == 2
    table.clients.remove(table.ada)


# -- hypothesis: fuzzing submit_answer against the live server ----------------------------------

# The Socket.IO client in this process encodes with the server's orjson codec (python-socketio
# keeps the JSON module on its Packet class), so integers stay within 64 bits.
INTS = st.integers(min_value=-(2**63), max_value=2**63 - 1)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | INTS
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=260)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
ANSWERS = st.one_of(
    st.integers(min_value=-3, max_value=8),
    INTS,
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=230),
    st.lists(st.integers(min_value=-2, max_value=8), max_size=8),
    st.lists(INTS, max_size=60),
    JSON_VALUES,
)  # no bytes: a binary attachment closes the connection (test_audit_socket_binary.py)
SUBMISSIONS = st.one_of(
    st.fixed_dictionaries(
        {"question_index": st.integers(min_value=-2, max_value=8), "answer": ANSWERS}
    ),
    st.fixed_dictionaries(
        {"question_index": st.integers(min_value=0, max_value=6), "answer": ANSWERS},
        optional={"extra": JSON_VALUES, "player_id": st.text(max_size=40)},
    ),
    st.fixed_dictionaries({"question_index": JSON_VALUES, "answer": JSON_VALUES}),
    JSON_VALUES,
)


def assert_well_formed(ack: Any, payload: Any) -> None:
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), (payload, ack)
    if ack["ok"]:
        assert set(ack) == {"ok", "received_at_ms"} and isinstance(ack["received_at_ms"], int)
        return
    assert set(ack) == {"ok", "error"}, (payload, ack)
    error = ack["error"]
    assert set(error) <= {"code", "message", "field"} and isinstance(error["message"], str)
    assert error["code"] in ANSWER_ERRORS, (payload, ack)
    if error["code"] == "invalid_payload" and isinstance(payload, dict):
        assert isinstance(error.get("field"), str), (payload, ack)


async def test_fuzzing_submit_answer_never_breaks_the_socket_or_the_game(
    payload_server: tuple[str, str],
) -> None:
    url, token = payload_server
    async with ClientSession(url) as http:
        table = Table(url, http, token)
        await table.setup(questions=list(range(7)))  # one question of every type
        try:
            assert (await table.host.call("start_game"))["ok"]
            await table.ada.wait("question_started")
            loop = asyncio.get_running_loop()
            player = table.ada

            sent: list[str] = []

            async def send(payload: Any) -> None:
                ack = await player.call("submit_answer", payload, timeout=5)
                sent.append("ok" if ack.get("ok") else ack["error"]["code"])
                assert_well_formed(ack, payload)
                assert player.client.connected

            @settings(
                max_examples=100,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(SUBMISSIONS)
            @example({"question_index": 0, "answer": 99})  # the open question, no such choice
            @example({"question_index": 0, "answer": "two"})  # the open question, wrong type
            def fuzz(payload: Any) -> None:
                asyncio.run_coroutine_threadsafe(send(payload), loop).result(timeout=10)

            await asyncio.to_thread(fuzz)
            assert len(sent) >= 100 and "invalid_payload" in sent and "invalid_answer" in sent
            # the game is unharmed: Bob answers, the host moves on, the scores add up
            ack = await table.bob.call("submit_answer", {"question_index": 0, "answer": 1})
            assert ack["ok"] is True, ack
            ended = await table.host.wait("question_ended")
            assert ended["question_index"] == 0
            assert (await table.host.call("next_question"))["ok"]
            board = await table.host.call("get_leaderboard")
            assert board["total"] == 2 and player.client.connected
        finally:
            await table.sockets.close()
