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
        r"|\.not_handled\b|\bWebSocketResponse\s*="
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
