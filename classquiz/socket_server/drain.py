"""Draining a process's sockets when it is asked to stop (SIGTERM), so nothing is lost.

When a process stops (a restart, a deploy, `serve --workers` passing SIGTERM on),
aiohttp first stops accepting connections, then runs the app's shutdown hooks,
then waits for open requests. Without this drain a WebSocket is an open request
for as long as its client stays, so the process would hang until aiohttp's
timeout and then cut everything at once. Instead, in order:

1. events being handled finish and their acks are queued (an answer in flight is
   stored and acknowledged, not cut in the middle), and the sockets stay open until
   no event has come for a moment (`QUIET_S`, within half the drain's time): an
   answer already on its way over the network is read and acknowledged too,
   instead of being lost with the socket (measured: half of a 50-answer burst sent
   as the signal landed went unacknowledged without this pause);
2. every Engine.IO session is closed at the Engine.IO level (a CLOSE packet, not
   a Socket.IO DISCONNECT): Socket.IO clients treat that as a lost transport and
   reconnect on their own, through the balancer, to another process, where they
   come back with their token. A Socket.IO DISCONNECT would tell them the server
   sent them away for good, and they would not reconnect. Their people are
   marked offline, but their drop does not end a question early
   (everyone else having answered): they are only moving to another process;
3. events that slipped in meanwhile finish too, before the app's cleanup
   (lifecycle.py) stores what is left (results) and closes Redis and the database.

An event whose ack could not be sent before its socket closed was still handled
or not at all; the client did not see an `ok` for it and sends it again after
reconnecting (a second answer to the same question is refused as already given,
so nothing is stored twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from classquiz.library_seam import EngineHookedServer

log = logging.getLogger(__name__)
QUIET_S = 0.2
# How long a closing socket's queued acks and CLOSE packet may take to go out. A
# WebSocket sends them at once; a long-polling client only with its next request,
# which (measured) may not come back here, and an unbounded wait held the stop for 5 s.
FLUSH_S = 1.0


class InFlight:
    """How many client events (and connects) this process is handling right now."""

    def __init__(self) -> None:
        self.count = 0
        self.started = 0
        # Set once the drain begins: a connection that ends from then on ends because
        # this process stops, not because its person left (LiveRoom.drop).
        self.stopping = False
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        self.count += 1
        self.started += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.count -= 1
            if self.count == 0:
                self._idle.set()

    async def settled(self, timeout_s: float) -> bool:
        """Wait until no event is being handled; False if some still were after `timeout_s`."""
        try:
            await asyncio.wait_for(self._idle.wait(), max(timeout_s, 0.0))
        except TimeoutError:
            return False
        return True

    async def quiet(self, quiet_s: float, timeout_s: float) -> bool:
        """Wait until no event is being handled and none started for `quiet_s`;
        False if that moment did not come within `timeout_s`."""
        give_up = time.monotonic() + timeout_s
        while True:
            if not await self.settled(give_up - time.monotonic()):
                return False
            seen = self.started
            if give_up - time.monotonic() < quiet_s:
                return False  # no time left for a whole quiet moment
            await asyncio.sleep(quiet_s)
            if self.started == seen and self.count == 0:
                return True


@dataclass(frozen=True)
class DrainReport:
    sockets_closed: int
    unfinished_events: int
    seconds: float


async def drain_sockets(
    server: EngineHookedServer, in_flight: InFlight, timeout_s: float
) -> DrainReport:
    """Finish the events in flight, close every session so its client moves on, finish again."""
    started = time.monotonic()
    in_flight.stopping = True

    def left() -> float:
        return timeout_s - (time.monotonic() - started)

    await in_flight.quiet(QUIET_S, left() / 2)
    sessions = server.engine_session_ids()
    closing = [
        asyncio.ensure_future(server.close_engine_session(sid, flush_timeout_s=FLUSH_S))
        for sid in sessions
    ]
    if closing:
        done, pending = await asyncio.wait(closing, timeout=max(left(), 0.1))
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.warning("closing a socket at shutdown failed: %r", task.exception())
    settled = await in_flight.settled(left())
    unfinished = 0 if settled else in_flight.count
    report = DrainReport(len(sessions), unfinished, time.monotonic() - started)
    log.log(
        logging.INFO if settled else logging.WARNING,
        "shutdown: closed %d sockets in %.2f s (%d events still being handled)",
        report.sockets_closed,
        report.seconds,
        report.unfinished_events,
    )
    return report
