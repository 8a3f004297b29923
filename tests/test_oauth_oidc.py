"""Sign-in with an OpenID Connect provider, end to end against a real one on loopback.

The provider is panva's oidc-provider (an OpenID-certified implementation) in Node
(tests/oidc/provider.mjs); the app under test is configured with it as its OIDC
provider (OIDC_DISCOVERY_URL, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET), and an HTTP client
plays the browser: our start page, the provider's login and consent pages, our
callback. What must hold: the sign-in ends in the same session as a password login;
state, nonce and PKCE are each checked (a meddled value is refused and changes
nothing); a verified e-mail links to its account, an unverified one never does.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from classquiz.db.models import OAuthIdentity, User
from tests.support.processes import free_port
from tests.support.signin import (
    Browser,
    app_on_port,
    app_with_oidc,
    mark_email_verified,
    sign_in_error,
    with_param,
)
from tests.support.users import register_user
from tests.test_audit_totp import enable_totp


@pytest.fixture(scope="module")
async def oidc_app(server: TestServer, storage: dict[str, str]) -> AsyncIterator[str]:
    """An app whose OIDC provider is a real oidc-provider; yields the app's URL."""
    async with app_with_oidc(storage, "Test ID") as app_url:
        yield app_url


@pytest.fixture
async def browser(oidc_app: str) -> AsyncIterator[Browser]:
    browser = Browser(oidc_app)
    yield browser
    await browser.close()


def new_email() -> str:
    return f"oidc{uuid.uuid4().hex[:10]}@example.org"


async def test_the_sign_in_methods_list_the_enabled_provider_only(
    oidc_app: str, http: ClientSession, browser: Browser
) -> None:
    response = await browser.client.get(f"{oidc_app}/api/v1/auth/methods")
    assert response.json() == {
        "providers": [
            {"id": "oidc", "name": "Test ID", "start_url": "/api/v1/auth/oauth/oidc/start"}
        ]
    }
    async with http.get("/api/v1/auth/methods") as plain:  # the shared app enables none
        assert await plain.json() == {"providers": []}
    github = await browser.start("github")  # not configured on this app
    assert sign_in_error(github.headers["location"]) == "provider_not_found"


async def test_a_new_person_gets_an_account_and_the_same_session_as_a_password_login(
    browser: Browser,
) -> None:
    email = new_email()
    assert await browser.sign_in("oidc", email, next_path="/results") == "/results"
    cookie = browser.client.cookies.get("access_token")
    assert cookie, "the sign-in set no session cookie"
    status, me = await browser.me()
    assert status == 200
    assert me["email"] == email and me["totp_enabled"] is False
    user = await User.objects.get(id=uuid.UUID(me["id"]))
    assert user.password_hash == "!no-password"
    assert user.email_verified_at is not None  # the provider verified it
    # The cookie is a revocable access token like the password login's: logout ends it.
    logout = await browser.client.post(
        f"{browser.app_url}/api/v1/users/logout",
        headers={"Authorization": f"Bearer {cookie}", "Origin": browser.app_url},
    )
    assert logout.status_code == 200, logout.text
    again = await browser.client.get(
        f"{browser.app_url}/api/v1/users/me", headers={"Authorization": f"Bearer {cookie}"}
    )
    assert again.status_code == 401

    # The next sign-in with the same provider account opens the same account.
    second = Browser(browser.app_url)
    try:
        assert await second.sign_in("oidc", email) == "/quizzes"
        assert (await second.me())[1]["id"] == me["id"]
    finally:
        await second.close()
    assert await OAuthIdentity.objects.filter(subject=email).count() == 1


async def test_a_verified_email_links_to_the_existing_account(
    browser: Browser, http: ClientSession
) -> None:
    registered = await register_user(http)
    await mark_email_verified(registered.email)
    status, mine = await registered.request("GET", "/api/v1/users/me")
    assert status == 200
    await browser.sign_in("oidc", registered.email)
    assert (await browser.me())[1]["id"] == mine["id"]
    # The password still works: linking adds a way in, it takes none away.
    async with http.post(
        "/api/v1/users/login", json={"login": registered.email, "password": registered.password}
    ) as resp:
        assert resp.status == 200


async def test_an_account_that_never_verified_its_address_is_not_handed_over(
    browser: Browser, http: ClientSession
) -> None:
    """Pre-hijacking: someone registered here with this address (and knows the password)
    but never proved it; the provider's verified sign-in must not open that account."""
    squatted = await register_user(http)
    location = await browser.sign_in("oidc", squatted.email)
    assert sign_in_error(location) == "email_not_verified"
    assert browser.client.cookies.get("access_token") is None
    assert await OAuthIdentity.objects.filter(email=squatted.email).count() == 0


async def test_an_unverified_email_never_takes_over_an_existing_account(
    browser: Browser, http: ClientSession
) -> None:
    registered = await register_user(http)
    await mark_email_verified(registered.email)
    location = await browser.sign_in("oidc", f"unverified:{registered.email}")
    assert sign_in_error(location) == "email_not_verified"
    assert browser.client.cookies.get("access_token") is None
    assert await OAuthIdentity.objects.filter(email=registered.email).count() == 0
    status, _ = await browser.me()
    assert status == 401


async def test_an_unverified_email_of_nobody_here_gets_a_new_account(browser: Browser) -> None:
    email = new_email()
    assert await browser.sign_in("oidc", f"unverified:{email}") == "/quizzes"
    status, me = await browser.me()
    assert status == 200 and me["email"] == email
    assert (await User.objects.get(email=email)).email_verified_at is None


