"""A class for fault drills: many real Socket.IO players that come back after losing their server.

Each `DrillClient` is a host or a player (python-socketio, on WebSocket or on
long-polling only) that, when its connection drops without being asked to,
reconnects on its own with its token, as socket.io-client does, and keeps a log
of what a person would have seen: when it was without a connection (`outages`),
every `welcome`, every event and every answer's ack. `entry_urls` says where a
reconnect may go: Caddy's one URL, or the workers' URLs tried in turn (standing in
for a balancer that skips a dead one).

Python clients rather than Node: 100 of them in the test's own event loop join,
answer and reconnect in well under a second each on this machine, and the test
reads their state directly instead of parsing a child process's report.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import socketio
from aiohttp import ClientError, ClientSession

RECONNECT_GIVE_UP_S = 30.0
RECONNECT_PAUSE_S = 0.1


@dataclass
class Outage:
    """A stretch without a connection: from the drop to the next `welcome`."""

    dropped_at: float
    back_at: float | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.back_at is None else self.back_at - self.dropped_at


@dataclass
class DrillClient:
    """One person in the class (`auth` is the first handshake; later ones use the token)."""

    name: str
    entry_urls: list[str]
    auth: dict[str, Any]
    # WebSocket, or HTTP long-polling only (a network that blocks WebSockets).
    transport: str = "websocket"
    events: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    welcomes: list[dict[str, Any]] = field(default_factory=list)
    outages: list[Outage] = field(default_factory=list)
    refusals: list[dict[str, Any]] = field(default_factory=list)
    connect_attempts: int = 0
    client: socketio.AsyncClient | None = None
    closing: bool = False
    _reconnecting: asyncio.Task[None] | None = None
    _welcomed: asyncio.Event = field(default_factory=asyncio.Event)
    _urls: Iterator[str] | None = None

    @property
    def token_auth(self) -> dict[str, Any]:
        if "host_token" in self.auth:
            return {"host_token": self.auth["host_token"]}
        player = self.welcomes[0]["player"]
        return {"player_token": player["player_token"]}

    @property
    def player(self) -> dict[str, Any]:
        return dict(self.welcomes[0]["player"])

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.connected

    def _next_url(self) -> str:
        if self._urls is None:
            self._urls = itertools.cycle(self.entry_urls)
        return next(self._urls)

    async def connect(self, timeout: float = 15) -> DrillClient:
        """The first connection; returns once its `welcome` has arrived."""
        try:
            await self._open(self._next_url(), self.auth)
        except socketio.exceptions.ConnectionError as exc:
            raise AssertionError(f"{self.name} refused: {self.refusals}") from exc
        await asyncio.wait_for(self._welcomed.wait(), timeout)
        return self

    async def _open(self, url: str, auth: dict[str, Any]) -> None:
        client = socketio.AsyncClient(reconnection=False)
        self._welcomed.clear()

        @client.on("*")
        async def on_event(event: str, data: Any = None) -> None:
            self.events[event].append(data)
            if event == "welcome":
                self.welcomes.append(data)
                if self.outages and self.outages[-1].back_at is None:
                    self.outages[-1].back_at = time.monotonic()
                self._welcomed.set()

        @client.on("connect_error")
        async def on_connect_error(data: Any = None) -> None:
            self.refusals.append({"url": url, "data": data})

        @client.on("disconnect")
        async def on_disconnect(*_: Any) -> None:
            if self.closing or client is not self.client:
                return
            if self.events.get("replaced") or self.events.get("kicked"):
                return  # the protocol says: do not come back
            self.outages.append(Outage(time.monotonic()))
            self._reconnecting = asyncio.ensure_future(self._reconnect())

        self.client = client
        self.connect_attempts += 1
        await client.connect(url, auth=auth, transports=[self.transport], wait_timeout=5)

    async def _reconnect(self) -> None:
        """Come back with the token, as socket.io-client's reconnection would."""
        give_up = time.monotonic() + RECONNECT_GIVE_UP_S
        while not self.closing and time.monotonic() < give_up:
            old = self.client
            try:
                await self._open(self._next_url(), self.token_auth)
                await asyncio.wait_for(self._welcomed.wait(), 5)
                return
            except (socketio.exceptions.ConnectionError, TimeoutError, OSError):
                if self.client is not None and self.client is not old:
                    with contextlib.suppress(Exception):
                        await self.client.disconnect()
                await asyncio.sleep(RECONNECT_PAUSE_S)

    async def move_to(self, url: str, timeout: float = 10) -> None:
        """Take this person's place over on `url` (a second connection with the token wins;
        the old one is told `replaced` and closed by the server)."""
        await self._open(url, self.token_auth)
        await asyncio.wait_for(self._welcomed.wait(), timeout)

    async def back(self, timeout: float = 20) -> None:
        """Until a reconnect in progress has its `welcome`."""
        deadline = time.monotonic() + timeout
        while self._reconnecting is not None and not self._reconnecting.done():
            assert time.monotonic() < deadline, f"{self.name} did not come back"
            await asyncio.sleep(0.02)
        assert self.connected and self._welcomed.is_set(), f"{self.name} is not connected"

    async def call(self, event: str, data: Any, timeout: float = 5) -> dict[str, Any] | None:
        """The ack, or None when the connection was lost before it came (no `ok` seen)."""
        client = self.client
        if client is None or not client.connected:
            return None
        try:
            ack: dict[str, Any] = await client.call(event, data, timeout=timeout)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
            return None
        except socketio.exceptions.DisconnectedError:
            return None
        return ack

    async def wait_for(
        self, event: str, match: dict[str, Any] | None = None, timeout: float = 15
    ) -> Any:
        """The first `event` (on any of this client's connections) whose data has `match`."""
        deadline = time.monotonic() + timeout
        while True:
            for data in self.events[event]:
                if not match or all(data.get(k) == v for k, v in match.items()):
                    return data
            if time.monotonic() > deadline:
                seen = {k: len(v) for k, v in self.events.items()}
                raise TimeoutError(f"{self.name}: no {event} {match}; has {seen}")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        self.closing = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        if self.client is not None and self.client.connected:
            with contextlib.suppress(Exception):
                await self.client.disconnect()


