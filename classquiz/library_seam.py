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

import asyncio
import contextlib
import functools
import logging
import re
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import socketio
from aiohttp import WSMsgType
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio.async_socket import AsyncSocket
from ormar.databases.connection import DatabaseConnection

FrameSender = Callable[[str, eio_packet.Packet], Awaitable[None]]
log = logging.getLogger(__name__)


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


# An EVENT packet's head: type 2, a namespace ("/name,") if not the default, an ack id
# if the client wants one. (python-socketio reads the same; here without the JSON.)
_EVENT_HEAD = re.compile(r"2(?:(/[^,]*),)?(\d{0,15})")


def event_head(text: str) -> tuple[str, int | None, int] | None:
    """(namespace, ack id or None, where the JSON starts) of a text Socket.IO EVENT
    packet; None for any other packet."""
    match = _EVENT_HEAD.match(text)
    if match is None:
        return None
    ack_id = int(match.group(2)) if match.group(2) else None
    return match.group(1) or "/", ack_id, match.end()


# -- python-socketio / python-engineio: the connect and message steps -----------------------------


# python-socketio ships no types, so mypy sees its classes as Any.
class EngineHookedServer(socketio.AsyncServer):  # type: ignore[misc]
    """An AsyncServer with public hooks on Engine.IO's private connect and message steps.

    Subclasses override `engine_connected` and `engine_message`; the private
    methods they hook, and the session state they touch, stay in this class.
    """

    # Sessions whose WebSocket frames are written directly (DirectSocket); on by default.
    direct_websocket_writes = True
    # ...and whose events take handle_websocket_event's shorter way (with inline handlers).
    fast_websocket_events = True

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        # Engine.IO has made the session and queued its OPEN packet, and will run its
        # WebSocket handler after this returns: the class swap takes effect there.
        session = self.eio.sockets.get(eio_sid)
        if self.direct_websocket_writes and type(session) is AsyncSocket:
            session.__class__ = DirectSocket
            if self.fast_websocket_events and not self.async_handlers:
                session.socketio_server = self
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

    async def handle_websocket_event(self, socket: DirectSocket, text: str) -> bool:
        """Handle a client event of the default namespace that came over a WebSocket, in
        fewer steps than the library takes; False leaves the packet to the library.

        `text` is a Socket.IO packet (the Engine.IO MESSAGE's data). An answer burst
        is thousands of these a second, and the library's way from frame to handler
        and back (Engine.IO's dispatch, a Packet decoded and another encoded, the
        ack checked for binary data, a second Packet for Engine.IO, the frame) is
        paid by every answer. Here the one case that carries
        nearly all traffic, `2<id>[...]` (an EVENT of namespace "/", with or without
        an ack id), goes from JSON straight to the namespace's handler and its ack
        straight into a frame. Everything else, and anything this does not fully
        understand (other namespaces, invalid JSON, a session not connected to "/"),
        returns False before any effect, so the library handles it exactly as before.
        Only sessions whose handlers run inline get here (`fast_websocket_events`).
        """
        head = event_head(text)
        if head is None:
            return False
        namespace, ack_id, start = head
        if namespace != "/" or text[start : start + 1] != "[":
            return False
        try:
            args = orjson.loads(text[start:])
        except ValueError:
            return False
        if not args or type(args[0]) is not str:
            return False
        sid = self.manager.sid_from_eio_sid(socket.sid, "/")
        if sid is None or not self.manager.is_connected(sid, "/"):
            return False
        result = await self._trigger_event(args[0], "/", sid, *args[1:])
        if ack_id is not None and result != self.not_handled:
            if result is None:
                data = []
            elif isinstance(result, tuple):
                data = list(result)
            else:
                data = [result]
            body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
            await socket.send_frame(websocket_text_frame(b"43%d" % ack_id + body))
        return True

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

    async def close_engine_session(
        self, eio_sid: str, flush_timeout_s: float | None = None
    ) -> None:
        """End an Engine.IO session and its connection now (a no-op when it is gone).

        What is queued for the client (acks, the CLOSE packet) is sent first. With
        `flush_timeout_s`, that wait is bounded: a long-polling client fetches its
        queue only with its next request, which may never reach this process again
        (a stopping one has stopped listening, so the balancer sends it elsewhere).
        """
        transport = self.eio.sockets.get(eio_sid)
        if transport is None or transport.closed:
            return
        if flush_timeout_s is None:
            await self.eio.disconnect(eio_sid)
        else:
            await transport.close(wait=False, reason=self.eio.reason.SERVER_DISCONNECT)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(transport.queue.join(), flush_timeout_s)
            self.eio.sockets.pop(eio_sid, None)
        # Wake the WebSocket writer so it closes the connection now, even if
        # the client ignores the Engine.IO close packet.
        await transport.queue.put(None)


