"""Audit finding 8: players who leave (or are kicked) in the lobby are forgotten.

They never played, so a join/leave loop must neither grow the roster in Redis
past `max_players` nor put hundreds of never-played names into the stored
results. A player who leaves once the game has started stays in the results.
"""

from __future__ import annotations

from redis.asyncio import Redis

from classquiz.game.keys import GameKeys
from tests.support.live import SocketGroup, create_game, paced, stored_results, wait_disconnected
from tests.support.quizzes import single_choice
from tests.support.users import ApiUser

CYCLES = 100
KICKS = 10


async def test_lobby_churn_is_forgotten_and_never_stored(
    user: ApiUser, sockets: SocketGroup, redis_client: Redis, storage: dict[str, str]
) -> None:
    game = await create_game(user, [single_choice("One")], settings={"max_players": 2})
    pin = game["pin"]
    keys = GameKeys(storage["redis_prefix"], pin)
    host = await sockets.host(game)

    first_token = ""
    for i in range(CYCLES):
        player = await sockets.player(game, f"Churn{i}")
        first_token = first_token or player.events["welcome"][0]["player"]["player_token"]
        assert await player.call("leave") == {"ok": True}
        await wait_disconnected(player)
    for i in range(KICKS):
        player = await sockets.player(game, f"Kicked{i}")
        player_id = player.events["welcome"][0]["player"]["player_id"]
        assert (await paced(host, "kick_player", {"player_id": player_id}))["ok"]
        await wait_disconnected(player)
    troll = await sockets.player(game, "Troll")
    troll_me = troll.events["welcome"][0]["player"]
    ack = await paced(host, "kick_player", {"player_id": troll_me["player_id"], "ban": True})
    assert ack["ok"]
    await wait_disconnected(troll)
    await host.wait("player_left", count=CYCLES + KICKS + 1)

    # Nothing of them is left in the roster, and the seats are all free.
    assert await redis_client.hlen(keys.players) == 0
    assert await redis_client.zcard(keys.scores) == 0
    assert await redis_client.hlen(keys.streaks) == 0
    # a left player's token is dead, the banned one still says so (SPEC §4)
    assert await sockets.refused({"player_token": first_token}) == "invalid_token"
    assert await sockets.refused({"player_token": troll_me["player_token"]}) == "banned"
    assert await sockets.refused({"pin": pin, "nickname": "Troll"}) == "banned"
    ada = await sockets.player(game, "Ada")
    bob = await sockets.player(game, "Churn0")  # a left player's nickname is free again
    assert await sockets.refused({"pin": pin, "nickname": "Cyd"}) == "game_full"
    assert await redis_client.hlen(keys.players) == 2
    host = await sockets.host(game)  # a fresh host socket (it replaces the first) sees the roster
    roster = host.events["welcome"][0]["game"]["players"]
    assert [p["nickname"] for p in roster] == ["Ada", "Churn0"]

    # Once the game runs, leaving keeps the player in the results.
    assert (await paced(host, "start_game"))["ok"]
    await ada.wait("question_started")
    assert (await paced(bob, "submit_answer", {"question_index": 0, "answer": 0}))["ok"]
    assert await bob.call("leave") == {"ok": True}
    assert (await paced(ada, "submit_answer", {"question_index": 0, "answer": 1}))["ok"]
    await host.wait("question_ended")
    assert (await paced(host, "next_question")) == {"ok": True, "finished": True}

    results = await stored_results(user, game["game_id"])
    assert sorted(p["nickname"] for p in results["players"]) == ["Ada", "Churn0"]
