"""The sign-in providers the settings turn on, and what each one says about its user.

Two kinds of provider speak two dialects of the same authorization-code flow:

- OpenID Connect (Google, or any provider found by its discovery document): the
  token response carries a signed ID token; its signature (the provider's JWKS),
  issuer, audience, expiry and our nonce are checked here, and the e-mail with its
  `email_verified` flag comes from the ID token or, when the provider keeps it
  there, from the userinfo endpoint (whose `sub` must be the token's).
- GitHub, which is OAuth2 without OpenID: there is no ID token (so no nonce), and
  who the user is comes from its REST API (`/user`, `/user/emails`, where each
  address says whether GitHub verified it).

Authlib's httpx client makes the requests (the authorization URL with PKCE, the
token exchange); joserfc, the JOSE library Authlib itself moved to, checks the ID
token. Both are reached only from here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization

from classquiz.config import Settings
from classquiz.errors import Refusal

ProviderId = Literal["google", "github", "oidc"]
GOOGLE_DISCOVERY_URL = "https://accounts.google.com/.well-known/openid-configuration"
HTTP_TIMEOUT_S = 10.0
DISCOVERY_CACHE_S = 3600.0
ID_TOKEN_LEEWAY_S = 120


@dataclass(frozen=True)
class Provider:
    """One enabled provider: how to reach it and with which client credentials."""

    id: ProviderId
    name: str
    client_id: str
    client_secret: str
    discovery_url: str | None = None  # OpenID Connect providers
    github_url: str | None = None  # GitHub: the sign-in site and the API
    github_api_url: str | None = None

    @property
    def scope(self) -> str:
        return "read:user user:email" if self.id == "github" else "openid email profile"


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in: its stable subject and what it knows of the e-mail."""

    subject: str
    email: str | None
    email_verified: bool
    username_hint: str | None


@dataclass(frozen=True)
class Endpoints:
    authorize: str
    token: str
    issuer: str | None = None
    jwks: str | None = None
    userinfo: str | None = None
    signing_algorithms: tuple[str, ...] = ("RS256",)


def enabled_providers(settings: Settings) -> list[Provider]:
    """The providers whose client id and secret are both set, in button order."""
    found: list[Provider] = []
    if settings.google_client_id and settings.google_client_secret:
        found.append(
            Provider(
                "google",
                "Google",
                settings.google_client_id,
                settings.google_client_secret,
                discovery_url=GOOGLE_DISCOVERY_URL,
            )
        )
    if settings.github_client_id and settings.github_client_secret:
        found.append(
            Provider(
                "github",
                "GitHub",
                settings.github_client_id,
                settings.github_client_secret,
                github_url=settings.github_url.rstrip("/"),
                github_api_url=settings.github_api_url.rstrip("/"),
            )
        )
    if settings.oidc_discovery_url and settings.oidc_client_id and settings.oidc_client_secret:
        found.append(
            Provider(
                "oidc",
                settings.oidc_name,
                settings.oidc_client_id,
                settings.oidc_client_secret,
                discovery_url=settings.oidc_discovery_url,
            )
        )
    return found


def provider_failed(what: str) -> Refusal:
    return Refusal("sign_in_failed", f"the sign-in provider did not complete: {what}")