# -- python-engineio / aiohttp: WebSocket frames written straight to the connection ---------------

# A client whose unread frames pass this is not reading: its connection is dropped
# (it reconnects with its token) rather than kept growing in memory.
WEBSOCKET_BACKLOG_LIMIT = 8 * 1024 * 1024
# How long a client told to close (the CLOSE packet) may keep its connection open.
CLOSE_GRACE_S = 2.0
# Sessions still ending after their request task was cancelled (kept until done).
_ENDING: set[asyncio.Future[None]] = set()


def websocket_text_frame(payload: bytes) -> bytes:
    """One final, unmasked RFC 6455 text frame carrying `payload` (a server's frame)."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


def _frame_of(pkt: eio_packet.Packet) -> bytes:
    """The WebSocket frame of an Engine.IO packet, built once per packet: a broadcast
    sends one packet object to every socket, so its frame is encoded once."""
    frame: bytes | None = getattr(pkt, "classquiz_frame", None)
    if frame is None:
        frame = websocket_text_frame(pkt.encode().encode())
        pkt.classquiz_frame = frame
    return frame


def _packet_of(frame: bytes) -> eio_packet.Packet:
    """The Engine.IO packet a frame of `websocket_text_frame` carries (the rare way back)."""
    size = frame[1] & 0x7F
    offset = 2 if size < 126 else 4 if size == 126 else 10
    return eio_packet.Packet(encoded_packet=frame[offset:].decode())


def _abort_if_open(transport: asyncio.Transport) -> None:
    if not transport.is_closing():
        transport.abort()


class DirectSocket(AsyncSocket):  # type: ignore[misc]
    """An Engine.IO session that writes its WebSocket frames directly to the connection.

    python-engineio puts every outgoing packet on the session's queue and wakes a
    writer task to send it, and that task's wait makes a timeout task each time:
    a broadcast to 2,000 players wakes 2,000 tasks, and every answer's ack wakes
    one. Here, once a session speaks WebSocket, a packet becomes its frame (built
    once per packet, so once per broadcast) and is handed to the connection's
    transport at once, which never blocks (the event loop writes it out as the
    client reads). Frames leave in the order they are sent.

    Long-polling sessions, and sessions that upgrade to WebSocket from polling, keep
    the library's own path. The queue stays for what the library puts on it
    directly (the `None` that ends a session); a small task serves it.
    """

    # Set while the WebSocket is open; None before, and after it closed.
    direct_transport: asyncio.Transport | None = None
    # The Socket.IO server this session belongs to (its WebSocket events' fast path).
    socketio_server: EngineHookedServer | None = None

    async def send(self, pkt: eio_packet.Packet) -> None:
        if self.direct_transport is None or pkt.binary:
            await super().send(pkt)
            return
        await self.send_frame(_frame_of(pkt), pkt)

    async def send_frame(self, frame: bytes, pkt: eio_packet.Packet | None = None) -> None:
        """Write a ready WebSocket frame carrying one Engine.IO text packet. Once the
        WebSocket is gone, the packet (`pkt`, or the one the frame carries) takes the
        library's path, as every packet did before direct writes."""
        transport = self.direct_transport
        if transport is None:
            await super().send(pkt if pkt is not None else _packet_of(frame))
            return
        # The library's check, awaited only when it can say no (a closed session, or a
        # ping unanswered for too long): a broadcast makes thousands of sends at once.
        last_ping = self.last_ping
        if self.closed or (last_ping and time.time() - last_ping > self.server.ping_timeout):
            if not await self.check_ping_timeout():
                return
        if transport.is_closing():
            return
        transport.write(frame)
        if transport.get_write_buffer_size() > WEBSOCKET_BACKLOG_LIMIT:
            log.warning("dropped a WebSocket client that stopped reading its frames")
            transport.abort()

    async def _websocket_handler(self, ws: Any) -> None:
        if self.connected:  # type: ignore[has-type]  # an upgrade from long-polling
            await super()._websocket_handler(ws)
            return
        self.connected = True
        self.upgraded = True
        response = ws._sock  # engineio's aiohttp driver keeps its WebSocketResponse here
        transport: asyncio.Transport = ws.environ["aiohttp.request"].transport
        # What was queued before the WebSocket opened (the OPEN packet), in order;
        # no await until direct writes start, so nothing can overtake it.
        while not self.queue.empty():
            queued = self.queue.get_nowait()
            self.queue.task_done()
            if queued is None:
                await response.close()
                return
            transport.write(_frame_of(queued))
        self.direct_transport = transport
        closer = asyncio.ensure_future(self._serve_queue(response, transport))
        try:
            await self._read_frames(response)
        finally:
            # The session ends first (Socket.IO's disconnect handlers run now), then the
            # WebSocket's closing handshake, which may wait for a silent client. aiohttp
            # cancels this request's task once the client's connection is gone, so the
            # end of the session runs in a task of its own that the cancel cannot stop
            # half-way (a player would otherwise stay "online" to the host).
            self.direct_transport = None
            ending = asyncio.ensure_future(self._end(closer))
            _ENDING.add(ending)
            ending.add_done_callback(_ENDING.discard)
            await asyncio.shield(ending)

    async def _end(self, closer: asyncio.Future[None]) -> None:
        await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)
        await self.queue.put(None)
        await closer

    async def _serve_queue(self, response: Any, transport: asyncio.Transport) -> None:
        """Write what the library queues itself; a None closes the WebSocket."""
        while True:
            queued = await self.queue.get()
            self.queue.task_done()
            if queued is None:
                break
            if not transport.is_closing():
                transport.write(_frame_of(queued))
        self.direct_transport = None
        await response.close()

    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        """End the session, then its connection: at once when the client stopped answering
        pings, else after a grace in which a client that got the CLOSE packet closes it
        itself (a stopping worker's drain must not wait on a client that never does)."""
        await super().close(wait=wait, abort=abort, reason=reason)
        transport = self.direct_transport
        if transport is None or transport.is_closing():
            return
        if reason == self.server.reason.PING_TIMEOUT:
            transport.abort()
        else:
            asyncio.get_running_loop().call_later(CLOSE_GRACE_S, _abort_if_open, transport)

    async def _read_frames(self, response: Any) -> None:
        """Hand each incoming frame to Engine.IO until the client goes or stays silent
        past the ping interval plus timeout (aiohttp's own timeout: no task per frame)."""
        timeout = self.server.ping_interval + self.server.ping_timeout
        while True:
            try:
                message = await response.receive(timeout=timeout)
            except (TimeoutError, OSError):
                return
            if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                return
            data = message.data
            fast = self.socketio_server
            if fast is not None and type(data) is str and data[:1] == "4" and not self.closed:
                try:
                    if await fast.handle_websocket_event(self, data[1:]):
                        continue
                except Exception:
                    log.exception("error while handling a WebSocket frame")
                    continue
            try:
                pkt = eio_packet.Packet(encoded_packet=data)
            except ValueError:
                return  # not an Engine.IO packet: the connection goes, as in the library
            try:
                await self.receive(pkt)
            except eio_exceptions.UnknownPacketError:
                continue
            except eio_exceptions.SocketIsClosedError:
                return
            except Exception:
                log.exception("error while handling a WebSocket frame")


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
