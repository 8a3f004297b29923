"""The library seam (classquiz/library_seam.py) against the installed libraries.

The seam uses private parts of python-socketio, python-engineio, aiohttp and
ormar. These tests pin each of them down: a release that renames a method,
changes its parameters or drops an attribute fails here, not in production.
They also check that the Pipfile pins those libraries exactly and that the
environment runs those very versions.
"""

from __future__ import annotations

import functools
import inspect
import re
from importlib.metadata import version
from pathlib import Path

import pytest
import socketio
from aiohttp.web import WebSocketResponse
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as engineio_aiohttp
from ormar.databases.connection import DatabaseConnection

from classquiz import library_seam
from classquiz.library_seam import (
    EngineHookedServer,
    disable_websocket_compression,
    frame_sender,
    message_frames,
    not_handled,
    point_database_at,
)

PIPFILE = Path(__file__).resolve().parents[1] / "Pipfile"
PINNED = ("aiohttp", "python-socketio", "python-engineio", "ormar")


@pytest.mark.parametrize(
    ("method", "parameters"),
    [
        ("_send_eio_packet", ["self", "eio_sid", "eio_pkt"]),
        ("_send_packet", ["self", "eio_sid", "pkt"]),
        ("_handle_eio_connect", ["self", "eio_sid", "environ"]),
        ("_handle_eio_message", ["self", "eio_sid", "data"]),
    ],
)
def test_the_private_server_methods_are_where_the_seam_expects_them(
    method: str, parameters: list[str]
) -> None:
    found = getattr(socketio.AsyncServer, method)
    assert inspect.iscoroutinefunction(found)
    assert list(inspect.signature(found).parameters) == parameters


def test_the_private_server_state_is_there() -> None:
    server = EngineHookedServer(async_mode="aiohttp")
    assert isinstance(server._binary_packet, dict)
    assert isinstance(server.environ, dict)
    assert isinstance(server.eio.sockets, dict)
    marker = not_handled(server)
    assert marker is server.not_handled and marker is not None
    assert frame_sender(server) == server._send_eio_packet
    server.forget_partial_binary("gone")  # forgetting nothing is fine
    assert not server.engine_session_open("gone")


def test_an_engine_session_has_the_queue_its_writer_waits_on() -> None:
    """`close_engine_session` wakes the writer by queuing None on `socket.queue`."""
    source = inspect.getsource(__import__("engineio.base_socket", fromlist=["x"]))
    assert "self.queue = self.server.create_queue()" in source


def test_message_frames_wrap_each_part() -> None:
    frames = message_frames(['2["a"]', b"\x01"])
    assert [(f.packet_type, f.data) for f in frames] == [
        (eio_packet.MESSAGE, '2["a"]'),
        (eio_packet.MESSAGE, b"\x01"),
    ]
    assert len(message_frames('2["a"]')) == 1


def test_websocket_compression_is_switched_off_in_the_driver() -> None:
    assert "WebSocketResponse(" in inspect.getsource(engineio_aiohttp.WebSocket)
    disable_websocket_compression()
    replaced = engineio_aiohttp.WebSocketResponse
    assert isinstance(replaced, functools.partial)
    assert replaced.func is WebSocketResponse and replaced.keywords == {"compress": False}
    disable_websocket_compression()  # idempotent: never a partial of a partial
    assert engineio_aiohttp.WebSocketResponse is replaced


def test_the_database_is_pointed_at_a_url_with_options() -> None:
    database = DatabaseConnection("postgresql+asyncpg://unconfigured/unconfigured")
    point_database_at(database, "postgresql+asyncpg://db.example/quiz", pool_size=3)
    assert database.url == "postgresql+asyncpg://db.example/quiz"
    assert database._options["pool_size"] == 3
    assert not database.is_connected


