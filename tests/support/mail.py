"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for mail tests."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

LINK = re.compile(r"https?://\S+#token=([A-Za-z0-9_%-]+)")


@dataclass
class Inbox:
    """Every message the SMTP server accepted, parsed, in arrival order."""

    messages: list[EmailMessage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    async def wait_for(
        self, address: str, count: int = 1, timeout_s: float = 10.0
    ) -> list[EmailMessage]:
        """The first `count` messages to `address`, waiting for them to arrive."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(self.to(address)) < count:
            if loop.time() > deadline:
                raise AssertionError(f"no mail to {address} within {timeout_s} s")
            await asyncio.sleep(0.02)
        return self.to(address)[:count]


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def link_in(message: EmailMessage) -> tuple[str, str]:
    """(the whole link, its token) of the one link in a mail."""
    match = LINK.search(body_text(message))
    assert match, body_text(message)
    return match.group(0), match.group(1)


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """(inbox, port) of an SMTP server on 127.0.0.1 that accepts everything."""
    inbox = Inbox()
    controller = _started_controller(inbox)
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def _started_controller(inbox: Inbox, attempts: int = 3) -> Controller:
    """A running Controller on a free port of 127.0.0.1.

    aiosmtpd's Controller cannot start on port 0 (it connects to the port to check
    that the server is up), so a free port is asked of the system first; another
    process may take it in between, hence a few attempts. The generous
    ready_timeout is for a loaded CI machine, where the server thread can take
    seconds to come up.
    """
    for attempt in range(attempts):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=30)
        try:
            controller.start()
        except (OSError, RuntimeError, TimeoutError):
            if attempt == attempts - 1:
                raise
            continue
        return controller
    raise AssertionError("unreachable")
