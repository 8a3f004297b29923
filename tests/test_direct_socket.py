"""A WebSocket session whose frames are written directly (library_seam.DirectSocket) still
ends a connection whose client went silent: the session closes (Engine.IO's ping check),
the connection is cut, and the host sees the player go."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import ClientSession, WSMsgType

from tests.support.apps import separate_app
from tests.support.live import create_game
from tests.support.sockets import RawSocket
from tests.support.users import register_user


async def test_a_client_that_stops_answering_pings_loses_its_connection(
    storage: dict[str, str],
    server: Any,  # the shared app owns the database connection the separate app uses
) -> None:
    async with (
        separate_app(storage, ping_interval_s=0.4, ping_timeout_s=0.4) as app,
        ClientSession(str(app.make_url(""))) as http,
    ):
        teacher = await register_user(http)
        game = await create_game(teacher)
        host = await RawSocket.open(http, {"host_token": game["host_token"]})
        silent = await RawSocket.open(http, {"pin": game["pin"], "nickname": "Quiet Quokka"})
        started = time.monotonic()

        async def host_sees_the_player_go() -> Any:
            # The host answers its pings; it waits for the silent player's status.
            while True:
                msg = await host.ws.receive()
                assert msg.type == WSMsgType.TEXT, msg
                if msg.data == "2":
                    await host.ws.send_str("3")
                elif msg.data.startswith('42["player_status"'):
                    return msg.data

        status = await asyncio.wait_for(host_sees_the_player_go(), 10)
        assert '"connected":false' in status
        # The silent client's connection is closed by the server, not left open.
        closed = await asyncio.wait_for(_until_closed(silent), 5)
        assert closed in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
        assert time.monotonic() - started < 8
        await host.ws.close()


async def _until_closed(raw: RawSocket) -> WSMsgType:
    """Read (without answering pings) until the server ends the connection."""
    while True:
        msg = await raw.ws.receive()
        if msg.type != WSMsgType.TEXT:
            return msg.type
