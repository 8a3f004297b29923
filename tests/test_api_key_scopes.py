"""API keys: scope (read-only or full), expiry, and no key may manage credentials.

Every write route the app declares is tried with a read-only key, so a route
added later is covered without editing this file.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from aiohttp import ClientSession

from classquiz import ROUTERS
from classquiz.db.models import ApiKey, utcnow
from classquiz.services.api_keys import hash_api_key
from tests.support.quizzes import sample_quiz
from tests.support.users import ApiUser

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CREDENTIAL_ROUTES = [
    ("POST", "/api/v1/users/api-keys", {"name": "more"}),
    ("GET", "/api/v1/users/api-keys", None),
    ("DELETE", f"/api/v1/users/api-keys/{uuid.uuid4()}", None),
    ("POST", "/api/v1/users/totp/setup", None),
    ("POST", "/api/v1/users/totp/enable", {"code": "123456"}),
    ("POST", "/api/v1/users/totp/disable", {"code": "123456"}),
    ("POST", "/api/v1/users/totp/backup-codes", {"code": "123456"}),
    ("POST", "/api/v1/account/password", {"current_password": "x", "new_password": "y" * 8}),
    ("POST", "/api/v1/account/sign-out-everywhere", None),
    ("POST", "/api/v1/account/verify-email/send", None),
    ("POST", "/api/v1/account/delete", {"confirm_username": "x", "password": "y"}),
]


async def new_key(user: ApiUser, **body: Any) -> ApiUser:
    status, created = await user.request("POST", "/api/v1/users/api-keys", json=body)
    assert status == 201, created
    return ApiUser(user.http, user.username, user.email, user.password, created["key"])


def concrete(path: str) -> str:
    """A declared path with its placeholders filled (`{pin}` → a PIN, ids → a UUID)."""
    return re.sub(
        r"\{(\w+)\}", lambda m: "123456" if m.group(1) == "pin" else str(uuid.uuid4()), path
    )


async def test_a_read_only_key_is_refused_on_every_write_route(user: ApiUser) -> None:
    reader = await new_key(user, name="reader", scope="read")
    writes = [
        ep
        for router in ROUTERS
        for ep in router.endpoints
        if ep.method in WRITE_METHODS and ep.auth == "user"
    ]
    families = {ep.path.split("/")[3] for ep in writes}
    assert {"users", "account", "quizzes", "games"} <= families, families
    for ep in writes:
        status, body = await reader.request(ep.method, concrete(ep.path), json={})
        assert status == 403, (ep.method, ep.path, status, body)
        assert body["error"]["code"] == "forbidden"
    # nothing was created on the way
    status, quizzes = await user.request("GET", "/api/v1/quizzes")
    assert status == 200
    assert quizzes["total"] == 0


async def test_a_read_only_key_reads(user: ApiUser) -> None:
    status, quiz = await user.request("POST", "/api/v1/quizzes", json=sample_quiz(title="Readable"))
    assert status == 201, quiz
    reader = await new_key(user, name="reader", scope="read")
    status, body = await reader.request("GET", f"/api/v1/quizzes/{quiz['id']}")
    assert status == 200 and body["title"] == "Readable"
    status, body = await reader.request("GET", "/api/v1/users/me")
    assert status == 200 and body["username"] == user.username


async def test_a_full_key_writes_but_never_manages_credentials(user: ApiUser) -> None:
    writer = await new_key(user, name="writer", scope="full", expires_in_days=1)
    status, quiz = await writer.request("POST", "/api/v1/quizzes", json=sample_quiz(title="By key"))
    assert status == 201, quiz
    for method, path, body in CREDENTIAL_ROUTES:
        status, answer = await writer.request(method, path, json=body)
        assert status == 403, (method, path, status, answer)
        assert "API key" in answer["error"]["message"]
    status, keys = await user.request("GET", "/api/v1/users/api-keys")
    assert [key["name"] for key in keys] == ["writer"]  # the key made none
    status, me = await user.request("GET", "/api/v1/users/me")
    assert me["totp_enabled"] is False


async def test_keys_show_scope_and_expiry_and_stop_when_expired(user: ApiUser) -> None:
    status, created = await user.request(
        "POST", "/api/v1/users/api-keys", json={"name": "a", "scope": "read", "expires_in_days": 7}
    )
    assert status == 201
    assert created["scope"] == "read"
    assert created["key"].startswith("cqk_")
    status, default = await user.request("POST", "/api/v1/users/api-keys", json={"name": "b"})
    assert default["scope"] == "full" and default["expires_at"] is not None
    status, forever = await user.request(
        "POST", "/api/v1/users/api-keys", json={"name": "c", "expires_in_days": None}
    )
    assert forever["expires_at"] is None
    for bad in ({"scope": "admin"}, {"expires_in_days": 0}, {"expires_in_days": 100_000}):
        status, body = await user.request("POST", "/api/v1/users/api-keys", json=bad)
        assert status == 422, (bad, body)
    status, listed = await user.request("GET", "/api/v1/users/api-keys")
    assert {key["name"]: key["scope"] for key in listed} == {"a": "read", "b": "full", "c": "full"}

    key_user = ApiUser(user.http, user.username, user.email, user.password, created["key"])
    assert (await key_user.request("GET", "/api/v1/users/me"))[0] == 200
    await ApiKey.objects.filter(key_hash=hash_api_key(created["key"])).update(
        expires_at=utcnow() - timedelta(seconds=1)
    )
    status, body = await key_user.request("GET", "/api/v1/users/me")
    assert status == 401 and body["error"]["message"] == "this API key has expired"


async def test_revoked_keys_stop_at_once(http: ClientSession, user: ApiUser) -> None:
    status, created = await user.request("POST", "/api/v1/users/api-keys", json={"name": "gone"})
    key_user = ApiUser(http, user.username, user.email, user.password, created["key"])
    assert (await key_user.request("GET", "/api/v1/users/me"))[0] == 200
    status, _ = await user.request("DELETE", f"/api/v1/users/api-keys/{created['id']}")
    assert status == 204
    assert (await key_user.request("GET", "/api/v1/users/me"))[0] == 401
