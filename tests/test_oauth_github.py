"""Sign-in with GitHub (OAuth2 and its REST API, not OpenID Connect), against a stand-in of
GitHub's documented endpoints on loopback (tests/support/signin.py: GitHubStandIn), which
checks the client's credentials, the redirect URI, one use per code and PKCE."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from classquiz.db.models import OAuthIdentity, User
from classquiz.services.oauth_providers import github_email
from tests.support.processes import free_port
from tests.support.signin import (
    Browser,
    GitHubAccount,
    GitHubStandIn,
    app_on_port,
    mark_email_verified,
    sign_in_error,
    with_param,
)
from tests.support.users import register_user


@dataclass
class GitHubSetup:
    app_url: str
    github: GitHubStandIn


@pytest.fixture(scope="module")
async def github_app(server: TestServer, storage: dict[str, str]) -> AsyncIterator[GitHubSetup]:
    port = free_port()
    stand_in = GitHubStandIn(
        client_id="Iv1.test",
        client_secret="github-test-secret",
        redirect_uri=f"http://127.0.0.1:{port}/api/v1/auth/oauth/github/callback",
    )
    github = TestServer(stand_in.app(), host="127.0.0.1")
    await github.start_server()
    github_url = str(github.make_url("")).rstrip("/")
    try:
        async with app_on_port(
            storage,
            port,
            github_client_id=stand_in.client_id,
            github_client_secret=stand_in.client_secret,
            github_url=github_url,
            github_api_url=f"{github_url}/api",
        ) as app_url:
            yield GitHubSetup(app_url, stand_in)
    finally:
        await github.close()


@pytest.fixture
async def browser(github_app: GitHubSetup) -> AsyncIterator[Browser]:
    browser = Browser(github_app.app_url)
    yield browser
    await browser.close()


def account(email: str, *, verified: bool = True) -> GitHubAccount:
    return GitHubAccount(
        id=int(uuid.uuid4().int % 10**9),
        login="octo-" + uuid.uuid4().hex[:6],
        emails=[
            {
                "email": f"noreply{uuid.uuid4().hex[:6]}@users.noreply.github.com",
                "primary": False,
                "verified": True,
                "visibility": None,
            },
            {"email": email, "primary": True, "verified": verified, "visibility": "private"},
        ],
    )


async def test_github_sign_in_creates_an_account_with_the_verified_primary_email(
    github_app: GitHubSetup, browser: Browser
) -> None:
    email = f"gh{uuid.uuid4().hex[:10]}@example.org"
    github_app.github.approve_as = octo = account(email)
    methods = await browser.client.get(f"{browser.app_url}/api/v1/auth/methods")
    assert [p["id"] for p in methods.json()["providers"]] == ["github"]
    assert await browser.sign_in("github", "-") == "/quizzes"
    status, me = await browser.me()
    assert status == 200
    assert me["email"] == email and me["username"] == octo.login
    identity = await OAuthIdentity.objects.get(provider="github", subject=str(octo.id))
    assert identity.user.id == uuid.UUID(me["id"])


async def test_github_unverified_primary_email_does_not_open_an_existing_account(
    github_app: GitHubSetup, browser: Browser, http: ClientSession
) -> None:
    registered = await register_user(http)
    await mark_email_verified(registered.email)
    octo = account(registered.email, verified=False)
    octo.emails = [octo.emails[1]]  # only the unverified address
    github_app.github.approve_as = octo
    location = await browser.sign_in("github", "-")
    assert sign_in_error(location) == "email_not_verified"
    assert not await OAuthIdentity.objects.filter(subject=str(octo.id)).exists()


async def test_github_verified_email_links_the_existing_account(
    github_app: GitHubSetup, browser: Browser, http: ClientSession
) -> None:
    registered = await register_user(http)
    await mark_email_verified(registered.email)
    github_app.github.approve_as = account(registered.email)
    await browser.sign_in("github", "-")
    status, me = await browser.me()
    assert status == 200 and me["username"] == registered.username


async def test_github_wrong_state_and_a_meddled_challenge_are_refused(
    github_app: GitHubSetup, browser: Browser
) -> None:
    email = f"gh{uuid.uuid4().hex[:10]}@example.org"
    github_app.github.approve_as = account(email)
    started = await browser.start("github")
    callback = await browser.through_provider(started.headers["location"], "-")
    refused = await browser.open(with_param(callback, "state", "forged"))
    assert sign_in_error(refused.headers["location"]) == "sign_in_state_invalid"

    started = await browser.start("github")
    meddled = with_param(started.headers["location"], "code_challenge", "x" * 43)
    callback = await browser.through_provider(meddled, "-")
    refused = await browser.open(callback)
    assert sign_in_error(refused.headers["location"]) == "sign_in_failed"
    assert not await User.objects.filter(email=email).exists()


def test_which_github_address_is_used() -> None:
    primary_unverified = {"email": "A@x.org", "primary": True, "verified": False}
    other_verified = {"email": "b@x.org", "primary": False, "verified": True}
    primary_verified = {"email": "c@x.org", "primary": True, "verified": True}
    assert github_email([primary_unverified, other_verified]) == ("b@x.org", True)
    assert github_email([other_verified, primary_verified]) == ("c@x.org", True)
    assert github_email([primary_unverified]) == ("a@x.org", False)
    assert github_email([{"email": "d@x.org", "primary": False, "verified": False}]) == (
        None,
        False,
    )
    assert github_email(["junk", {"primary": True}]) == (None, False)
