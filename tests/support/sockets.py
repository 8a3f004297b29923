"""Real Socket.IO clients for tests: connect with an `auth` object (and optional HTTP
headers, e.g. X-Forwarded-For), record every event."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any

import socketio
from aiohttp import ClientSession, WSMsgType


def ack_frame(text: str) -> tuple[int, list[Any]]:
    """The ack id and the arguments of a Socket.IO ACK frame ("43<id>[...]"), read here
    by the test client itself rather than by the server's own parser."""
    digits = ""
    for char in text[2:]:
        if not char.isdigit():
            break
        digits += char
    return int(digits), json.loads(text[2 + len(digits) :])


class Recorder:
    """A python-socketio AsyncClient that keeps every received event in order."""

    def __init__(
        self,
        url: str,
        transports: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self.transports = transports or ["websocket"]
        self.headers = headers or {}
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, list[Any]] = defaultdict(list)
        self.order: list[str] = []
        self._waiters: dict[str, list[asyncio.Future[Any]]] = defaultdict(list)
        self.connect_error: Any = None

        @self.client.on("*")
        async def catch_all(event: str, data: Any = None) -> None:
            self._record(event, data)

        @self.client.on("connect_error")
        async def on_connect_error(data: Any) -> None:
            self.connect_error = data

    def _record(self, event: str, data: Any) -> None:
        self.events[event].append(data)
        self.order.append(event)
        for future in self._waiters.pop(event, []):
            if not future.done():
                future.set_result(data)

    async def connect(self, auth: dict[str, Any]) -> Recorder:
        await self.client.connect(
            self.url, headers=self.headers, auth=auth, transports=self.transports, wait_timeout=10
        )
        return self

    async def try_connect(self, auth: Any) -> Any:
        """Connect expecting a refusal; returns the connect_error data (or None if accepted)."""
        try:
            await self.client.connect(
                self.url,
                headers=self.headers,
                auth=auth,
                transports=self.transports,
                wait_timeout=10,
            )
        except socketio.exceptions.ConnectionError:
            await asyncio.sleep(0)
            return self.connect_error
        return None

    async def wait(self, event: str, timeout: float = 10, count: int = 1) -> Any:
        """The `count`-th occurrence of `event` (waiting for it if needed)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.events[event]) < count:
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._waiters[event].append(future)
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no {event!r} #{count}; got {self.order[-10:]}")
            try:
                await asyncio.wait_for(future, remaining)
            except TimeoutError:
                raise TimeoutError(f"no {event!r} #{count}; got {self.order[-10:]}") from None
        return self.events[event][count - 1]

    async def call(self, event: str, data: Any = None, timeout: float = 10) -> Any:
        return await self.client.call(event, {} if data is None else data, timeout=timeout)

    async def close(self) -> None:
        if self.client.connected:
            await self.client.disconnect()


class RawSocket:
    """Socket.IO spoken by hand over one WebSocket, to send what no client library would."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.acks: dict[int, Any] = {}

    @classmethod
    async def open(cls, http: ClientSession, auth: dict[str, Any]) -> RawSocket:
        ws = await http.ws_connect("/socket.io/?EIO=4&transport=websocket")
        opened = await ws.receive_str(timeout=5)
        assert opened.startswith("0{"), opened
        await ws.send_str("40" + json.dumps(auth))
        raw = cls(ws)
        while True:
            text = await ws.receive_str(timeout=5)
            if text.startswith("40{"):
                return raw

    async def ack(self, ack_id: int, timeout: float = 3) -> Any:
        async with asyncio.timeout(timeout):
            while ack_id not in self.acks:
                msg = await self.ws.receive()
                assert msg.type == WSMsgType.TEXT, msg
                text: str = msg.data
                if text == "2":
                    await self.ws.send_str("3")
                elif text.startswith("43"):
                    ack_id_read, args = ack_frame(text)
                    self.acks[ack_id_read] = args[0]
        return self.acks[ack_id]
