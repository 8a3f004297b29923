"""Sign-in counterparts on loopback: a real OpenID provider (panva's oidc-provider, in
Node), a stand-in of GitHub's documented OAuth and REST endpoints, an app configured for
them, and a client that walks a browser's path through the authorization-code flow."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import secrets
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
from aiohttp import web
from aiohttp.test_utils import TestServer

from classquiz import create_app
from classquiz.db.models import User, utcnow
from tests.support.apps import make_settings
from tests.support.processes import free_port

OIDC_DIR = Path(__file__).resolve().parents[1] / "oidc"
CLIENT_ID = "classquiz-test"
CLIENT_SECRET = "classquiz-test-secret-0123456789abcdef"


@contextlib.asynccontextmanager
async def oidc_provider(redirect_uri: str, email_in_id_token: bool = False) -> AsyncIterator[str]:
    """oidc-provider on an ephemeral port of 127.0.0.1 with our client; yields the issuer.
    The e-mail claims come from its userinfo endpoint, or in the ID token itself."""
    node = shutil.which("node")
    assert node, "node is not installed (the OpenID provider of the tests runs on Node)"
    assert (OIDC_DIR / "node_modules" / "oidc-provider").is_dir(), (
        "tests/oidc/node_modules is missing: run `npm ci` in tests/oidc (scripts/test does)"
    )
    proc = await asyncio.create_subprocess_exec(
        node,
        str(OIDC_DIR / "provider.mjs"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(OIDC_DIR),
    )
    assert proc.stdin and proc.stdout
    config = {
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [redirect_uri],
            }
        ],
        "emailInIdToken": email_in_id_token,
    }
    proc.stdin.write(json.dumps(config).encode() + b"\n")
    await proc.stdin.drain()
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
        assert line, f"the OpenID provider did not start: {await _stderr(proc)}"
        yield str(json.loads(line)["issuer"])
    finally:
        proc.stdin.close()
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        await proc.wait()


async def _stderr(proc: asyncio.subprocess.Process) -> str:
    assert proc.stderr
    with contextlib.suppress(TimeoutError):
        return (await asyncio.wait_for(proc.stderr.read(), timeout=5)).decode()[-2000:]
    return ""


@contextlib.asynccontextmanager
async def app_on_port(
    storage: dict[str, str], port: int, host_name: str = "127.0.0.1", **overrides: Any
) -> AsyncIterator[str]:
    """A second app at http://<host_name>:<port> (its PUBLIC_URL), with these settings."""
    public_url = f"http://{host_name}:{port}"
    settings = make_settings(storage, public_url=public_url, **overrides)
    server = TestServer(create_app(settings, own_database=False), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield public_url
    finally:
        await server.close()


@contextlib.asynccontextmanager
async def app_with_oidc(
    storage: dict[str, str], name: str | None = None, email_in_id_token: bool = False
) -> AsyncIterator[str]:
    """A real OpenID provider and an app that signs in with it (as provider `name`, or the
    server's default name); yields the app's URL. The app's port is chosen first, because
    the provider must know the redirect URI when it starts."""
    port = free_port()
    redirect_uri = f"http://127.0.0.1:{port}/api/v1/auth/oauth/oidc/callback"
    named = {} if name is None else {"oidc_name": name}
    async with oidc_provider(redirect_uri, email_in_id_token) as issuer:
        async with app_on_port(
            storage,
            port,
            oidc_discovery_url=f"{issuer}/.well-known/openid-configuration",
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET,
            **named,
        ) as app_url:
            yield app_url


class _Forms(HTMLParser):
    """The first form of a page: its action and its hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.hidden: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and self.action is None:
            self.action = values.get("action", "")
        elif tag == "input" and values.get("type") == "hidden" and "name" in values:
            self.hidden[values["name"]] = values.get("value", "")


@dataclass
class Browser:
    """What a browser does in the flow: follows redirects, keeps cookies, fills the
    provider's login and consent pages (typing `account` as the login name)."""

    app_url: str
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=20))

    async def close(self) -> None:
        await self.client.aclose()

    async def start(self, provider: str, next_path: str | None = None) -> httpx.Response:
        query = f"?{urlencode({'next': next_path})}" if next_path else ""
        return await self.client.get(f"{self.app_url}/api/v1/auth/oauth/{provider}/start{query}")

    async def through_provider(self, authorize_url: str, account: str) -> str:
        """Walk the provider's pages from `authorize_url` until it sends the browser back
        to our app; the callback URL it sends us to (not yet opened)."""
        response = await self.client.get(authorize_url)
        for _ in range(20):
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["location"])
                if target.startswith(self.app_url):
                    return target
                response = await self.client.get(target)
                continue
            assert response.status_code == 200, (response.status_code, response.text[:500])
            form = _Forms()
            form.feed(response.text)
            assert form.action is not None, f"no form on {response.url}: {response.text[:500]}"
            fields = dict(form.hidden)
            if fields.get("prompt") == "login":
                fields.update(login=account, password="any password")
            response = await self.client.post(urljoin(str(response.url), form.action), data=fields)
        raise AssertionError("the provider never sent the browser back")

    async def open(self, url: str) -> httpx.Response:
        return await self.client.get(url)

    async def sign_in(self, provider: str, account: str, next_path: str | None = None) -> str:
        """The whole flow; where our app sends the browser at the end."""
        started = await self.start(provider, next_path)
        assert started.status_code == 302, started.text
        callback = await self.through_provider(started.headers["location"], account)
        finished = await self.open(callback)
        assert finished.status_code == 302, finished.text
        return finished.headers["location"]

    async def me(self) -> tuple[int, Any]:
        response = await self.client.get(f"{self.app_url}/api/v1/users/me")
        return response.status_code, response.json()


