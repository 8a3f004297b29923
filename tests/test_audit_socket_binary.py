"""Audit finding 1: binary Socket.IO packets must not be buffered (docs/security.md §9.1).

Our protocol is JSON only. python-socketio, left alone, keeps every binary frame that
follows a BINARY_EVENT header until the announced number of attachments has arrived, so
a header announcing a million attachments lets one socket fill the server's memory. The
server must instead close a connection the moment it sends a binary header or a binary
frame, and keep none of the bytes.

Two views: the in-process server (its python-socketio attachment buffer stays empty and
the connection is closed at once, for every kind of binary packet), and a real server
process whose resident memory is measured before and after a flood.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, WSMsgType
from aiohttp.test_utils import TestServer

from classquiz import SIO
from tests.support.processes import ServerProcess, running_servers
from tests.support.quizzes import sample_quiz
from tests.support.sockets import RawSocket, Recorder
from tests.support.users import register_user

FRAME = b"\x00" * 60_000  # below MAX_MESSAGE_BYTES: each frame alone is acceptable
FLOOD_CAP = 48 * 1024 * 1024  # a flood stops here even if the server keeps reading
# A BINARY_EVENT header announcing 1,000,000 attachments, the audit's probe (Engine.IO
# MESSAGE "4", then Socket.IO BINARY_EVENT "5" with its attachment count).
MILLION_HEADER = (
    '451000000-["submit_answer",{"question_index":0,"answer":{"_placeholder":true,"num":0}}]'
)


async def _game(http: ClientSession) -> dict[str, Any]:
    owner = await register_user(http)
    quiz = sample_quiz(title="Binary")
    quiz["questions"] = quiz["questions"][:1]
    status, created = await owner.request("POST", "/api/v1/quizzes", json=quiz)
    assert status == 201, created
    status, game = await owner.request("POST", "/api/v1/games", json={"quiz_id": created["id"]})
    assert status == 201, game
    return game


async def _flood(raw: RawSocket, first: str | bytes | None, seconds: float) -> tuple[int, float]:
    """Send `first`, then binary frames until the server closes or `seconds` pass.

    Returns (bytes of binary frames the client managed to write, seconds until the
    connection was seen closed, or `seconds` when it never closed).
    """
    ws = raw.ws
    closed = asyncio.Event()

    async def watch() -> None:
        while True:
            msg = await ws.receive()
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                closed.set()
                return
            if msg.type == WSMsgType.TEXT and msg.data == "2":
                await ws.send_str("3")

    watcher = asyncio.ensure_future(watch())
    started = time.monotonic()
    sent = 0
    try:
        if isinstance(first, str):
            await ws.send_str(first)
        elif isinstance(first, bytes):
            await ws.send_bytes(first)
            sent += len(first)
        while not closed.is_set() and time.monotonic() - started < seconds and sent < FLOOD_CAP:
            try:
                await ws.send_bytes(FRAME)
            except (ConnectionError, RuntimeError):
                break
            sent += len(FRAME)
            await asyncio.sleep(0)
        try:
            await asyncio.wait_for(closed.wait(), max(0.0, seconds - (time.monotonic() - started)))
        except TimeoutError:
            return sent, seconds
        return sent, time.monotonic() - started
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await ws.close()


@pytest.fixture
async def lobby(server: TestServer, http: ClientSession) -> AsyncIterator[dict[str, Any]]:
    game = await _game(http)
    host = await Recorder(str(server.make_url("")).rstrip("/")).connect(
        {"host_token": game["host_token"]}
    )
    await host.wait("welcome")
    yield {"game": game, "host": host}
    await host.close()


BINARY_OPENINGS: list[tuple[str, str | bytes]] = [
    ("a million attachments announced", MILLION_HEADER),
    ("a binary event with one attachment", '451-["submit_answer",{"_placeholder":true,"num":0}]'),
    ("a binary ack", '461-[{"_placeholder":true,"num":0}]'),
    ("a binary event in a namespace", '451-/,["submit_answer",{"_placeholder":true,"num":0}]'),
    ("a binary frame with no header", b"\x04\xff\x00 stray bytes"),
]


@pytest.mark.parametrize("label,opening", BINARY_OPENINGS, ids=[b[0] for b in BINARY_OPENINGS])
async def test_a_binary_packet_closes_the_connection_at_once(
    server: TestServer,
    http: ClientSession,
    lobby: dict[str, Any],
    label: str,
    opening: str | bytes,
) -> None:
    sio = server.app[SIO]
    pin = lobby["game"]["pin"]
    raw = await RawSocket.open(http, {"pin": pin, "nickname": "Flooder"})
    welcome = None
    # (the welcome arrives on the raw socket; the player id comes from the host's roster)
    joined = await lobby["host"].wait("player_joined")
    sent, closed_after = await _flood(raw, opening, seconds=3.0)
    assert closed_after < 1.0, (label, closed_after, sent)
    # the client could push at most what the kernel buffers took before the close
    assert sent < 8 * 1024 * 1024, (label, sent)
    assert not sio._binary_packet, (label, len(sio._binary_packet))
    status = await lobby["host"].wait("player_status")
    assert status == {"player_id": joined["player"]["player_id"], "connected": False}, welcome
    # the host's own connection and the game are untouched
    board = await lobby["host"].call("get_leaderboard")
    assert board["ok"] is True and board["total"] == 1, board


async def test_the_player_comes_back_with_its_token_after_the_close(
    server: TestServer, http: ClientSession, lobby: dict[str, Any]
) -> None:
    url = str(server.make_url("")).rstrip("/")
    ada = await Recorder(url).connect({"pin": lobby["game"]["pin"], "nickname": "Ada"})
    token = (await ada.wait("welcome"))["player"]["player_token"]
    await ada.close()
    raw = await RawSocket.open(http, {"player_token": token})
    _, closed_after = await _flood(raw, MILLION_HEADER, seconds=3.0)
    assert closed_after < 1.0
    back = await Recorder(url).connect({"player_token": token})
    try:
        welcome = await back.wait("welcome")
        assert welcome["player"]["player_token"] == token
        assert (await lobby["host"].call("start_game"))["ok"] is True
        await back.wait("question_started")
        ack = await back.call("submit_answer", {"question_index": 0, "answer": 1})
        assert ack["ok"] is True, ack
    finally:
        await back.close()


# -- a real server process: resident memory before and after a flood -----------------------------


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
async def one_server(storage: dict[str, str], tmp_path: Path) -> AsyncIterator[ServerProcess]:
    async with running_servers(storage, tmp_path, "binary") as (process,):
        yield process


async def test_a_flood_of_attachments_leaves_the_server_memory_flat(
    one_server: ServerProcess,
) -> None:
    assert one_server.http is not None
    game = await _game(one_server.http)
    host = await Recorder(one_server.url).connect({"host_token": game["host_token"]})
    try:
        await host.wait("welcome")
        # warm up: one ordinary player, so first-use allocations are not counted
        warm = await Recorder(one_server.url).connect({"pin": game["pin"], "nickname": "Warm"})
        await warm.wait("welcome")
        await warm.close()
        await asyncio.sleep(0.5)
        before = _rss_kib(one_server.proc.pid)
        peak = before
        pushed = 0

        async def sample() -> None:
            nonlocal peak
            while True:
                peak = max(peak, _rss_kib(one_server.proc.pid))
                await asyncio.sleep(0.02)

        sampler = asyncio.ensure_future(sample())
        try:
            for i in range(4):  # four sockets, one after the other, like a script would retry
                raw = await RawSocket.open(
                    one_server.http, {"pin": game["pin"], "nickname": f"F{i}"}
                )
                sent, closed_after = await _flood(raw, MILLION_HEADER, seconds=2.0)
                pushed += sent
                assert closed_after < 1.0, (i, closed_after, sent)
            await asyncio.sleep(0.5)
        finally:
            sampler.cancel()
        after = _rss_kib(one_server.proc.pid)
        print(f"pushed {pushed / 2**20:.1f} MiB; RSS {before} KiB, peak {peak}, after {after}")
        assert (peak - before) / 1024 < 16, (before, peak, pushed)
        assert (after - before) / 1024 < 16, (before, after, pushed)
        board = await host.call("get_leaderboard")
        assert board["ok"] is True, board
    finally:
        await host.close()


async def test_long_polling_clients_sending_bytes_are_closed_too(
    server: TestServer, lobby: dict[str, Any]
) -> None:
    """Over HTTP long-polling, binary arrives base64-encoded and is refused the same way."""
    url = str(server.make_url("")).rstrip("/")
    player = Recorder(url, transports=["polling"])
    await player.connect({"pin": lobby["game"]["pin"], "nickname": "Poller"})
    try:
        await player.wait("welcome")
        await player.client.emit("submit_answer", {"question_index": 0, "answer": b"\x00" * 1000})
        for _ in range(60):
            if not player.client.connected:
                break
            await asyncio.sleep(0.05)
        assert not player.client.connected
        assert not server.app[SIO]._binary_packet
        status = await lobby["host"].wait("player_status")
        assert status["connected"] is False
    finally:
        await player.close()
