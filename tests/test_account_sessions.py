"""Password change and "sign out everywhere": every earlier session stops working at once."""

from __future__ import annotations

from aiohttp import ClientSession, CookieJar
from yarl import URL

from classquiz.db.models import User
from classquiz.services.account_tokens import PASSWORD_RESET, AccountTokens
from tests.support.users import ApiUser, register_user
from tests.test_audit_totp import enable_totp, wrong_code


async def second_session(http: ClientSession, user: ApiUser) -> ApiUser:
    async with http.post(
        "/api/v1/users/login", json={"login": user.username, "password": user.password}
    ) as resp:
        assert resp.status == 200
        token = (await resp.json())["access_token"]
    return ApiUser(http, user.username, user.email, user.password, token)


async def me_status(session: ApiUser) -> int:
    status, _ = await session.request("GET", "/api/v1/users/me")
    return status


async def test_sign_out_everywhere_ends_every_session_but_not_api_keys(
    http: ClientSession, user: ApiUser, other_user: ApiUser
) -> None:
    phone = await second_session(http, user)
    status, key = await user.request(
        "POST", "/api/v1/users/api-keys", json={"name": "script", "scope": "read"}
    )
    assert status == 201
    key_user = ApiUser(http, user.username, user.email, user.password, key["key"])

    status, body = await user.request("POST", "/api/v1/account/sign-out-everywhere")
    assert status == 200 and body == {"ok": True}
    for session in (user, phone):
        status, body = await session.request("GET", "/api/v1/users/me")
        assert status == 401 and body["error"]["code"] == "invalid_token"
        assert "signed out everywhere" in body["error"]["message"]
    assert await me_status(other_user) == 200  # other accounts are untouched
    assert await me_status(key_user) == 200  # keys are revoked one by one, not here
    # signing in again works, and the new session is not affected by the old generation
    fresh = await second_session(http, user)
    assert await me_status(fresh) == 200


async def test_the_cookie_session_ends_too(http: ClientSession, base_url: str) -> None:
    user = await register_user(http)
    async with ClientSession(base_url, cookie_jar=CookieJar(unsafe=True)) as browser:
        async with browser.post(
            "/api/v1/users/login", json={"login": user.username, "password": user.password}
        ) as resp:
            assert resp.status == 200
        async with browser.get("/api/v1/users/me") as resp:
            assert resp.status == 200
        cookie = browser.cookie_jar.filter_cookies(URL(base_url))["access_token"].value
        async with browser.post(
            "/api/v1/account/sign-out-everywhere", headers={"Origin": base_url}
        ) as resp:
            assert resp.status == 200
    # the cookie is cleared in that browser; replayed from elsewhere, it is dead
    async with http.get("/api/v1/users/me", cookies={"access_token": cookie}) as resp:
        assert resp.status == 401


async def test_password_change_needs_the_current_password_and_ends_other_sessions(
    http: ClientSession, user: ApiUser
) -> None:
    phone = await second_session(http, user)
    account = await User.objects.get(email=user.email)
    reset_link = await AccountTokens().issue(account, PASSWORD_RESET, 600)
    new = "another long passphrase"
    status, body = await user.request(
        "POST",
        "/api/v1/account/password",
        json={"current_password": "not the password", "new_password": new},
    )
    assert status == 401 and body["error"]["code"] == "invalid_credentials"
    status, body = await user.request(
        "POST",
        "/api/v1/account/password",
        json={"current_password": user.password, "new_password": "short"},
    )
    assert status == 422
    assert await me_status(phone) == 200  # refusals changed nothing

    status, body = await user.request(
        "POST",
        "/api/v1/account/password",
        json={"current_password": user.password, "new_password": new},
    )
    assert status == 200, body
    assert body["token_type"] == "bearer"
    assert await me_status(phone) == 401
    assert await me_status(user) == 401  # the old token of the caller too...
    user.token = body["access_token"]
    assert await me_status(user) == 200  # ...which got a new one

    async with http.post(
        "/api/v1/users/login", json={"login": user.username, "password": user.password}
    ) as resp:
        assert resp.status == 401
    async with http.post(
        "/api/v1/users/login", json={"login": user.username, "password": new}
    ) as resp:
        assert resp.status == 200
    # a reset link mailed before the change no longer works
    async with http.post(
        "/api/v1/account/password-reset/confirm",
        json={"token": reset_link, "password": "undo the change"},
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "invalid_code"


async def test_password_change_asks_for_the_second_factor(
    http: ClientSession, user: ApiUser
) -> None:
    secret, backup = await enable_totp(user)
    change = {"current_password": user.password, "new_password": "with a second factor"}
    status, body = await user.request("POST", "/api/v1/account/password", json=change)
    assert status == 401 and body["error"]["code"] == "totp_required"
    status, body = await user.request(
        "POST", "/api/v1/account/password", json={**change, "totp": wrong_code(secret)}
    )
    assert status == 401 and body["error"]["code"] == "invalid_credentials"
    status, body = await user.request(
        "POST", "/api/v1/account/password", json={**change, "totp": backup[0]}
    )
    assert status == 200, body
