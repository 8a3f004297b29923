"""The Notifier of the game services, implemented with python-socketio rooms."""

from __future__ import annotations

from typing import Any

import socketio

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

    async def disconnect(self, sid: str) -> None:
        await self.sio.disconnect(sid)
