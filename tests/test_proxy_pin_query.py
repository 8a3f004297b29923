"""The `pin` in the Socket.IO query string is a routing hint only (docs/protocol.md,
"The PIN in the query string"): the server ignores it, and the handshake's `auth`
alone decides the role and the game. Played against the in-process server, with
python-socketio clients over both transports.
"""

from __future__ import annotations

from tests.support.live import create_game
from tests.support.sockets import Recorder
from tests.support.users import ApiUser


async def test_a_query_pin_of_another_game_changes_nothing(user: ApiUser, base_url: str) -> None:
    game = await create_game(user)
    other = await create_game(user)
    clients: list[Recorder] = []
    try:
        # The host of `game` claims `other`'s PIN in the query: still `game`'s host.
        host = await Recorder(f"{base_url}/?pin={other['pin']}").connect(
            {"host_token": game["host_token"]}
        )
        clients.append(host)
        welcome = await host.wait("welcome")
        assert welcome["role"] == "host"
        assert welcome["game"]["pin"] == game["pin"]

        # A player over long-polling with a stale PIN, and one with junk, join `game`.
        for query, transports in (
            (f"pin={other['pin']}", ["polling"]),
            ("pin=not-a-pin&pin=", ["websocket"]),
        ):
            player = Recorder(f"{base_url}/?{query}", transports=transports)
            clients.append(player)
            await player.connect({"pin": game["pin"], "nickname": f"Q{len(clients)}"})
            joined = await player.wait("welcome")
            assert joined["role"] == "player"
            assert joined["game"]["game_id"] == game["game_id"]
        assert (await host.wait("player_joined", count=2))["players_count"] == 2

        # The query alone admits nobody: no usable `auth` is refused as always.
        stranger = Recorder(f"{base_url}/?pin={game['pin']}")
        refusal = await stranger.try_connect({})
        assert refusal is not None and refusal["code"] == "invalid_token", refusal
        assert host.events["player_joined"][-1]["players_count"] == 2
    finally:
        for client in clients:
            await client.close()
