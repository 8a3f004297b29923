"""What the game services need from the transport, without knowing it is Socket.IO."""

from __future__ import annotations

from typing import Any, Protocol


class Notifier(Protocol):
    async def to_game(self, pin: str, event: str, data: Any) -> None:
        """Everyone in the game: host and players."""

    async def to_host(self, pin: str, event: str, data: Any) -> None: ...

    async def to_players(self, pin: str, event: str, data: Any) -> None: ...

    async def to_socket(self, sid: str, event: str, data: Any, local: bool = False) -> None:
        """One connection; `local` when it is known to be on this process."""

    async def to_local_sockets(self, event: str, messages: list[tuple[str, Any]]) -> None:
        """One message each to many connections of this process (per-player results)."""

    async def disconnect(self, sid: str) -> None: ...

    async def enter(self, sid: str, pin: str, role: str) -> None:
        """Put connection `sid` in game `pin`'s broadcast groups: the whole game's, and
        the host's or the players' by `role`."""


def game_room(pin: str) -> str:
    return f"game:{pin}"


def host_room(pin: str) -> str:
    return f"host:{pin}"


def players_room(pin: str) -> str:
    return f"players:{pin}"


ROOM_KINDS = ("game:", "host:", "players:")


def game_of_room(room: str) -> str | None:
    """The PIN of one of a game's broadcast groups (`game:`, `host:`, `players:`), or
    None for any other room (a socket's own)."""
    for kind in ROOM_KINDS:
        if room.startswith(kind):
            return room[len(kind) :]
    return None