async def mark_email_verified(email: str) -> None:
    """The account proved its address here. The mailed verification link
    (services of the e-mail verification work, issue 15) sets this same column; it is set
    directly here so these tests need no SMTP server."""
    await User.objects.filter(email=email).update(email_verified_at=utcnow())


def sign_in_error(location: str) -> str | None:
    """The `sign_in_error` of a redirect to /login, or None for any other place."""
    parts = urlsplit(location)
    if parts.path != "/login":
        return None
    return parse_qs(parts.query).get("sign_in_error", [None])[0]


def with_param(url: str, name: str, value: str) -> str:
    """`url` with one query parameter replaced (what a meddling party would do)."""
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query[name] = value
    return parts._replace(query=urlencode(query)).geturl()


# -- GitHub ------------------------------------------------------------------------------------


@dataclass
class GitHubAccount:
    id: int
    login: str
    emails: list[dict[str, Any]]


@dataclass
class GitHubStandIn:
    """GitHub's documented OAuth app endpoints (authorize, access_token) and the REST
    endpoints sign-in reads (/user, /user/emails), checking what GitHub checks: the
    client's credentials, the redirect URI, one use per code, and the PKCE verifier.

    The authorize page of the real site asks the person; here `approve_as` names the
    account that approves the next authorization."""

    client_id: str
    client_secret: str
    redirect_uri: str
    approve_as: GitHubAccount | None = None
    codes: dict[str, tuple[GitHubAccount, str]] = field(default_factory=dict)
    tokens: dict[str, GitHubAccount] = field(default_factory=dict)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/login/oauth/authorize", self.authorize)
        app.router.add_post("/login/oauth/access_token", self.access_token)
        app.router.add_get("/api/user", self.user)
        app.router.add_get("/api/user/emails", self.user_emails)
        return app

    async def authorize(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("client_id") != self.client_id or query.get("redirect_uri") != (
            self.redirect_uri
        ):
            return web.Response(status=400, text="unknown client or redirect_uri")
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return web.Response(status=400, text="this stand-in insists on PKCE")
        assert self.approve_as is not None
        code = secrets.token_hex(10)
        self.codes[code] = (self.approve_as, query["code_challenge"])
        target = f"{self.redirect_uri}?{urlencode({'code': code, 'state': query['state']})}"
        raise web.HTTPFound(target)

    async def access_token(self, request: web.Request) -> web.Response:
        form = await request.post()
        client_id, client_secret = _client_credentials(request, form)
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return web.json_response({"error": "incorrect_client_credentials"})
        taken = self.codes.pop(str(form.get("code", "")), None)
        if taken is None:
            return web.json_response({"error": "bad_verification_code"})
        account, challenge = taken
        verifier = str(form.get("code_verifier", ""))
        computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if computed.rstrip(b"=").decode() != challenge:
            return web.json_response({"error": "invalid_grant"})
        token = "gho_" + secrets.token_hex(16)
        self.tokens[token] = account
        return web.json_response(
            {"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"}
        )

    def _account(self, request: web.Request) -> GitHubAccount:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        account = self.tokens.get(token) if scheme.lower() in ("bearer", "token") else None
        if account is None:
            raise web.HTTPUnauthorized(text='{"message":"Bad credentials"}')
        return account

    async def user(self, request: web.Request) -> web.Response:
        account = self._account(request)
        return web.json_response({"id": account.id, "login": account.login, "type": "User"})

    async def user_emails(self, request: web.Request) -> web.Response:
        return web.json_response(self._account(request).emails)


def _client_credentials(request: web.Request, form: Any) -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        raw = base64.b64decode(header[6:]).decode()
        client_id, _, secret = raw.partition(":")
        return client_id, secret
    return str(form.get("client_id", "")), str(form.get("client_secret", ""))