async def test_a_wrong_state_is_refused_and_the_right_one_still_works(browser: Browser) -> None:
    email = new_email()
    started = await browser.start("oidc")
    callback = await browser.through_provider(started.headers["location"], email)
    refused = await browser.open(with_param(callback, "state", "not-the-state"))
    assert sign_in_error(refused.headers["location"]) == "sign_in_state_invalid"
    assert not await User.objects.filter(email=email).exists()


async def test_a_callback_in_another_browser_is_refused(browser: Browser) -> None:
    """Login CSRF: the attacker's own code and state, opened in the victim's browser."""
    email = new_email()
    started = await browser.start("oidc")
    callback = await browser.through_provider(started.headers["location"], email)
    victim = Browser(browser.app_url)
    try:
        refused = await victim.open(callback)
        assert sign_in_error(refused.headers["location"]) == "sign_in_state_invalid"
        assert victim.client.cookies.get("access_token") is None
    finally:
        await victim.close()
    assert not await User.objects.filter(email=email).exists()
    # The browser that started it still finishes it: the refusal consumed nothing.
    finished = await browser.open(callback)
    assert finished.headers["location"] == "/quizzes"
    # ...once: the same callback again (cookie put back) finds its state used up.
    browser.client.cookies.set(
        "cq_oauth_state", with_state(callback), domain="127.0.0.1", path="/api/v1/auth/oauth/"
    )
    replayed = await browser.open(callback)
    assert sign_in_error(replayed.headers["location"]) == "sign_in_state_invalid"


def with_state(url: str) -> str:
    """The `state` parameter of a URL (an authorization request or a callback)."""
    return parse_qs(urlsplit(url).query)["state"][0]


async def test_a_wrong_nonce_in_the_id_token_is_refused(browser: Browser) -> None:
    """The authorization request's nonce is swapped on its way to the provider, so the
    provider signs an ID token with a nonce this sign-in never issued."""
    email = new_email()
    started = await browser.start("oidc")
    meddled = with_param(started.headers["location"], "nonce", "a-nonce-from-elsewhere")
    callback = await browser.through_provider(meddled, email)
    refused = await browser.open(callback)
    assert sign_in_error(refused.headers["location"]) == "sign_in_failed"
    assert not await User.objects.filter(email=email).exists()
    assert browser.client.cookies.get("access_token") is None


async def test_a_code_challenge_that_is_not_ours_makes_the_code_worthless(
    browser: Browser,
) -> None:
    """PKCE: the provider binds the code to the challenge it saw; our verifier does not
    match a swapped challenge, so the provider refuses the exchange."""
    email = new_email()
    started = await browser.start("oidc")
    meddled = with_param(
        started.headers["location"], "code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    callback = await browser.through_provider(meddled, email)
    refused = await browser.open(callback)
    assert sign_in_error(refused.headers["location"]) == "sign_in_failed"
    assert not await User.objects.filter(email=email).exists()


async def test_next_never_leaves_the_site(browser: Browser) -> None:
    for outside in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        assert await browser.sign_in("oidc", new_email(), next_path=outside) == "/quizzes"


async def test_a_provider_refusal_lands_on_the_login_page(browser: Browser) -> None:
    started = await browser.start("oidc")
    state = with_state(started.headers["location"])
    response = await browser.open(
        f"{browser.app_url}/api/v1/auth/oauth/oidc/callback?error=access_denied&state={state}"
    )
    assert sign_in_error(response.headers["location"]) == "sign_in_failed"


async def test_an_account_with_two_factor_is_not_opened_by_a_provider_alone(
    browser: Browser, http: ClientSession
) -> None:
    registered = await register_user(http)
    await mark_email_verified(registered.email)
    await enable_totp(registered)
    location = await browser.sign_in("oidc", registered.email)
    assert sign_in_error(location) == "totp_required"
    assert browser.client.cookies.get("access_token") is None
    assert await OAuthIdentity.objects.filter(email=registered.email).count() == 0


async def test_sign_in_starts_are_limited_per_address(
    server: TestServer, storage: dict[str, str]
) -> None:
    """Each start keeps a little state in Redis: a flood from one address is cut off."""
    limited = {**storage, "redis_prefix": storage["redis_prefix"] + "sl"}
    port = free_port()
    async with app_on_port(
        limited,
        port,
        oidc_discovery_url="http://127.0.0.1:9/.well-known/openid-configuration",
        oidc_client_id="x",
        oidc_client_secret="y",
        sign_in_start_rate_limit=3,
    ) as url:
        async with ClientSession(url) as client:
            codes = []
            for _ in range(4):
                async with client.post("/api/v1/auth/passkeys/options") as resp:
                    codes.append(resp.status)
            assert codes == [200, 200, 200, 429]
            async with client.get("/api/v1/auth/oauth/oidc/start", allow_redirects=False) as resp:
                assert sign_in_error(resp.headers["Location"]) == "rate_limited"


async def test_a_provider_that_puts_the_email_in_the_id_token(
    server: TestServer, storage: dict[str, str]
) -> None:
    """Google's way: the signed ID token carries email and email_verified (the provider
    of the other tests keeps them at its userinfo endpoint)."""
    async with app_with_oidc(storage, email_in_id_token=True) as app_url:
        browser = Browser(app_url)
        try:
            email = new_email()
            assert await browser.sign_in("oidc", email) == "/quizzes"
            status, me = await browser.me()
            assert status == 200 and me["email"] == email
            user = await User.objects.get(email=email)
            assert user.email_verified_at is not None
        finally:
            await browser.close()
