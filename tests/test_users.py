"""Accounts over real HTTP: register, login (password, cookie, TOTP), tokens, API keys."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pyotp
import pytest
from aiohttp import ClientSession, CookieJar

from classquiz.services.tokens import ACCESS, HOST, PLAYER, TokenSigner
from tests.support.users import ApiUser, register_user

SECRET = "test-secret-key-that-is-long-enough"
PASSWORD = "correct horse battery"


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
async def alice(base_url: str) -> AsyncIterator[ApiUser]:
    """A user shared by the tests that do not change its account (Argon2 is slow)."""
    async with ClientSession(base_url) as session:
        yield await register_user(session)


@pytest.fixture(scope="module")
async def bob(base_url: str) -> AsyncIterator[ApiUser]:
    async with ClientSession(base_url) as session:
        yield await register_user(session)


# ---------------------------------------------------------------- helpers


def assert_error(body: Any, code: str) -> dict[str, Any]:
    """`body` is a SPEC §2 error body with `code`; returns its `error` object."""
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) <= {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    if "details" in error:
        assert isinstance(error["details"], list) and error["details"], error
    return error


async def call(
    http: ClientSession,
    method: str,
    path: str,
    token: str | None = None,
    **kwargs: Any,
) -> tuple[int, Any]:
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with http.request(method, path, headers=headers, **kwargs) as resp:
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, await resp.read()


def new_identity() -> tuple[str, str]:
    name = "u" + uuid.uuid4().hex[:10]
    return name, f"{name}@example.org"


async def register(http: ClientSession, **body: Any) -> tuple[int, Any]:
    return await call(http, "POST", "/api/v1/users/register", json=body)


async def login(http: ClientSession, **body: Any) -> tuple[int, Any]:
    return await call(http, "POST", "/api/v1/users/login", json=body)


async def me(http: ClientSession, token: str | None = None) -> tuple[int, Any]:
    return await call(http, "GET", "/api/v1/users/me", token)


async def user_id(user: ApiUser) -> str:
    status, body = await user.request("GET", "/api/v1/users/me")
    assert status == 200
    return body["id"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def flip(text: str, index: int) -> str:
    char = text[index]
    return text[:index] + ("B" if char != "B" else "C") + text[index + 1 :]


# ---------------------------------------------------------------- register


async def test_register_returns_the_user(http: ClientSession) -> None:
    name, email = new_identity()
    status, body = await register(http, email=email, username=name, password=PASSWORD)
    assert status == 201, body
    assert set(body) == {
        "id",
        "email",
        "username",
        "has_password",
        "totp_enabled",
        "email_verified",
        "created_at",
    }
    assert body["has_password"] is True
    uuid.UUID(body["id"])
    assert body["email"] == email
    assert body["username"] == name
    assert body["totp_enabled"] is False
    # Neither the password nor its hash ever leaves the server.
    sent = json.dumps(body)
    assert PASSWORD not in sent and "argon2" not in sent and "password_hash" not in body


async def test_register_lowercases_the_email(http: ClientSession) -> None:
    name, _ = new_identity()
    status, body = await register(
        http, email=f"{name.upper()}@Example.ORG", username=name, password=PASSWORD
    )
    assert status == 201, body
    assert body["email"] == f"{name}@example.org"


async def test_register_email_taken(http: ClientSession, alice: ApiUser) -> None:
    name, _ = new_identity()
    status, body = await register(http, email=alice.email, username=name, password=PASSWORD)
    assert status == 409
    assert_error(body, "email_taken")
    status, body = await register(http, email=alice.email.upper(), username=name, password=PASSWORD)
    assert status == 409
    assert_error(body, "email_taken")


@pytest.mark.parametrize("variant", [str, str.upper, str.capitalize])
async def test_register_username_taken_case_insensitively(
    http: ClientSession, alice: ApiUser, variant: Any
) -> None:
    _, email = new_identity()
    status, body = await register(
        http, email=email, username=variant(alice.username), password=PASSWORD
    )
    assert status == 409
    assert_error(body, "username_taken")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@"}, "email"),
        ({"email": ""}, "email"),
        ({"password": "1234567"}, "password"),
        ({"password": ""}, "password"),
        ({"username": "ab"}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "bad!name"}, "username"),
        ({"username": "x" * 33}, "username"),
        ({"username": ""}, "username"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_register_refuses_bad_fields(
    http: ClientSession, overrides: dict[str, Any], field: str
) -> None:
    name, email = new_identity()
    body: dict[str, Any] = {"email": email, "username": name, "password": PASSWORD}
    body.update(overrides)
    status, answer = await register(http, **body)
    assert status == 422, answer
    error = assert_error(answer, "validation_error")
    assert field in {item["field"] for item in error["details"]}


async def test_register_bounds_that_are_fine(http: ClientSession) -> None:
    suffix = uuid.uuid4().hex
    status, body = await register(
        http, email=f"{suffix[:8]}@example.org", username="a_." + suffix[:29], password="12345678"
    )
    assert status == 201, body
    status, body = await register(
        http, email=f"{suffix[8:16]}@example.org", username=suffix[:3], password="p" * 20
    )
    assert status == 201, body


async def test_concurrent_registrations_of_one_name_make_one_account(
    http: ClientSession,
) -> None:
    """Case variants of a username registered at the same time: exactly one wins."""
    for _ in range(2):
        name, _ = new_identity()
        variants = [name, name.upper(), name.capitalize(), name]
        results = await asyncio.gather(
            *(
                register(http, email=f"{i}{name}@example.org", username=v, password=PASSWORD)
                for i, v in enumerate(variants)
            )
        )
        statuses = sorted(status for status, _ in results)
        assert statuses == [201, 409, 409, 409], results
        for status, body in results:
            if status == 409:
                assert_error(body, "username_taken")


async def test_concurrent_registrations_of_one_email_make_one_account(
    http: ClientSession,
) -> None:
    name, email = new_identity()
    results = await asyncio.gather(
        register(http, email=email, username=name + "a", password=PASSWORD),
        register(http, email=email.upper(), username=name + "b", password=PASSWORD),
    )
    assert sorted(status for status, _ in results) == [201, 409], results
    assert_error(next(body for status, body in results if status == 409), "email_taken")


async def test_register_missing_fields(http: ClientSession) -> None:
    status, body = await register(http)
    assert status == 422
    error = assert_error(body, "validation_error")
    assert {item["field"] for item in error["details"]} == {"email", "username", "password"}


# ---------------------------------------------------------------- login


async def test_login_by_username_and_email(http: ClientSession, alice: ApiUser) -> None:
    for login_name in (
        alice.username,
        alice.username.upper(),
        alice.email,
        alice.email.upper(),
        f"  {alice.email}  ",
    ):
        status, body = await login(http, login=login_name, password=alice.password)
        assert status == 200, (login_name, body)
        assert set(body) == {"access_token", "token_type", "expires_in"}
        assert body["token_type"] == "bearer"
        assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
        status, who = await me(http, body["access_token"])
        assert status == 200
        assert who["username"] == alice.username


@pytest.mark.parametrize("who", ["username", "email", "unknown_user", "unknown_email"])
async def test_login_refusals_are_all_invalid_credentials(
    http: ClientSession, alice: ApiUser, who: str
) -> None:
    login_name = {
        "username": alice.username,
        "email": alice.email,
        "unknown_user": "nobody" + uuid.uuid4().hex[:8],
        "unknown_email": f"nobody{uuid.uuid4().hex[:8]}@example.org",
    }[who]
    password = "wrong password" if who in ("username", "email") else alice.password
    status, body = await login(http, login=login_name, password=password)
    assert status == 401
    assert_error(body, "invalid_credentials")


async def test_login_validation(http: ClientSession) -> None:
    status, body = await login(http, login="someone")
    assert status == 422
    assert_error(body, "validation_error")
    status, body = await login(http, login="someone", password="x", totp="12ab56")
    assert status == 422
    assert_error(body, "validation_error")


async def test_login_cookie_is_http_only_and_authenticates_alone(
    base_url: str, alice: ApiUser
) -> None:
    # CookieJar(unsafe=True): the default jar ignores cookies from IP-address hosts.
    async with ClientSession(base_url, cookie_jar=CookieJar(unsafe=True)) as browser:
        async with browser.post(
            "/api/v1/users/login", json={"login": alice.username, "password": alice.password}
        ) as resp:
            assert resp.status == 200
            token = (await resp.json())["access_token"]
            cookie = resp.cookies["access_token"]
            assert cookie.value == token
            assert cookie["httponly"] is True
            assert cookie["path"] == "/"
            assert cookie["samesite"].lower() == "lax"
            assert int(cookie["max-age"]) > 0
        status, who = await me(browser)
        assert status == 200, who
        assert who["username"] == alice.username

        # logout with the cookie only: the token is revoked and the cookie cleared
        # (from the site itself: cookie writes from elsewhere are refused, see test_audit_http_csrf)
        async with browser.post("/api/v1/users/logout", headers={"Origin": base_url}) as resp:
            assert resp.status == 200
            assert await resp.json() == {"ok": True}
            cleared = resp.cookies["access_token"]
            assert cleared.value == ""
            assert cleared["max-age"] in ("0", 0)
        status, body = await me(browser)
        assert status == 401
        assert_error(body, "not_authenticated")
    # the revoked token is refused everywhere
    async with ClientSession(base_url) as other:
        status, body = await me(other, token)
        assert status == 401
        assert_error(body, "invalid_token")
        async with other.get("/api/v1/users/me", cookies={"access_token": token}) as resp:
            assert resp.status == 401


async def test_bad_cookie_is_refused(http: ClientSession) -> None:
    async with http.get("/api/v1/users/me", cookies={"access_token": "garbage"}) as resp:
        assert resp.status == 401
        assert_error(await resp.json(), "invalid_token")


async def test_bearer_wins_over_cookie(http: ClientSession, alice: ApiUser) -> None:
    async with http.get(
        "/api/v1/users/me", headers=alice.headers, cookies={"access_token": "garbage"}
    ) as resp:
        assert resp.status == 200
        assert (await resp.json())["username"] == alice.username


# ---------------------------------------------------------------- tokens


async def test_bearer_authenticates(http: ClientSession, alice: ApiUser) -> None:
    status, body = await me(http, alice.token)
    assert status == 200
    assert body["username"] == alice.username
    assert body["email"] == alice.email


async def test_me_without_credentials(http: ClientSession) -> None:
    status, body = await me(http)
    assert status == 401
    assert_error(body, "not_authenticated")


async def test_logout_revokes_only_that_token(http: ClientSession, alice: ApiUser) -> None:
    tokens = []
    for _ in range(2):
        status, body = await login(http, login=alice.username, password=alice.password)
        assert status == 200
        tokens.append(body["access_token"])
    first, second = tokens
    status, body = await call(http, "POST", "/api/v1/users/logout", first)
    assert status == 200
    assert body == {"ok": True}
    status, body = await me(http, first)
    assert status == 401
    assert_error(body, "invalid_token")
    status, body = await call(http, "POST", "/api/v1/users/logout", first)
    assert status == 401
    assert_error(body, "invalid_token")
    # other sessions of the same user are untouched
    for token in (second, alice.token):
        status, _ = await me(http, token)
        assert status == 200


async def test_logout_needs_authentication(http: ClientSession) -> None:
    status, body = await call(http, "POST", "/api/v1/users/logout")
    assert status == 401
    assert_error(body, "not_authenticated")


async def test_expired_token(http: ClientSession, alice: ApiUser) -> None:
    subject = await user_id(alice)
    expired, _ = TokenSigner(SECRET).issue(subject, ACCESS, -60, gen=0)
    status, body = await me(http, expired)
    assert status == 401
    assert_error(body, "invalid_token")
    # crafted by hand too, to not depend on TokenSigner
    now = int(time.time())
    crafted = jwt.encode(
        {
            "sub": subject,
            "typ": "access",
            "jti": uuid.uuid4().hex,
            "iat": now - 120,
            "exp": now - 5,
        },
        SECRET,
        algorithm="HS256",
    )
    status, body = await me(http, crafted)
    assert status == 401
    assert_error(body, "invalid_token")
    # the same claims, still valid, are accepted: the refusal above was the expiry
    fresh, _ = TokenSigner(SECRET).issue(subject, ACCESS, 60, gen=0)
    status, _ = await me(http, fresh)
    assert status == 200


async def test_tampered_tokens(http: ClientSession, alice: ApiUser, bob: ApiUser) -> None:
    header, payload, signature = alice.token.split(".")
    # a flipped character in the middle of the signature
    bad_signature = flip(signature, len(signature) // 2)
    # a flipped character in the middle of the payload
    bad_payload = flip(payload, len(payload) // 2)
    # a payload rewritten to impersonate another user, with the original signature
    claims = json.loads(b64url_decode(payload))
    claims["sub"] = await user_id(bob)
    impersonating = b64url(json.dumps(claims).encode())
    # the same payload re-signed with another secret
    forged = jwt.encode(claims, "another-secret-key-that-is-long-enough", algorithm="HS256")
    # alg "none"
    unsigned = f"{b64url(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{impersonating}."
    for token in (
        f"{header}.{payload}.{bad_signature}",
        f"{header}.{bad_payload}.{signature}",
        f"{header}.{impersonating}.{signature}",
        f"{header}.{payload}.",
        f"{header}.{payload}",
        forged,
        unsigned,
        "not-a-token",
        "x" * 5000,
    ):
        status, body = await me(http, token)
        assert status == 401, token
        assert_error(body, "invalid_token")
    status, _ = await me(http, alice.token)
    assert status == 200


@pytest.mark.parametrize("kind", [HOST, PLAYER, "refresh"])
async def test_token_of_another_kind_is_refused(
    http: ClientSession, alice: ApiUser, kind: str
) -> None:
    subject = await user_id(alice)
    token, _ = TokenSigner(SECRET).issue(subject, kind, 600, gid=str(uuid.uuid4()))
    status, body = await me(http, token)
    assert status == 401
    assert_error(body, "invalid_token")


async def test_token_without_required_claims_is_refused(
    http: ClientSession, alice: ApiUser
) -> None:
    subject = await user_id(alice)
    now = int(time.time())
    full = {"sub": subject, "typ": "access", "jti": uuid.uuid4().hex, "iat": now, "exp": now + 60}
    for missing in ("exp", "sub", "typ", "jti"):
        claims = {k: v for k, v in full.items() if k != missing}
        token = jwt.encode(claims, SECRET, algorithm="HS256")
        status, body = await me(http, token)
        assert status == 401, missing
        assert_error(body, "invalid_token")


async def test_token_of_an_unknown_user_is_refused(http: ClientSession) -> None:
    token, _ = TokenSigner(SECRET).issue(str(uuid.uuid4()), ACCESS, 60, gen=0)
    status, body = await me(http, token)
    assert status == 401
    assert_error(body, "invalid_token")


# ---------------------------------------------------------------- API keys


async def test_api_key_lifecycle(http: ClientSession, alice: ApiUser) -> None:
    status, created = await alice.request("POST", "/api/v1/users/api-keys", json={"name": "ci"})
    assert status == 201, created
    secret = created["key"]
    assert secret.startswith("cqk_") and len(secret) > 30
    assert created["name"] == "ci"
    assert created["prefix"] == secret[: len(created["prefix"])]
    assert secret not in created["prefix"]
    assert created["last_used_at"] is None

    # the list shows the key without its secret
    status, listed = await alice.request("GET", "/api/v1/users/api-keys")
    assert status == 200
    mine = [item for item in listed if item["id"] == created["id"]]
    assert len(mine) == 1
    assert set(mine[0]) == {
        "id",
        "name",
        "prefix",
        "scope",
        "created_at",
        "expires_at",
        "last_used_at",
    }
    assert all("key" not in item for item in listed)
    assert secret not in json.dumps(listed)

    # the key authenticates, and its use is recorded
    status, who = await me(http, secret)
    assert status == 200
    assert who["username"] == alice.username
    status, quizzes = await call(http, "GET", "/api/v1/quizzes", secret)
    assert status == 200, quizzes
    status, listed = await alice.request("GET", "/api/v1/users/api-keys")
    assert [item["last_used_at"] for item in listed if item["id"] == created["id"]] != [None]

    # deleted, it no longer authenticates
    status, body = await alice.request("DELETE", f"/api/v1/users/api-keys/{created['id']}")
    assert status == 204, body
    status, body = await me(http, secret)
    assert status == 401
    assert_error(body, "invalid_token")
    status, listed = await alice.request("GET", "/api/v1/users/api-keys")
    assert created["id"] not in {item["id"] for item in listed}
    status, body = await alice.request("DELETE", f"/api/v1/users/api-keys/{created['id']}")
    assert status == 404
    assert_error(body, "api_key_not_found")


async def test_api_key_default_name_and_order(alice: ApiUser) -> None:
    status, first = await alice.request("POST", "/api/v1/users/api-keys", json={})
    assert status == 201
    assert first["name"] == "default"
    status, second = await alice.request("POST", "/api/v1/users/api-keys")
    assert status == 201
    assert first["key"] != second["key"]
    status, listed = await alice.request("GET", "/api/v1/users/api-keys")
    assert [item["id"] for item in listed[:2]] == [second["id"], first["id"]]


@pytest.mark.parametrize("name", ["", "   ", "n" * 101])
async def test_api_key_name_bounds(alice: ApiUser, name: str) -> None:
    status, body = await alice.request("POST", "/api/v1/users/api-keys", json={"name": name})
    assert status == 422
    assert_error(body, "validation_error")


async def test_api_keys_are_private_to_their_owner(
    http: ClientSession, alice: ApiUser, bob: ApiUser
) -> None:
    status, created = await alice.request("POST", "/api/v1/users/api-keys", json={"name": "mine"})
    assert status == 201
    status, body = await bob.request("DELETE", f"/api/v1/users/api-keys/{created['id']}")
    assert status == 404
    assert_error(body, "api_key_not_found")
    status, listed = await bob.request("GET", "/api/v1/users/api-keys")
    assert created["id"] not in {item["id"] for item in listed}
    status, who = await me(http, created["key"])
    assert status == 200
    assert who["username"] == alice.username


# a fixed unknown id, so that every pytest-xdist worker collects the same tests
@pytest.mark.parametrize("key_id", ["not-a-uuid", "7c2e4b90-1d3a-4f6e-8b25-9a0d6c3e1f47"])
async def test_delete_unknown_api_key(alice: ApiUser, key_id: str) -> None:
    status, body = await alice.request("DELETE", f"/api/v1/users/api-keys/{key_id}")
    assert status == 404
    assert_error(body, "api_key_not_found")


async def test_api_key_routes_need_authentication(http: ClientSession) -> None:
    for method, path in (
        ("GET", "/api/v1/users/api-keys"),
        ("POST", "/api/v1/users/api-keys"),
        ("DELETE", f"/api/v1/users/api-keys/{uuid.uuid4()}"),
    ):
        status, body = await call(http, method, path)
        assert status == 401, path
        assert_error(body, "not_authenticated")


async def test_unknown_api_key_is_refused(http: ClientSession) -> None:
    status, body = await me(http, "cqk_" + uuid.uuid4().hex)
    assert status == 401
    assert_error(body, "invalid_token")


# ---------------------------------------------------------------- TOTP


def wrong_code(secret: str) -> str:
    """A 6-digit code accepted by no window around now."""
    totp = pyotp.TOTP(secret)
    now = time.time()
    near = {totp.at(now + shift) for shift in (-60, -30, 0, 30, 60)}
    for candidate in range(1_000_000):
        code = f"{candidate:06d}"
        if code not in near:
            return code
    raise AssertionError("unreachable")


async def test_totp_flow(http: ClientSession) -> None:
    carol = await register_user(http)
    status, body = await carol.request("POST", "/api/v1/users/totp/enable", json={"code": "123456"})
    assert status == 409
    assert_error(body, "totp_not_started")

    status, setup = await carol.request("POST", "/api/v1/users/totp/setup")
    assert status == 200, setup
    secret = setup["secret"]
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    assert secret in setup["otpauth_uri"]
    totp = pyotp.TOTP(secret)

    # not on until confirmed
    status, body = await login(http, login=carol.username, password=carol.password)
    assert status == 200

    status, body = await carol.request(
        "POST", "/api/v1/users/totp/enable", json={"code": wrong_code(secret)}
    )
    assert status == 400
    assert_error(body, "invalid_code")
    status, body = await carol.request("POST", "/api/v1/users/totp/enable", json={"code": "12345"})
    assert status == 422
    assert_error(body, "validation_error")

    if 30 - time.time() % 30 < 5:  # keep "now" one time step for the next few requests
        await asyncio.sleep(30 - time.time() % 30 + 0.1)
    status, body = await carol.request(
        "POST", "/api/v1/users/totp/enable", json={"code": totp.now()}
    )
    assert status == 200, body
    assert body["ok"] is True and len(body["backup_codes"]) == 10
    backup_codes = body["backup_codes"]
    status, who = await carol.request("GET", "/api/v1/users/me")
    assert who["totp_enabled"] is True
    status, body = await carol.request("POST", "/api/v1/users/totp/setup")
    assert status == 409
    assert_error(body, "totp_enabled")

    # login now needs the code
    status, body = await login(http, login=carol.username, password=carol.password)
    assert status == 401
    assert_error(body, "totp_required")
    status, body = await login(
        http, login=carol.username, password=carol.password, totp=wrong_code(secret)
    )
    assert status == 401
    assert_error(body, "invalid_credentials")
    # a wrong password never reveals that a code is needed, nor accepts a right code
    status, body = await login(http, login=carol.username, password="wrong password")
    assert status == 401
    assert_error(body, "invalid_credentials")
    status, body = await login(
        http, login=carol.username, password="wrong password", totp=totp.now()
    )
    assert status == 401
    assert_error(body, "invalid_credentials")
    # the enabling code was used (one use per code): the next step's code logs in
    status, body = await login(http, login=carol.email, password=carol.password, totp=totp.now())
    assert status == 401
    assert_error(body, "invalid_credentials")
    next_code = totp.at(time.time() + 30)
    status, body = await login(http, login=carol.email, password=carol.password, totp=next_code)
    assert status == 200, body
    status, _ = await me(http, body["access_token"])
    assert status == 200

    # turning it off needs a right code too
    status, body = await carol.request(
        "POST", "/api/v1/users/totp/disable", json={"code": wrong_code(secret)}
    )
    assert status == 400
    assert_error(body, "invalid_code")
    status, body = await carol.request(
        "POST", "/api/v1/users/totp/disable", json={"code": backup_codes[0]}
    )
    assert status == 200
    status, body = await login(http, login=carol.username, password=carol.password)
    assert status == 200
    status, body = await carol.request(
        "POST", "/api/v1/users/totp/disable", json={"code": totp.now()}
    )
    assert status == 409
    assert_error(body, "totp_disabled")


async def test_totp_routes_need_authentication(http: ClientSession) -> None:
    for path, body in (
        ("/api/v1/users/totp/setup", None),
        ("/api/v1/users/totp/enable", {"code": "123456"}),
        ("/api/v1/users/totp/disable", {"code": "123456"}),
    ):
        status, answer = await call(http, "POST", path, json=body)
        assert status == 401, path
        assert_error(answer, "not_authenticated")