def test_the_seam_is_the_only_module_using_these_private_names() -> None:
    package = Path(library_seam.__file__).parent
    private = re.compile(
        r"\._(send_eio_packet|send_packet|handle_eio_\w+|binary_packet|url|options)\b"
        r"|\.not_handled\b|\bWebSocketResponse\s*=|\._sock\b|\._websocket_handler\b"
    )
    users = sorted(
        str(path.relative_to(package.parent))
        for path in package.rglob("*.py")
        if private.search(path.read_text(encoding="utf-8"))
    )
    assert users == ["classquiz/library_seam.py"]


@pytest.mark.parametrize("name", PINNED)
def test_the_libraries_behind_the_seam_are_pinned_exactly(name: str) -> None:
    pins = dict(re.findall(r'^([\w-]+) = (?:"|\{version = ")==([^"]+)"', PIPFILE.read_text(), re.M))
    assert name in pins, f"{name} is not pinned with == in the Pipfile"
    assert version(name) == pins[name]


# -- WebSocket frames written directly (DirectSocket) ---------------------------------------------


def test_the_engine_socket_steps_direct_writes_override_are_there() -> None:
    from engineio.async_socket import AsyncSocket

    for name, parameters in [
        ("send", ["self", "pkt"]),
        ("_websocket_handler", ["self", "ws"]),
        ("check_ping_timeout", ["self"]),
        ("receive", ["self", "pkt"]),
        ("close", ["self", "wait", "abort", "reason"]),
    ]:
        found = getattr(AsyncSocket, name)
        assert inspect.iscoroutinefunction(found), name
        assert list(inspect.signature(found).parameters) == parameters, name
    # DirectSocket.send repeats the cheap part of the ping check before awaiting it.
    check = inspect.getsource(AsyncSocket.check_ping_timeout)
    assert "if self.closed:" in check
    assert "time.time() - last_ping > self.server.ping_timeout" in check
    # The driver object handed to _websocket_handler keeps its response and environ.
    source = inspect.getsource(engineio_aiohttp.WebSocket)
    assert "self._sock = WebSocketResponse(" in source
    assert "self.environ = environ" in source
    # Engine.IO makes the session before the connect event, and serves the WebSocket after.
    connect = inspect.getsource(__import__("engineio.async_server", fromlist=["x"]))
    made = connect.index("s = async_socket.AsyncSocket(self, sid)")
    assert made < connect.index("await self._trigger_event('connect'", made)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 200_000])
async def test_a_direct_frame_is_what_a_websocket_client_reads(size: int) -> None:
    """The frame bytes go to a real aiohttp server connection; a real client reads them."""
    from aiohttp import ClientSession, web
    from aiohttp.test_utils import TestServer

    text = ("é" * size)[:size]

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        assert request.transport is not None
        request.transport.write(library_seam.websocket_text_frame(text.encode()))
        await ws.receive()
        return ws

    app = web.Application()
    app.router.add_get("/", handler)
    server = TestServer(app)
    await server.start_server()
    try:
        async with ClientSession() as http, http.ws_connect(server.make_url("/")) as ws:
            assert await ws.receive_str() == text
            await ws.close()
    finally:
        await server.close()


async def test_a_broadcast_packet_is_framed_once() -> None:
    pkt = eio_packet.Packet(eio_packet.MESSAGE, '2["question_started",{}]')
    first = library_seam._frame_of(pkt)
    assert library_seam._frame_of(pkt) is first
    assert first == library_seam.websocket_text_frame(b'42["question_started",{}]')


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_a_frame_gives_back_the_packet_it_carries(size: int) -> None:
    """An ack framed for a WebSocket that closed meanwhile goes the library's way as the
    Engine.IO packet it carries, whatever the frame's length encoding."""
    data = "3" + "7" + '[{"ok":true,"x":"' + "é" * size + '"}]'
    frame = library_seam.websocket_text_frame(("4" + data).encode())
    pkt = library_seam._packet_of(frame)
    assert pkt.packet_type == eio_packet.MESSAGE and pkt.data == data