class ProviderClient:
    """Talks to the providers: endpoints (discovery, cached), tokens, identities."""

    def __init__(self) -> None:
        self._discovered: dict[str, tuple[float, Endpoints]] = {}

    async def endpoints(self, provider: Provider) -> Endpoints:
        if provider.id == "github":
            assert provider.github_url is not None
            return Endpoints(
                authorize=f"{provider.github_url}/login/oauth/authorize",
                token=f"{provider.github_url}/login/oauth/access_token",
            )
        assert provider.discovery_url is not None
        cached = self._discovered.get(provider.discovery_url)
        if cached is not None and time.monotonic() - cached[0] < DISCOVERY_CACHE_S:
            return cached[1]
        document = await self._get_json(provider.discovery_url)
        try:
            found = Endpoints(
                authorize=str(document["authorization_endpoint"]),
                token=str(document["token_endpoint"]),
                issuer=str(document["issuer"]),
                jwks=str(document["jwks_uri"]),
                userinfo=str(document["userinfo_endpoint"])
                if document.get("userinfo_endpoint")
                else None,
                signing_algorithms=tuple(
                    str(alg)
                    for alg in document.get("id_token_signing_alg_values_supported", ["RS256"])
                    if alg != "none"
                ),
            )
        except (KeyError, TypeError):
            raise provider_failed("its discovery document lacks an endpoint") from None
        self._discovered[provider.discovery_url] = (time.monotonic(), found)
        return found

    def oauth_client(self, provider: Provider, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            scope=provider.scope,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=HTTP_TIMEOUT_S,
        )

    async def authorization_url(
        self, provider: Provider, redirect_uri: str, state: str, nonce: str, verifier: str
    ) -> str:
        endpoints = await self.endpoints(provider)
        extra: dict[str, str] = {} if provider.id == "github" else {"nonce": nonce}
        async with self.oauth_client(provider, redirect_uri) as client:
            url, _ = client.create_authorization_url(
                endpoints.authorize, state=state, code_verifier=verifier, **extra
            )
        return str(url)

    async def identity(
        self, provider: Provider, redirect_uri: str, code: str, nonce: str, verifier: str
    ) -> Identity:
        """Exchange the code (with the PKCE verifier) and read who signed in."""
        endpoints = await self.endpoints(provider)
        async with self.oauth_client(provider, redirect_uri) as client:
            try:
                token: dict[str, Any] = await client.fetch_token(
                    endpoints.token, code=code, code_verifier=verifier
                )
            except Exception as exc:  # Authlib raises its OAuthError or httpx's errors
                raise provider_failed(f"the code was not accepted ({exc})") from None
            if "access_token" not in token:
                raise provider_failed(f"no access token ({token.get('error', 'no reason')})")
            if provider.id == "github":
                return await self._github_identity(client, provider)
            return await self._oidc_identity(client, provider, endpoints, token, nonce)

    async def _oidc_identity(
        self,
        client: AsyncOAuth2Client,
        provider: Provider,
        endpoints: Endpoints,
        token: dict[str, Any],
        nonce: str,
    ) -> Identity:
        id_token = token.get("id_token")
        if not isinstance(id_token, str) or endpoints.jwks is None:
            raise provider_failed("no ID token")
        published = (await self._get_json(endpoints.jwks)).get("keys")
        if not isinstance(published, list):
            raise provider_failed("its key set has no keys")
        keys = KeySet.import_key_set(KeySetSerialization(keys=published))
        try:
            decoded = jwt.decode(id_token, keys, algorithms=list(endpoints.signing_algorithms))
            registry = jwt.JWTClaimsRegistry(
                leeway=ID_TOKEN_LEEWAY_S,
                iss={"essential": True, "value": endpoints.issuer or ""},
                aud={"essential": True, "value": provider.client_id},
                sub={"essential": True},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise provider_failed(f"the ID token is not valid ({exc})") from None
        claims: dict[str, Any] = dict(decoded.claims)
        if "email" not in claims and endpoints.userinfo:
            info = await client.get(endpoints.userinfo)
            if info.status_code != 200:
                raise provider_failed(f"userinfo answered {info.status_code}")
            extra = info.json()
            if not isinstance(extra, dict) or extra.get("sub") != claims["sub"]:
                raise provider_failed("userinfo is about someone else")
            claims.update({key: extra[key] for key in ("email", "email_verified") if key in extra})
            claims.setdefault("preferred_username", extra.get("preferred_username"))
        email = claims.get("email")
        return Identity(
            subject=str(claims["sub"]),
            email=email.lower() if isinstance(email, str) and "@" in email else None,
            email_verified=claims.get("email_verified") is True,
            username_hint=_text(claims.get("preferred_username")) or _text(claims.get("name")),
        )

    async def _github_identity(self, client: AsyncOAuth2Client, provider: Provider) -> Identity:
        """GitHub's documented REST API: the account, then its addresses with their flags."""
        headers = {"Accept": "application/vnd.github+json"}
        user = await client.get(f"{provider.github_api_url}/user", headers=headers)
        emails = await client.get(f"{provider.github_api_url}/user/emails", headers=headers)
        if user.status_code != 200 or emails.status_code != 200:
            raise provider_failed(f"GitHub's API answered {user.status_code}/{emails.status_code}")
        account, addresses = user.json(), emails.json()
        if not isinstance(account, dict) or "id" not in account or not isinstance(addresses, list):
            raise provider_failed("GitHub's API answered something else than an account")
        email, verified = github_email(addresses)
        return Identity(
            subject=str(account["id"]),
            email=email,
            email_verified=verified,
            username_hint=_text(account.get("login")),
        )

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as http:
                response = await http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise provider_failed(f"{url} could not be reached ({exc})") from None
        if response.status_code != 200:
            raise provider_failed(f"{url} answered {response.status_code}")
        document = response.json()
        if not isinstance(document, dict):
            raise provider_failed(f"{url} did not answer a JSON object")
        return document


def github_email(addresses: list[Any]) -> tuple[str | None, bool]:
    """The address to use from GitHub's `/user/emails`: the primary one if GitHub verified
    it, else any verified one, else the primary (unverified) one."""
    rows = [row for row in addresses if isinstance(row, dict) and isinstance(row.get("email"), str)]

    def preference(row: dict[str, Any]) -> int:
        primary, verified = row.get("primary") is True, row.get("verified") is True
        return 0 if primary and verified else 1 if verified else 2 if primary else 3

    best = min(rows, key=preference, default=None)
    if best is not None and preference(best) < 3:
        return str(best["email"]).lower(), best.get("verified") is True
    return None, False


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
