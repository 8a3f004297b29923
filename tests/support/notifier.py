"""An in-memory Notifier: the game services' transport, kept as a list of what was sent.

The services only speak to players through the `Notifier` protocol; the server's
implementation sends Socket.IO packets. This one records every call instead, so a
test can drive the room's steps (authorize, join, drop, reconnect, leave, dispose,
the host's commands) straight on the services, against the real Redis, in
milliseconds and without a socket, and then read what each audience was told.
It is not a mock of our code: it is a second, trivial implementation of a port.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Audience = Literal["game", "host", "players", "socket"]


@dataclass(frozen=True)
class Sent:
    """One message: to whom (`audience` and its `target`: a PIN, or a socket id), what."""

    audience: Audience
    target: str
    event: str
    data: Any


@dataclass
class InMemoryNotifier:
    """Records what the services send; implements `classquiz.services.notifier.Notifier`."""

    sent: list[Sent] = field(default_factory=list)
    disconnected: list[str] = field(default_factory=list)
    entered: list[tuple[str, str, str]] = field(default_factory=list)  # (sid, pin, role)

    async def to_game(self, pin: str, event: str, data: Any) -> None:
        self.sent.append(Sent("game", pin, event, data))

    async def to_host(self, pin: str, event: str, data: Any) -> None:
        self.sent.append(Sent("host", pin, event, data))

    async def to_players(self, pin: str, event: str, data: Any) -> None:
        self.sent.append(Sent("players", pin, event, data))

    async def to_socket(self, sid: str, event: str, data: Any, local: bool = False) -> None:
        self.sent.append(Sent("socket", sid, event, data))

    async def to_local_sockets(self, event: str, messages: list[tuple[str, Any]]) -> None:
        for sid, data in messages:
            self.sent.append(Sent("socket", sid, event, data))

    async def disconnect(self, sid: str) -> None:
        self.disconnected.append(sid)

    async def enter(self, sid: str, pin: str, role: str) -> None:
        self.entered.append((sid, pin, role))

    def to(self, audience: Audience, target: str) -> list[tuple[str, Any]]:
        """(event, data) of every message `audience` `target` was sent, in order."""
        return [
            (m.event, m.data) for m in self.sent if (m.audience, m.target) == (audience, target)
        ]

    def take(self) -> list[Sent]:
        """Everything sent since the last `take`, so each step is checked on its own."""
        sent, self.sent = self.sent, []
        return sent
