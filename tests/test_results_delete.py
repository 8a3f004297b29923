"""A host deletes a finished game's results: DELETE /api/v1/results/{game_id}.

The players and answers go at once; every read (overview, players, export, the list, a
player's own page) answers as if the game had never been stored; nobody else can delete
them; and nothing brings them back: not a snapshot still parked in Redis, not a repeated
finish, not a second deletion racing the first.
"""

from __future__ import annotations

import asyncio
import uuid

from classquiz.db.models import User
from classquiz.runtime import Services
from classquiz.services.results import ResultService
from classquiz.services.tokens import PLAYER
from tests.support.results import PLAN, count_rows, finished_game, game_row
from tests.support.users import ApiUser, user_id


async def _account(user: ApiUser) -> User:
    """The API user's row, as the services take it."""
    return await User.objects.get(id=await user_id(user))


async def test_the_host_deletes_results_and_every_read_forgets_them(
    user: ApiUser, svc: Services
) -> None:
    owner = await user_id(user)
    final, kept = finished_game(owner), finished_game(owner, title="Kept")
    await svc.results.finish(final)
    await svc.results.finish(kept)
    bob = final.players[1].player_id
    token, _ = svc.signer.issue(str(bob), PLAYER, 3600, gid=str(final.game_id))
    player = {"Authorization": f"Bearer {token}"}
    base = f"/api/v1/results/{final.game_id}"
    assert (await user.request("GET", f"{base}/me", headers=player))[0] == 200

    status, body = await user.request("DELETE", base)
    assert status == 204, body

    for path in (base, f"{base}/players", f"{base}/export?format=csv"):
        status, body = await user.request("GET", path)
        assert (status, body["error"]["code"]) == (404, "game_not_found"), path
    status, body = await user.request("GET", f"{base}/me", headers=player)
    assert (status, body["error"]["code"]) == (404, "game_not_found")
    status, listed = await user.request("GET", "/api/v1/results")
    assert [item["game_id"] for item in listed["items"]] == [str(kept.game_id)]
    assert listed["total"] == 1
    # Only a blank tombstone is left of the game; the other game is untouched.
    assert await count_rows(final.game_id) == (1, 0, 0)
    row = await game_row(final.game_id)
    assert row.deleted_at is not None
    assert (row.title, row.pin, row.questions, row.players_count) == ("", "", [], 0)
    assert await count_rows(kept.game_id) == (1, 5, len(PLAN))
    # Deleted once: a second deletion finds nothing.
    status, body = await user.request("DELETE", base)
    assert (status, body["error"]["code"]) == (404, "game_not_found")


async def test_nobody_but_the_host_deletes(
    user: ApiUser, other_user: ApiUser, svc: Services
) -> None:
    final = finished_game(await user_id(user))
    await svc.results.finish(final)
    path = f"/api/v1/results/{final.game_id}"
    status, body = await other_user.request("DELETE", path)
    assert (status, body["error"]["code"]) == (404, "game_not_found")  # existence stays hidden
    async with user.http.delete(path) as resp:
        assert resp.status == 401
    bob = final.players[1].player_id
    token, _ = svc.signer.issue(str(bob), PLAYER, 3600, gid=str(final.game_id))
    async with user.http.delete(path, headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 401  # a player token is no session
    for bad in ("not-a-uuid", str(uuid.uuid4())):
        status, body = await user.request("DELETE", f"/api/v1/results/{bad}")
        assert (status, body["error"]["code"]) == (404, "game_not_found"), bad
    assert await count_rows(final.game_id) == (1, 5, len(PLAN))
    assert (await game_row(final.game_id)).deleted_at is None


async def test_a_parked_snapshot_or_a_repeated_finish_never_brings_results_back(
    user: ApiUser, private_results: ResultService
) -> None:
    """The exactly-once write skips a game whose row exists; a deleted game keeps its row."""
    final = finished_game(await user_id(user))
    assert await private_results.finish(final) is True
    await private_results.delete(final.game_id, await _account(user))
    # A crash between commit and HDEL would have left the snapshot parked: the retry pass
    # finds the tombstone, writes nothing and unparks it.
    await private_results.redis.hset(
        private_results.pending_key, str(final.game_id), final.model_dump_json()
    )
    assert await private_results.retry_pending() == 0
    assert await private_results.pending_ids() == []
    assert await private_results.finish(final) is True  # "stored": already there, as a tombstone
    assert await count_rows(final.game_id) == (1, 0, 0)


async def test_two_deletions_at_once_one_wins(user: ApiUser, svc: Services) -> None:
    final = finished_game(await user_id(user))
    await svc.results.finish(final)
    path = f"/api/v1/results/{final.game_id}"
    statuses = sorted(
        s for s, _ in await asyncio.gather(*(user.request("DELETE", path) for _ in range(4)))
    )
    assert statuses == [204, 404, 404, 404]
    assert await count_rows(final.game_id) == (1, 0, 0)
