"""A WebSocket client's events get the same answers on the short way as on the library's.

`handle_websocket_event` (classquiz/library_seam.py) handles EVENT packets of the
default namespace itself and leaves every other packet to python-socketio. Each
packet below is sent by hand over a real WebSocket to two apps, one with the short
way and one without (`websocket_fast_events`); what the server sends back must be
the same, frame for frame: acks, error acks, silence where the library stays silent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import ClientSession, WSMsgType

from classquiz import SIO
from classquiz.library_seam import DirectSocket
from tests.support.apps import separate_app
from tests.support.live import create_game
from tests.support.sockets import RawSocket, ack_frame
from tests.support.users import register_user

# (who sends it, the Socket.IO packet): every way an event can be well or badly formed.
PACKETS: list[tuple[str, str]] = [
    ("player", '21["submit_answer",{"question_index":0,"answer":1}]'),  # lobby: wrong_state
    ("player", '22["submit_answer",{"question_index":"first"}]'),  # invalid_payload
    ("player", '23["submit_answer"]'),  # no payload at all
    ("player", '24["get_leaderboard",{}]'),  # the host's event: forbidden
    ("player", '25["no_such_event",{}]'),  # not in the contract: no ack
    ("player", '2["submit_answer",{"question_index":0,"answer":1}]'),  # no ack asked
    ("player", '26["submit_answer",'),  # invalid JSON: invalid_payload
    ("player", "27[5]"),  # an event name that is not a string
    ("player", "28[]"),  # no event name
    ("player", '2/other,29["submit_answer",{}]'),  # a namespace it never joined
    ("player", '2123456789012345678["submit_answer",{}]'),  # a long ack id
    ("player", '20016["submit_answer",{}]'),  # an ack id with leading zeros: acked as 16
    ("player", '210["submit_answer",{"question_index":0,"answer":1},"extra"]'),
    ("player", '211["submit_answer",[1,2]]'),  # a payload that is not an object
    ("player", '212["leave"]'),  # a player may leave: ok, then the server disconnects
    ("host", '213["get_leaderboard",{"offset":0,"limit":5}]'),  # ok, with entries
    ("host", '214["kick_player",{"player_id":"nobody"}]'),  # player_not_found
    ("host", '215["lock_game",{"locked":"yes"}]'),  # invalid_payload
]


async def _replies(app_overrides: dict[str, Any], storage: dict[str, str]) -> dict[str, Any]:
    """What each packet got back (ack frames only: events depend on timing), per app."""
    async with (
        separate_app(storage, **app_overrides) as app,
        ClientSession(str(app.make_url(""))) as http,
    ):
        teacher = await register_user(http)
        game = await create_game(teacher)
        host = await RawSocket.open(http, {"host_token": game["host_token"]})
        player = await RawSocket.open(http, {"pin": game["pin"], "nickname": "Careful Crane"})
        sio = app.app[SIO]
        sessions = [s for s in sio.eio.sockets.values() if isinstance(s, DirectSocket)]
        fast = [s.socketio_server is not None for s in sessions]
        out: dict[str, Any] = {"fast": fast}
        for who, text in PACKETS:
            raw = host if who == "host" else player
            await raw.ws.send_str("4" + text)
            out[text] = await _acks_until_quiet(raw)
        await host.ws.close()
        await player.ws.close()
        return out


async def _acks_until_quiet(raw: RawSocket, quiet_s: float = 0.3) -> list[Any]:
    """The ack frames (43...) that arrive before the connection stays quiet for `quiet_s`,
    with their ack ids; a closed connection ends the list with "closed"."""
    acks: list[Any] = []
    while True:
        try:
            msg = await raw.ws.receive(timeout=quiet_s)
        except TimeoutError:
            return acks
        if msg.type != WSMsgType.TEXT:
            acks.append("closed")
            return acks
        text: str = msg.data
        if text == "2":
            await raw.ws.send_str("3")
        elif text.startswith("43"):
            acks.append(list(ack_frame(text)))


async def test_every_packet_gets_the_same_reply_on_both_paths(
    storage: dict[str, str],
    server: Any,  # the shared app owns the database connection the separate apps use
) -> None:
    fast = await _replies({"websocket_fast_events": True}, storage)
    library = await _replies({"websocket_fast_events": False}, storage)
    # The short way was taken by one app's sessions and not by the other's.
    assert fast.pop("fast") == [True, True]
    assert library.pop("fast") == [False, False]
    assert fast == library
    # And the replies are the contract's, not merely equal.
    assert (
        fast['21["submit_answer",{"question_index":0,"answer":1}]'][0][1][0]["error"]["code"]
        == "wrong_state"
    )
    assert fast['22["submit_answer",{"question_index":"first"}]'][0][1][0]["error"] == {
        "code": "invalid_payload",
        "message": fast['22["submit_answer",{"question_index":"first"}]'][0][1][0]["error"][
            "message"
        ],
        "field": "question_index",
    }
    assert fast['25["no_such_event",{}]'] == []
    assert fast['26["submit_answer",'][0][1][0]["error"]["code"] == "invalid_payload"
    assert fast['2123456789012345678["submit_answer",{}]'][0][0] == 123456789012345678
    assert fast['20016["submit_answer",{}]'][0][0] == 16
    assert fast['212["leave"]'][0] == [12, [{"ok": True}]]
    assert fast['213["get_leaderboard",{"offset":0,"limit":5}]'][0] == [
        13,
        [{"ok": True, "entries": [], "total": 0}],
    ]


async def test_a_burst_of_answers_each_gets_its_own_ack_in_order(
    storage: dict[str, str], server: Any
) -> None:
    """Many events in flight on one socket: every ack comes back once, under its own id."""
    async with (
        separate_app(storage, websocket_fast_events=True) as app,
        ClientSession(str(app.make_url(""))) as http,
    ):
        teacher = await register_user(http)
        game = await create_game(teacher)
        player = await RawSocket.open(http, {"pin": game["pin"], "nickname": "Busy Beaver"})
        ids = list(range(100, 160))
        await asyncio.gather(*(player.ws.send_str(f'42{i}["get_leaderboard",{{}}]') for i in ids))
        for i in ids:
            ack = await player.ack(i)
            # The role check, or past the per-socket event rate the limiter's refusal.
            assert ack["error"]["code"] in ("forbidden", "rate_limited")
        assert list(player.acks) == ids  # in the order they were sent, each once
        await player.ws.close()
