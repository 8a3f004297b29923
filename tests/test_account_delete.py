"""A teacher deletes their account: POST /api/v1/account/delete.

Everything the account holds goes at once (quizzes, pictures in the storage, stored
results with every player and answer, API keys, sessions); a game it is hosting ends
for its players; nothing of another account changes; and nothing comes back, not
the results of a game that finishes afterwards. Without the owner's proof (the
username typed again, the password or a recent sign-in, the second factor) nothing
changes at all.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from aiohttp import ClientSession

from classquiz.db.engine import database
from classquiz.db.models import User
from classquiz.errors import Refusal
from classquiz.runtime import Services
from classquiz.services.media_storage import LocalStorage
from classquiz.services.results import ResultService
from classquiz.services.tokens import ACCESS, ALGORITHM
from classquiz.services.users import NO_PASSWORD
from tests.support.live import SocketGroup, create_game
from tests.support.pictures import picture, upload
from tests.support.quizzes import sample_quiz
from tests.support.results import PLAN, count_rows, finished_game
from tests.support.users import ApiUser, register_user, user_id
from tests.test_audit_totp import enable_totp

DELETE = "/api/v1/account/delete"
# Every table with a column naming the account, and that column.
ACCOUNT_COLUMNS = {
    "users": "id",
    "quizzes": "owner_id",
    "media": "owner_id",
    "games": "owner_id",
    "api_keys": "user_id",
    "account_tokens": "user_id",
    "totp_backup_codes": "user_id",
    "oauth_identities": "user_id",
    "passkeys": "user_id",
}


async def rows_of(account_id: uuid.UUID) -> dict[str, int]:
    """How many rows each table holds for the account (0 everywhere once it is deleted)."""
    counts = {}
    async with database.connection() as conn:
        for table, column in ACCOUNT_COLUMNS.items():
            query = sa.text(f"SELECT count(*) FROM {table} WHERE {column}::text = :id")
            counts[table] = (await conn.execute(query, {"id": str(account_id)})).scalar_one()
    return counts


def files_in(folder: Path) -> set[Path]:
    return set(folder.iterdir()) if folder.exists() else set()


def confirmation(user: ApiUser, **extra: Any) -> dict[str, Any]:
    return {"confirm_username": user.username, "password": user.password, **extra}


async def still_there(user: ApiUser) -> None:
    status, me = await user.request("GET", "/api/v1/users/me")
    assert status == 200, me


async def test_deleting_an_account_takes_everything_it_holds(
    http: ClientSession, user: ApiUser, other_user: ApiUser, svc: Services, sockets: SocketGroup
) -> None:
    owner = await user_id(user)
    status, quiz = await user.request("POST", "/api/v1/quizzes", json=sample_quiz(public=True))
    assert status == 201, quiz
    status, media = await upload(user, picture("PNG"))
    assert status == 201, media
    status, key = await user.request("POST", "/api/v1/users/api-keys", json={"name": "script"})
    assert status == 201, key
    stored = finished_game(owner)
    await svc.results.finish(stored)
    live = await create_game(user)
    host = await sockets.host(live)
    player = await sockets.player(live, "Ada")
    kept = finished_game(await user_id(other_user))
    await svc.results.finish(kept)
    _, kept_quiz = await other_user.request("POST", "/api/v1/quizzes", json=sample_quiz())
    assert (await rows_of(owner))["media"] == 1

    async with http.post(DELETE, json=confirmation(user), headers=user.headers) as resp:
        assert resp.status == 204, await resp.text()
        assert resp.cookies["access_token"].value == ""  # the browser's cookie goes too

    # The game being hosted ended for its players, as if the host had ended it.
    finished = await player.wait("game_finished")
    assert finished["game_id"] == live["game_id"]
    await host.wait("game_finished")
    # Every session and key of the account stops working; signing in finds no account.
    for credential in (user.token, key["key"]):
        status, body = await user.request(
            "GET", "/api/v1/users/me", headers={"Authorization": f"Bearer {credential}"}
        )
        assert (status, body["error"]["code"]) == (401, "invalid_token")
    async with http.post(
        "/api/v1/users/login", json={"login": user.username, "password": user.password}
    ) as resp:
        assert resp.status == 401
    # Others no longer find the public quiz; the picture is gone from the storage.
    status, _ = await other_user.request("GET", f"/api/v1/quizzes/{quiz['id']}")
    assert status == 404
    assert await svc.media.storage.open(media["url"].removeprefix("/media/")) is None
    # The live game's results were written before the account went (and went with it)
    # or are dropped when written after: either way nothing is stored, nothing set aside.
    await asyncio.sleep(0.5)
    assert await count_rows(uuid.UUID(live["game_id"])) == (0, 0, 0)
    assert await count_rows(stored.game_id) == (0, 0, 0)
    assert await svc.results.redis.hget(svc.results.dead_letter_key, live["game_id"]) is None
    assert await rows_of(owner) == dict.fromkeys(ACCOUNT_COLUMNS, 0)
    # The other account is untouched.
    await still_there(other_user)
    assert await count_rows(kept.game_id) == (1, 5, len(PLAN))
    status, _ = await other_user.request("GET", f"/api/v1/quizzes/{kept_quiz['id']}")
    assert status == 200
    # The name and address are free again.
    async with http.post(
        "/api/v1/users/register",
        json={"email": user.email, "username": user.username, "password": "another password"},
    ) as resp:
        assert resp.status == 201, await resp.text()


async def test_without_the_owners_proof_nothing_changes(user: ApiUser, svc: Services) -> None:
    owner = await user_id(user)
    await svc.results.finish(finished_game(owner))
    status, _ = await user.request("POST", "/api/v1/quizzes", json=sample_quiz())
    assert status == 201
    before = await rows_of(owner)
    refusals: list[tuple[dict[str, Any], int, str, str | None]] = [
        ({**confirmation(user), "confirm_username": user.username.upper()}, 422,
         "validation_error", "confirm_username"),
        ({"confirm_username": user.username}, 422, "validation_error", "password"),
        (confirmation(user, password="not my password"), 401, "invalid_credentials", "password"),
        ({**confirmation(user), "surprise": 1}, 422, "validation_error", "surprise"),
        ({}, 422, "validation_error", "confirm_username"),
    ]  # fmt: skip
    for body, want_status, want_code, field in refusals:
        status, answer = await user.request("POST", DELETE, json=body)
        assert (status, answer["error"]["code"]) == (want_status, want_code), body
        fields = [d["field"] for d in answer["error"].get("details", [])]
        assert field in fields, answer
    status, answer = await user.request("POST", DELETE, json={"confirm_username": "x"})
    assert answer["error"]["details"][0]["code"] == "mismatch"
    status, answer = await user.request("POST", DELETE, json={"confirm_username": user.username})
    assert answer["error"]["details"][0]["code"] == "missing"
    # An API key never deletes its account, whatever its scope.
    status, key = await user.request("POST", "/api/v1/users/api-keys", json={"name": "script"})
    status, answer = await user.request(
        "POST", DELETE, json=confirmation(user), headers={"Authorization": f"Bearer {key['key']}"}
    )
    assert (status, answer["error"]["code"]) == (403, "forbidden")
    async with user.http.post(DELETE, json=confirmation(user)) as resp:
        assert resp.status == 401  # no session at all
    await still_there(user)
    assert await rows_of(owner) == {**before, "api_keys": 1}


async def test_the_second_factor_is_asked_for_when_it_is_on(user: ApiUser) -> None:
    owner = await user_id(user)
    _, backup_codes = await enable_totp(user)
    status, answer = await user.request("POST", DELETE, json=confirmation(user))
    assert (status, answer["error"]["code"]) == (401, "totp_required")
    status, answer = await user.request("POST", DELETE, json=confirmation(user, totp="000000"))
    assert (status, answer["error"]["code"]) == (401, "invalid_credentials")
    await still_there(user)
    # A backup code: the current step's TOTP code was used up turning two-factor on.
    status, answer = await user.request(
        "POST", DELETE, json=confirmation(user, totp=backup_codes[0])
    )
    assert status == 204, answer
    assert (await rows_of(owner))["users"] == 0


async def test_wrong_passwords_are_limited(user: ApiUser, svc: Services) -> None:
    limit = svc.settings.totp_rate_limit_failures
    for _ in range(limit):
        status, _ = await user.request("POST", DELETE, json=confirmation(user, password="wrong!"))
        assert status == 401
    status, answer = await user.request("POST", DELETE, json=confirmation(user))
    assert (status, answer["error"]["code"]) == (429, "rate_limited")  # even the right one now
    await still_there(user)


def access_token(svc: Services, account: User, issued_ago_s: int) -> str:
    """An access token of `account` as the server signs them, issued `issued_ago_s` ago."""
    now = int(time.time())
    claims = {
        "sub": str(account.id),
        "typ": ACCESS,
        "jti": uuid.uuid4().hex,
        "iat": now - issued_ago_s,
        "exp": now + 3600,
        "gen": account.session_generation,
    }
    return jwt.encode(claims, svc.settings.secret_key, algorithm=ALGORITHM)


async def test_an_account_without_a_password_needs_a_recent_sign_in(
    http: ClientSession, svc: Services
) -> None:
    """An account made by an OpenID sign-in has no password to type: a sign-in of the last
    ten minutes stands for it, so a session left open on a shared computer is not enough."""
    name = "oidc" + uuid.uuid4().hex[:8]
    account = await User.objects.create(
        email=f"{name}@example.org", username=name, password_hash=NO_PASSWORD
    )
    old = {"Authorization": f"Bearer {access_token(svc, account, issued_ago_s=11 * 60)}"}
    fresh = {"Authorization": f"Bearer {access_token(svc, account, issued_ago_s=60)}"}
    async with http.get("/api/v1/users/me", headers=old) as resp:
        me = await resp.json()
        assert resp.status == 200 and me["has_password"] is False

    async with http.post(DELETE, json={"confirm_username": name}, headers=old) as resp:
        answer = await resp.json()
        assert (resp.status, answer["error"]["code"]) == (403, "recent_sign_in_required")
    assert (await rows_of(account.id))["users"] == 1
    async with http.post(DELETE, json={"confirm_username": "someone"}, headers=fresh) as resp:
        assert resp.status == 422
    async with http.post(DELETE, json={"confirm_username": name}, headers=fresh) as resp:
        assert resp.status == 204, await resp.text()
    assert (await rows_of(account.id))["users"] == 0


async def test_results_finishing_after_the_deletion_are_dropped_not_set_aside(
    http: ClientSession, private_results: ResultService
) -> None:
    """A game that finishes after its host's account went (or whose snapshot was parked
    when the account went) is not stored, and not kept as a write that always fails."""
    gone = await register_user(http)
    final, parked = finished_game(await user_id(gone)), finished_game(await user_id(gone))
    status, _ = await gone.request("POST", DELETE, json=confirmation(gone))
    assert status == 204
    assert await private_results.finish(final) is True  # settled: nothing left to store
    await private_results.redis.hset(
        private_results.pending_key, str(parked.game_id), parked.model_dump_json()
    )
    assert await private_results.retry_pending() == 0
    assert await private_results.pending_ids() == []
    for game in (final, parked):
        assert await count_rows(game.game_id) == (0, 0, 0)
        dead = await private_results.redis.hget(private_results.dead_letter_key, str(game.game_id))
        assert dead is None


async def test_set_aside_results_of_the_account_go_with_it(
    http: ClientSession, other_user: ApiUser, svc: Services
) -> None:
    """Snapshots the database refused before (the dead-letter hash, kept for a human)
    hold pupils' answers too: the account's go, nobody else's, and an unreadable one
    (it names no host) stays for a human. The app's own hash: the deletion cleans it."""
    gone = await register_user(http)
    mine, theirs = finished_game(await user_id(gone)), finished_game(await user_id(other_user))
    dead = svc.results.dead_letter_key
    await svc.results.redis.hset(
        dead,
        mapping={
            str(mine.game_id): mine.model_dump_json(),
            str(theirs.game_id): theirs.model_dump_json(),
            "broken": b"\xff not json",
        },
    )
    try:
        status, _ = await gone.request("POST", DELETE, json=confirmation(gone))
        assert status == 204
        left = {key.decode() for key in await svc.results.redis.hkeys(dead)}
        assert str(mine.game_id) not in left
        assert {str(theirs.game_id), "broken"} <= left
    finally:
        await svc.results.redis.hdel(dead, str(mine.game_id), str(theirs.game_id), "broken")


async def test_a_picture_upload_after_the_deletion_leaves_no_file(
    http: ClientSession, svc: Services
) -> None:
    """An upload whose request was signed in before the account went: the quota lock
    finds no account, so the upload is refused and removes the file it had stored."""
    gone = await register_user(http)
    account = await User.objects.get(id=await user_id(gone))
    assert isinstance(svc.media.storage, LocalStorage)
    folder = svc.media.storage.folder
    before = files_in(folder)
    status, _ = await gone.request("POST", DELETE, json=confirmation(gone))
    assert status == 204
    with pytest.raises(Refusal) as refused:
        await svc.media.upload(account, picture("PNG"))
    assert refused.value.code == "invalid_token"
    assert files_in(folder) == before


async def test_deletions_at_once_delete_once(user: ApiUser) -> None:
    owner = await user_id(user)
    statuses = sorted(
        s
        for s, _ in await asyncio.gather(
            *(user.request("POST", DELETE, json=confirmation(user)) for _ in range(3))
        )
    )
    assert statuses[0] == 204 and statuses.count(204) == 1, statuses
    assert set(statuses[1:]) == {401}
    assert await rows_of(owner) == dict.fromkeys(ACCOUNT_COLUMNS, 0)
