"""Building the python-socketio server with the transport settings of SPEC §2 and §4."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import socketio
from socketio import packet

from classquiz.config import Settings
from classquiz.library_seam import (
    EngineHookedServer,
    disable_websocket_compression,
    event_head,
)
from classquiz.services.tasks import KeptTasks

log = logging.getLogger(__name__)
HANDSHAKE_TIMEOUT_S = 10.0


class OrjsonCodec:
    """python-socketio's `json` hook: orjson encodes each broadcast once, fast."""

    @staticmethod
    def dumps(obj: object, **_: object) -> str:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()

    @staticmethod
    def loads(text: str | bytes, **_: object) -> object:
        return orjson.loads(text)


class GuardedAsyncServer(EngineHookedServer):
    """An AsyncServer that closes Engine.IO connections which never complete a handshake.

    A transport that connects but sends no accepted Socket.IO CONNECT (no auth,
    or a refused one) within `handshake_timeout_s` is closed, so idle or refused
    connections cannot pile up. (Engine.IO's steps are reached through the library seam.)
    """

    def __init__(
        self, *args: Any, handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.handshake_timeout_s = handshake_timeout_s
        # The idle checks run long after the connect step that schedules them.
        self.idle_checks = KeptTasks()

    def engine_connected(self, eio_sid: str) -> None:
        asyncio.get_running_loop().call_later(
            self.handshake_timeout_s,
            lambda: self.idle_checks.spawn(self._drop_if_idle(eio_sid)),
        )

    async def engine_message(self, eio_sid: str, data: Any) -> Any:
        """Close binary senders; answer an undecodable event that asked for an ack.

        Our protocol is JSON only, so a binary frame or a BINARY_EVENT/BINARY_ACK
        header can only come from a broken or hostile client. python-socketio
        would keep every frame after such a header until the count it announces
        (up to a million) has arrived, outside any event or size limit; instead
        the connection is closed at once and nothing is kept.

        python-socketio drops a packet whose JSON does not parse (or nests too
        deep for the decoder) before reading its ack id, leaving the client
        waiting; the connection itself is kept (SPEC §2).
        """
        if is_binary_packet(data):
            self.forget_partial_binary(eio_sid)
            log.warning("closed a Socket.IO connection that sent binary data")
            await self.close_engine_session(eio_sid)
            return None
        try:
            return await self.deliver_engine_message(eio_sid, data)
        except ValueError:
            target = _event_ack_target(data)
            if target is None:
                return None
            namespace, ack_id = target
            if self.manager.sid_from_eio_sid(eio_sid, namespace) is None:
                return None
            error = {"code": "invalid_payload", "message": "the message is not valid JSON"}
            await self.send_socketio_packet(
                eio_sid,
                self.packet_class(
                    packet.ACK, namespace=namespace, data=[{"ok": False, "error": error}], id=ack_id
                ),
            )
            return None

    async def _drop_if_idle(self, eio_sid: str) -> None:
        if not self.engine_session_open(eio_sid):
            return  # already gone
        if self.manager.sid_from_eio_sid(eio_sid, "/") is None:
            await self.close_engine_session(eio_sid)


def is_binary_packet(data: Any) -> bool:
    """A binary Engine.IO frame, or a Socket.IO BINARY_EVENT (5) / BINARY_ACK (6) header."""
    if isinstance(data, bytes | bytearray | memoryview):
        return True
    return isinstance(data, str) and data[:1] in ("5", "6")


def _event_ack_target(data: Any) -> tuple[str, int] | None:
    """(namespace, ack id) of a text EVENT packet that asks for an ack, read without its JSON."""
    head = event_head(data) if isinstance(data, str) else None
    if head is None or head[1] is None:
        return None
    return head[0], head[1]


def socketio_origins(settings: Settings) -> str | list[str]:
    """The same origins as REST CORS: `*` stays a wildcard."""
    if "*" in settings.cors_origins:
        return "*"
    # Browsers send Origin without a trailing slash; match REST CORS, which strips it.
    return [origin.rstrip("/") for origin in settings.cors_origins]


def create_socket_server(
    settings: Settings, client_manager: socketio.AsyncManager | None = None
) -> socketio.AsyncServer:
    if not settings.websocket_compression:
        disable_websocket_compression()
    server = GuardedAsyncServer(
        async_mode="aiohttp",
        client_manager=client_manager,
        cors_allowed_origins=socketio_origins(settings),
        ping_interval=settings.ping_interval_s,
        ping_timeout=settings.ping_timeout_s,
        max_http_buffer_size=settings.max_message_bytes,
        json=OrjsonCodec,
        logger=False,
        engineio_logger=False,
        async_handlers=not settings.socket_events_inline,
        handshake_timeout_s=settings.handshake_timeout_s,
    )
    server.direct_websocket_writes = settings.websocket_direct_writes
    server.fast_websocket_events = settings.websocket_fast_events
    return server
