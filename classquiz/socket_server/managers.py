"""Client managers that send a broadcast without one asyncio task per recipient.

python-socketio's AsyncManager encodes a broadcast once, then starts one task
per recipient to queue it. Queuing a packet never waits (each socket's queue is
unbounded and its writer task does the I/O), so creating thousands of tasks
per broadcast is pure overhead at 2,000 players; these managers queue the
packet for each recipient in a plain loop instead. Emits with callbacks (which
need a distinct packet per recipient) keep the library's behaviour.
"""

from __future__ import annotations

from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet


class LoopingAsyncManager(socketio.AsyncManager):
    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None:
            return await super().emit(
                event,
                data,
                namespace,
                room=room,
                skip_sid=skip_sid,
                callback=callback,
                to=to,
                **kwargs,
            )
        room = to or room
        if namespace not in self.rooms:
            return None
        if isinstance(data, tuple):
            args = list(data)
        elif data is not None:
            args = [data]
        else:
            args = []
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        frames = [
            eio_packet.Packet(eio_packet.MESSAGE, part)
            for part in (encoded if isinstance(encoded, list) else [encoded])
        ]
        send = self.server._send_eio_packet  # the library's own send path
        for sid, eio_sid in list(self.get_participants(namespace, room)):
            if sid in skip:
                continue
            for frame in frames:
                await send(eio_sid, frame)
        return None


class LoopingRedisManager(socketio.AsyncRedisManager, LoopingAsyncManager):
    """AsyncRedisManager whose local delivery is the loop above (MRO puts it before
    AsyncManager, so the pub/sub layer's `super().emit` lands here)."""


def disable_websocket_compression() -> None:
    """Turn permessage-deflate off for Engine.IO's aiohttp WebSockets.

    aiohttp negotiates compression by default and then deflates every frame
    once per socket: a broadcast to 2,000 players is compressed 2,000 times,
    which costs more CPU than anything else in a question broadcast, for
    messages of a few hundred bytes. python-engineio offers no option for it,
    so its driver's WebSocketResponse is replaced by one created with
    `compress=False`.
    """
    import functools

    from aiohttp.web import WebSocketResponse
    from engineio.async_drivers import aiohttp as driver

    if not isinstance(driver.WebSocketResponse, functools.partial):
        driver.WebSocketResponse = functools.partial(WebSocketResponse, compress=False)