async def join_class(
    entry_urls: list[str],
    pin: str,
    count: int,
    prefix: str = "Racer",
    batch: int = 25,
    polling_every: int = 0,
) -> list[DrillClient]:
    """`count` players joined to the game, in batches (each welcomed before the next);
    with `polling_every` n, every n-th player long-polls instead of using a WebSocket."""
    players: list[DrillClient] = []
    for start in range(0, count, batch):
        group = [
            DrillClient(
                f"{prefix}{i}",
                entry_urls[i % len(entry_urls) :] + entry_urls[: i % len(entry_urls)],
                {"pin": pin, "nickname": f"{prefix} {i}"},
                "polling" if polling_every and i % polling_every == 0 else "websocket",
            )
            for i in range(start, min(start + batch, count))
        ]
        await asyncio.gather(*(p.connect() for p in group))
        players.extend(group)
    return players


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def worker_port(pid: int) -> int | None:
    """The port a `serve` worker was started on, read from its command line."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    for flag, value in itertools.pairwise(args):
        if flag == b"--port":
            return int(value)
    return None


def children(pid: int) -> list[int]:
    """A process's children, from /proc (the supervisor's are its workers)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def workers_by_port(supervisor_pid: int) -> dict[int, int]:
    """port -> pid of the supervisor's live workers."""
    found = {}
    for pid in children(supervisor_pid):
        port = worker_port(pid)
        if port is not None:
            found[port] = pid
    return found


def pid_exited(pid: int) -> bool:
    """True once `pid` is gone or a zombie (not our child, so no wait())."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


async def wait_url_ready(url: str, timeout: float = 30) -> None:
    """Until `url`/readyz answers 200 (a restarted worker is back)."""
    deadline = time.monotonic() + timeout
    async with ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(f"{url}/readyz") as resp:
                    if resp.status == 200:
                        return
            except (ClientError, OSError):
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} not ready in {timeout} s")


async def socket_count(worker_url: str) -> int:
    """Admitted Socket.IO connections one worker holds, from its /metrics (debug mode)."""
    async with ClientSession() as http, http.get(f"{worker_url}/metrics") as resp:
        assert resp.status == 200, resp.status
        text = await resp.text()
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in text.splitlines()
        if line.startswith("classquiz_socket_connections{")
    )
