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
from socketio import packet

from classquiz.library_seam import frame_sender, message_frames


# python-socketio ships no types, so mypy sees its classes as Any.
class LoopingAsyncManager(socketio.AsyncManager):  # type: ignore[misc]
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
            await super().emit(
                event,
                data,
                namespace,
                room=room,
                skip_sid=skip_sid,
                callback=callback,
                to=to,
                **kwargs,
            )
            return
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
        frames = message_frames(encoded)
        send = frame_sender(self.server)
        for sid, eio_sid in list(self.get_participants(namespace, room)):
            if sid in skip:
                continue
            for frame in frames:
                await send(eio_sid, frame)
        return None


# python-socketio ships no types, so mypy sees its classes as Any.
class LoopingRedisManager(socketio.AsyncRedisManager, LoopingAsyncManager):  # type: ignore[misc]
    """AsyncRedisManager whose local delivery is the loop above (MRO puts it before
    AsyncManager, so the pub/sub layer's `super().emit` lands here)."""
