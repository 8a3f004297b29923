"""Every private part of a library that ClassQuiz relies on, behind one seam.

python-socketio, python-engineio, aiohttp and ormar have no public API for a few
things the server needs: queuing a ready-made Engine.IO frame (a broadcast is
encoded once, then queued for thousands of sockets), stepping into Engine.IO's
connect and message handling (closing idle handshakes and binary senders),
turning WebSocket compression off in engineio's aiohttp driver, and pointing
Ormar's shared connection at a URL that is only known at start. Each private
name is used here and nowhere else, so an upgrade of those libraries is a
review of this one module: they are pinned exactly (`==`) in the Pipfile, and
tests/test_library_seam.py fails when a release moves what this module uses.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from engineio import packet as eio_packet
from ormar.databases.connection import DatabaseConnection

FrameSender = Callable[[str, eio_packet.Packet], Awaitable[None]]


# -- python-socketio / python-engineio: frames ----------------------------------------------------


def message_frames(encoded: str | bytes | list[Any]) -> list[eio_packet.Packet]:
    """The Engine.IO MESSAGE frames that carry one encoded Socket.IO packet."""
    parts = encoded if isinstance(encoded, list) else [encoded]
    return [eio_packet.Packet(eio_packet.MESSAGE, part) for part in parts]


def frame_sender(server: socketio.AsyncServer) -> FrameSender:
    """Queue a frame on one Engine.IO session: the library's own send path, no room lookup."""
    send: FrameSender = server._send_eio_packet
    return send


def not_handled(server: socketio.AsyncServer) -> object:
    """The marker an event handler returns so that no ACK is sent (as for an unknown event)."""
    return server.not_handled


# -- python-socketio / python-engineio: the connect and message steps -----------------------------


# python-socketio ships no types, so mypy sees its classes as Any.
class EngineHookedServer(socketio.AsyncServer):  # type: ignore[misc]
    """An AsyncServer with public hooks on Engine.IO's private connect and message steps.

    Subclasses override `engine_connected` and `engine_message`; the private
    methods they hook, and the session state they touch, stay in this class.
    """

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        result = await super()._handle_eio_connect(eio_sid, environ)
        self.engine_connected(eio_sid)
        return result

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> Any:
        return await self.engine_message(eio_sid, data)

    def engine_connected(self, eio_sid: str) -> None:
        """An Engine.IO session opened (before any Socket.IO CONNECT)."""

    async def engine_message(self, eio_sid: str, data: Any) -> Any:
        """An Engine.IO message arrived; the default hands it to Socket.IO."""
        return await self.deliver_engine_message(eio_sid, data)

    async def deliver_engine_message(self, eio_sid: str, data: Any) -> Any:
        """python-socketio's own handling of a message (raises ValueError on bad JSON)."""
        return await super()._handle_eio_message(eio_sid, data)

    def forget_partial_binary(self, eio_sid: str) -> None:
        """Drop a binary packet python-socketio was collecting attachments for."""
        self._binary_packet.pop(eio_sid, None)

    def engine_session_open(self, eio_sid: str) -> bool:
        return eio_sid in self.environ

    async def send_socketio_packet(self, eio_sid: str, pkt: Any) -> None:
        await self._send_packet(eio_sid, pkt)

    def engine_session_ids(self) -> list[str]:
        """Every Engine.IO session this process holds (handshaken or not)."""
        return list(self.eio.sockets)

    async def close_engine_session(self, eio_sid: str) -> None:
        """End an Engine.IO session and its connection now (a no-op when it is gone)."""
        transport = self.eio.sockets.get(eio_sid)
        if transport is None or transport.closed:
            return
        await self.eio.disconnect(eio_sid)
        # Wake the WebSocket writer so it closes the connection now, even if
        # the client ignores the Engine.IO close packet.
        await transport.queue.put(None)


# -- python-engineio / aiohttp: WebSocket compression ---------------------------------------------


def disable_websocket_compression() -> None:
    """Turn permessage-deflate off for Engine.IO's aiohttp WebSockets.

    aiohttp negotiates compression by default and then deflates every frame
    once per socket: a broadcast to 2,000 players is compressed 2,000 times,
    which costs more CPU than anything else in a question broadcast, for
    messages of a few hundred bytes. python-engineio offers no option for it,
    so its driver's WebSocketResponse is replaced by one created with
    `compress=False`.
    """
    from aiohttp.web import WebSocketResponse
    from engineio.async_drivers import aiohttp as driver

    if not isinstance(driver.WebSocketResponse, functools.partial):
        driver.WebSocketResponse = functools.partial(WebSocketResponse, compress=False)


# -- ormar: the shared connection -----------------------------------------------------------------


def point_database_at(database: DatabaseConnection, url: str, **options: Any) -> None:
    """Aim Ormar's shared (disconnected) connection at `url`, with engine `options`.

    Ormar binds models to one connection object when their classes are defined;
    it offers no setter for the URL, which is only known once settings resolve.
    """
    database._url = url
    database._options.update(options)
