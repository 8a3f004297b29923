"""The Notifier of the game services, implemented with python-socketio rooms."""

from __future__ import annotations

from typing import Any

import socketio
from socketio import packet

from classquiz.library_seam import frame_sender, message_frames
from classquiz.services.notifier import game_room, host_room, players_room


class SocketNotifier:
    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def to_game(self, pin: str, event: str, data: Any) -> None:
        await self.sio.emit(event, data, room=game_room(pin))

    async def to_host(self, pin: str, event: str, data: Any) -> None:
        await self.sio.emit(event, data, room=host_room(pin))

    async def to_players(self, pin: str, event: str, data: Any) -> None:
        await self.sio.emit(event, data, room=players_room(pin))

    async def to_socket(self, sid: str, event: str, data: Any, local: bool = False) -> None:
        # `ignore_queue` keeps a message for a socket of this process off the
        # Redis pub/sub channel, so N per-player messages never cross processes.
        await self.sio.emit(event, data, to=sid, ignore_queue=local)

    async def to_local_sockets(self, event: str, messages: list[tuple[str, Any]]) -> None:
        """Queue one packet per socket straight on its Engine.IO session.

        The reveal sends a different `your_result` to every player; going through
        `sio.emit` for each costs a room lookup and a manager round per message.
        Sockets that left meanwhile are skipped.
        """
        manager = self.sio.manager
        send = frame_sender(self.sio)
        for sid, data in messages:
            eio_sid = manager.eio_sid_from_sid(sid, "/")
            if eio_sid is None:
                continue
            encoded = self.sio.packet_class(
                packet.EVENT, namespace="/", data=[event, data]
            ).encode()
            for frame in message_frames(encoded):
                await send(eio_sid, frame)

    async def disconnect(self, sid: str) -> None:
        await self.sio.disconnect(sid)

    async def enter(self, sid: str, pin: str, role: str) -> None:
        await self.sio.enter_room(sid, game_room(pin))
        await self.sio.enter_room(sid, host_room(pin) if role == "host" else players_room(pin))
