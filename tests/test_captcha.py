"""A captcha on joins (issue 15): hCaptcha, reCAPTCHA v3 and Cloudflare Turnstile,
verified in the Socket.IO handshake against a stand-in of each provider's documented
verify endpoint on loopback (tests/support/captcha.py), through real handshakes of
a real server with real Redis.

What must hold: a new player without a token is refused `captcha_required`, a bad,
reused or low-scoring token `captcha_failed`; a provider that is down, slow or
refuses our secret `captcha_unavailable` (fail closed, logged); the host and a
returning player are never sent to the provider; the public game info names the
widget; a game without the setting is not asked unless the server asks everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from pydantic import ValidationError

from classquiz.config import Settings
from classquiz.services.captcha import judge
from tests.support.apps import separate_app
from tests.support.captcha import PATHS, SECRET, SITE_KEY, CaptchaStandIn
from tests.support.limits import new_address
from tests.support.live import SocketGroup, create_game
from tests.support.quizzes import sample_quiz
from tests.support.users import ApiUser, register_user

PROVIDERS = ["hcaptcha", "recaptcha", "turnstile"]

# -- the rule: what a verify answer means -----------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "body", "outcome"),
    [
        ("hcaptcha", {"success": True}, "passed"),
        ("turnstile", {"success": True, "action": "anything"}, "passed"),
        ("turnstile", {"success": False, "error-codes": ["timeout-or-duplicate"]}, "failed"),
        ("hcaptcha", {"success": False, "error-codes": ["invalid-input-response"]}, "failed"),
        ("hcaptcha", {"success": False}, "failed"),
        ("hcaptcha", {"success": False, "error-codes": ["sitekey-secret-mismatch"]}, "unavailable"),
        ("turnstile", {"success": False, "error-codes": ["invalid-input-secret"]}, "unavailable"),
        ("turnstile", {"success": False, "error-codes": ["internal-error"]}, "unavailable"),
        ("recaptcha", {"success": True, "score": 0.5, "action": "join"}, "passed"),
        ("recaptcha", {"success": True, "score": 0.49, "action": "join"}, "failed"),
        ("recaptcha", {"success": True, "score": 0.9, "action": "login"}, "failed"),
        ("recaptcha", {"success": True}, "failed"),  # a v2 key gives no score
        ("recaptcha", {"success": True, "score": True}, "failed"),
        ("hcaptcha", {"success": "true"}, "unavailable"),
        ("hcaptcha", ["success"], "unavailable"),
        ("hcaptcha", None, "unavailable"),
    ],
)
def test_judge(provider: Any, body: Any, outcome: str) -> None:
    assert judge(provider, body, 0.5).outcome == outcome


def test_a_provider_needs_its_keys() -> None:
    with pytest.raises(ValidationError, match="CAPTCHA_SECRET"):
        Settings(_env_file=None, captcha_provider="turnstile", captcha_site_key="k")
    with pytest.raises(ValidationError, match="CAPTCHA_PROVIDER"):
        Settings(_env_file=None, captcha_every_game=True)
    blank = Settings(_env_file=None, captcha_provider="", captcha_secret="")
    assert blank.captcha_provider is None


# -- through real handshakes -----------------------------------------------------------------


@dataclass
class CaptchaApp:
    url: str
    provider: str
    stand_in: CaptchaStandIn
    owner: ApiUser


@pytest.fixture(scope="module")
async def stand_in() -> AsyncIterator[tuple[CaptchaStandIn, str]]:
    fake = CaptchaStandIn()
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    yield fake, str(server.make_url("")).rstrip("/")
    await server.close()


@asynccontextmanager
async def captcha_app(
    storage: dict[str, str], verify_url: str, provider: str, **extra: Any
) -> AsyncIterator[tuple[str, ApiUser]]:
    """An app with the captcha on (trusting 127.0.0.1 as a proxy, so each join comes
    from its own address), and a teacher signed in on it."""
    settings = {
        "redis_prefix": storage["redis_prefix"] + "cap" + provider,
        "trusted_proxies": ["127.0.0.1/32"],
        "captcha_provider": provider,
        "captcha_secret": SECRET,
        "captcha_site_key": SITE_KEY,
        "captcha_verify_url": verify_url,
        "captcha_timeout_s": 1.0,
        **extra,
    }
    async with separate_app(storage, **settings) as test_server:
        url = str(test_server.make_url("")).rstrip("/")
        async with ClientSession(url) as http:
            yield url, await register_user(http)


@pytest.fixture(scope="module", params=PROVIDERS)
async def app(
    request: pytest.FixtureRequest,
    server: TestServer,
    storage: dict[str, str],
    stand_in: tuple[CaptchaStandIn, str],
) -> AsyncIterator[CaptchaApp]:
    fake, base = stand_in
    provider = request.param
    async with captcha_app(storage, base + PATHS[provider], provider) as (url, owner):
        yield CaptchaApp(url, provider, fake, owner)


@pytest.fixture
async def sockets(app: CaptchaApp) -> AsyncIterator[SocketGroup]:
    async with SocketGroup(app.url) as group:
        yield group


@pytest.fixture(autouse=True)
def provider_up(stand_in: tuple[CaptchaStandIn, str]) -> None:
    stand_in[0].mode = "ok"


async def game_info(url: str, pin: str) -> dict[str, Any]:
    async with ClientSession(url) as http, http.get(f"/api/v1/games/{pin}") as resp:
        assert resp.status == 200
        info: dict[str, Any] = await resp.json()
        return info


def calls_of(app: CaptchaApp, since: int) -> list[dict[str, str]]:
    return app.stand_in.calls[since:]


async def test_a_game_with_the_captcha(app: CaptchaApp, sockets: SocketGroup) -> None:
    game = await create_game(app.owner, first=1, settings={"captcha": True})
    info = await game_info(app.url, game["pin"])
    assert info["captcha"] == {"provider": app.provider, "site_key": SITE_KEY}
    before = len(app.stand_in.calls)

    await sockets.host(game)  # the host is never sent to the provider
    assert calls_of(app, before) == []

    join = {"pin": game["pin"], "nickname": "Ada"}
    assert await sockets.refused(join, address=new_address()) == "captcha_required"
    assert await sockets.refused({**join, "captcha": ""}, address=new_address()) == (
        "captcha_required"
    )
    assert calls_of(app, before) == []  # nothing to ask about
    assert await sockets.refused({**join, "captcha": "made-up"}, address=new_address()) == (
        "captcha_failed"
    )

    token = app.stand_in.issue()
    address = new_address()
    ada, welcome = await sockets.join({**join, "captcha": token}, address=address)
    asked = calls_of(app, before)[-1]
    assert asked["provider"] == app.provider
    assert asked["secret"] == SECRET and asked["response"] == token
    assert asked["remoteip"] == address  # the player's address, as the proxy told it

    # A token is good once: a second join with it is refused by the provider.
    reuse = {"pin": game["pin"], "nickname": "Bob", "captcha": token}
    assert await sockets.refused(reuse, address=new_address()) == "captcha_failed"

    # Ada comes back with her player token: not asked again.
    await ada.close()
    count = len(app.stand_in.calls)
    await sockets.connect({"player_token": welcome["player"]["player_token"]})
    assert len(app.stand_in.calls) == count


async def test_a_game_without_it_is_not_asked(app: CaptchaApp, sockets: SocketGroup) -> None:
    game = await create_game(app.owner, first=1)
    assert (await game_info(app.url, game["pin"]))["captcha"] is None
    before = len(app.stand_in.calls)
    await sockets.player(game, "Ada")
    assert calls_of(app, before) == []


@pytest.mark.parametrize(
    ("mode", "logged"),
    [("down", "503"), ("slow", "ReadTimeout"), ("rotated", "invalid-input-secret")],
)
async def test_a_provider_that_cannot_answer_keeps_everyone_out(
    app: CaptchaApp, sockets: SocketGroup, caplog: pytest.LogCaptureFixture, mode: Any, logged: str
) -> None:
    game = await create_game(app.owner, first=1, settings={"captcha": True})
    app.stand_in.mode = mode
    join = {"pin": game["pin"], "nickname": "Ada", "captcha": app.stand_in.issue()}
    with caplog.at_level(logging.ERROR, logger="classquiz.services.captcha"):
        assert await sockets.refused(join, address=new_address()) == "captcha_unavailable"
    assert any(logged in record.getMessage() for record in caplog.records), caplog.text
    assert join["captcha"] not in caplog.text  # the token is never logged
    app.stand_in.mode = "ok"
    await sockets.join({**join, "captcha": app.stand_in.issue()}, address=new_address())


@pytest.mark.parametrize("app", ["recaptcha"], indirect=True)
async def test_recaptcha_scores_and_actions(app: CaptchaApp, sockets: SocketGroup) -> None:
    game = await create_game(app.owner, first=1, settings={"captcha": True})
    join = {"pin": game["pin"], "nickname": "Ada"}
    low = app.stand_in.issue(score=0.3)
    assert await sockets.refused({**join, "captcha": low}, address=new_address()) == (
        "captcha_failed"
    )
    elsewhere = app.stand_in.issue(action="login")
    assert await sockets.refused({**join, "captcha": elsewhere}, address=new_address()) == (
        "captcha_failed"
    )
    await sockets.join({**join, "captcha": app.stand_in.issue(score=0.7)}, address=new_address())


async def test_every_game_when_the_server_says_so(
    server: TestServer, storage: dict[str, str], stand_in: tuple[CaptchaStandIn, str]
) -> None:
    fake, base = stand_in
    verify = base + PATHS["turnstile"]
    async with captcha_app(storage, verify, "turnstile", captcha_every_game=True) as (url, owner):
        game = await create_game(owner, first=1)  # no captcha setting of its own
        info = await game_info(url, game["pin"])
        assert info["captcha"] == {"provider": "turnstile", "site_key": SITE_KEY}
        async with SocketGroup(url) as sockets:
            join = {"pin": game["pin"], "nickname": "Ada"}
            assert await sockets.refused(join, address=new_address()) == "captcha_required"
            await sockets.join({**join, "captcha": fake.issue()}, address=new_address())


async def test_a_server_without_a_provider_refuses_the_setting(user: ApiUser) -> None:
    status, quiz = await user.request("POST", "/api/v1/quizzes", json=sample_quiz())
    assert status == 201
    body = {"quiz_id": quiz["id"], "settings": {"captcha": True}}
    status, refused = await user.request("POST", "/api/v1/games", json=body)
    assert status == 422, refused
    assert refused["error"]["details"][0]["field"] == "settings.captcha"
