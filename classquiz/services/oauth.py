"""Sign-in with another account (Google, GitHub, an OpenID provider): the flow and the rule
that says which of our accounts it opens.

The flow is the authorization-code grant with every check the standards ask for:

- `state` is a fresh random value, kept server-side (Redis, one use, expiring with
  SIGN_IN_CEREMONY_TTL_S) AND in a cookie of the browser that started: a callback
  must bring both, so neither a replayed nor a planted callback (login CSRF: the
  attacker's code in the victim's browser) gets through;
- the `nonce` stored with the state must come back inside the signed ID token;
- PKCE (S256): the code is only worth something with the verifier we kept.

Which account: the provider's stable subject, once linked, always opens its own
account. An e-mail links a new subject to an existing account only when the
provider says it verified that address AND the account verified it here too; an
unverified address that belongs to an account is refused (it never takes the
account over). The second condition stops "pre-hijacking": someone registers
here with a victim's address (unverified, with a password they know) and waits
for the victim to sign in with Google, which would hand the victim's session to
an account the attacker can open. Otherwise the sign-in creates a new account
(without a password; its e-mail counts as verified when the provider's did).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import Literal

import asyncpg
from redis.asyncio import Redis
from sqlalchemy.exc import IntegrityError

from classquiz.config import Settings
from classquiz.db.models import OAuthIdentity, User, utcnow
from classquiz.errors import Refusal
from classquiz.services.oauth_providers import (
    Identity,
    Provider,
    ProviderClient,
    enabled_providers,
)
from classquiz.services.users import NO_PASSWORD

DEFAULT_NEXT = "/quizzes"
USERNAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Started:
    authorize_url: str
    state: str


@dataclass(frozen=True)
class SignedIn:
    user: User
    next_path: str
    created: bool


Choice = Literal[
    "linked",
    "link_by_email",
    "create",
    "refuse_unverified",
    "refuse_owner_unverified",
    "refuse_no_email",
]


def choose_account(
    identity: Identity, linked: bool, email_owner_exists: bool, owner_verified: bool = False
) -> Choice:
    """Which account a provider's identity opens (the rule of the module docstring)."""
    if linked:
        return "linked"
    if identity.email is None:
        return "refuse_no_email"
    if email_owner_exists:
        if not identity.email_verified:
            return "refuse_unverified"
        return "link_by_email" if owner_verified else "refuse_owner_unverified"
    return "create"


def safe_next(path: str | None) -> str:
    """A path on this site to go to after signing in; anything else becomes the default
    (an absolute or protocol-relative URL would make us an open redirect)."""
    if not path or not path.startswith("/") or path.startswith(("//", "/\\")):
        return DEFAULT_NEXT
    if any(ord(char) < 0x20 for char in path) or len(path) > 512:
        return DEFAULT_NEXT
    return path


def username_from(hint: str | None, email: str) -> str:
    """A username in our alphabet from what the provider calls the user."""
    base = USERNAME_CHARS.sub("", hint or "") or USERNAME_CHARS.sub("", email.split("@")[0])
    base = base[:24]
    return base if len(base) >= 3 else f"user{base}"


def refuse_second_factor(user: User) -> None:
    """An account with TOTP is not opened by a provider alone: that would skip its second
    factor. Its owner signs in with the password and code, or with a passkey."""
    if user.totp_secret:
        raise Refusal(
            "totp_required",
            "this account uses two-factor authentication: sign in with your password and "
            "one-time code, or with a passkey",
        )


class OAuthSignIn:
    """Starts and finishes sign-ins with the providers the settings turn on."""

    def __init__(self, redis: Redis, settings: Settings, client: ProviderClient) -> None:
        self._redis = redis
        self._prefix = settings.redis_prefix
        self._ttl_s = settings.sign_in_ceremony_ttl_s
        self._public_url = settings.public_url.rstrip("/")
        self._providers: dict[str, Provider] = {
            provider.id: provider for provider in enabled_providers(settings)
        }
        self._client = client

    @property
    def providers(self) -> list[Provider]:
        return list(self._providers.values())

    @property
    def state_ttl_s(self) -> int:
        return self._ttl_s

    def redirect_uri(self, provider_id: str) -> str:
        return f"{self._public_url}/api/v1/auth/oauth/{provider_id}/callback"

    def _provider(self, provider_id: str) -> Provider:
        provider = self._providers.get(provider_id)
        if provider is None:
            raise Refusal("provider_not_found", "this sign-in provider is not enabled here")
        return provider

    def _state_key(self, state: str) -> str:
        return f"{self._prefix}:oauth:state:{hashlib.sha256(state.encode()).hexdigest()}"

    async def start(self, provider_id: str, next_path: str | None) -> Started:
        provider = self._provider(provider_id)
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)  # 86 characters: PKCE wants 43-128
        url = await self._client.authorization_url(
            provider, self.redirect_uri(provider.id), state, nonce, verifier
        )
        record = {
            "provider": provider.id,
            "nonce": nonce,
            "verifier": verifier,
            "next": safe_next(next_path),
        }
        await self._redis.set(self._state_key(state), json.dumps(record), ex=self._ttl_s)
        return Started(url, state)

    async def finish(
        self, provider_id: str, state: str | None, cookie_state: str | None, code: str | None
    ) -> SignedIn:
        """The account the callback signs in to; a Refusal changes nothing."""
        provider = self._provider(provider_id)
        if not state or not cookie_state or not secrets.compare_digest(state, cookie_state):
            raise Refusal("sign_in_state_invalid", "this sign-in was not started in this browser")
        raw = await self._redis.getdel(self._state_key(state))
        if raw is None:
            raise Refusal("sign_in_state_invalid", "this sign-in expired or was already used")
        record = json.loads(raw)
        if record["provider"] != provider.id:
            raise Refusal("sign_in_state_invalid", "this sign-in was started with another provider")
        if not code:
            raise Refusal("sign_in_failed", "the provider sent no authorization code")
        identity = await self._client.identity(
            provider, self.redirect_uri(provider.id), code, record["nonce"], record["verifier"]
        )
        user, created = await self._account_for(provider, identity)
        return SignedIn(user, record["next"], created)

    async def _account_for(self, provider: Provider, identity: Identity) -> tuple[User, bool]:
        link = await OAuthIdentity.objects.get_or_none(
            provider=provider.id, subject=identity.subject
        )
        owner = await User.objects.get_or_none(email=identity.email) if identity.email else None
        choice = choose_account(
            identity,
            linked=link is not None,
            email_owner_exists=owner is not None,
            owner_verified=owner is not None and owner.email_verified_at is not None,
        )
        if choice == "linked":
            assert link is not None
            user = await User.objects.get(id=link.user.id)
            refuse_second_factor(user)
            await OAuthIdentity.objects.filter(id=link.id).update(last_used_at=utcnow())
            return user, False
        if choice == "refuse_no_email":
            raise Refusal("email_not_verified", "the provider did not tell us an e-mail address")
        if choice == "refuse_unverified":
            raise Refusal(
                "email_not_verified",
                "an account with this e-mail address exists and the provider has not "
                "verified the address; sign in with your password instead",
            )
        if choice == "refuse_owner_unverified":
            raise Refusal(
                "email_not_verified",
                "an account with this e-mail address exists and has not verified the address "
                "here; sign in with your password and verify your address first",
            )
        assert identity.email is not None
        if choice == "link_by_email":
            assert owner is not None
            refuse_second_factor(owner)
            await self._link(owner, provider, identity)
            return owner, False
        user = await self._create(identity.email, identity.email_verified, identity.username_hint)
        await self._link(user, provider, identity)
        return user, True

    async def _link(self, user: User, provider: Provider, identity: Identity) -> None:
        try:
            await OAuthIdentity.objects.create(
                user=user.id,
                provider=provider.id,
                subject=identity.subject,
                email=identity.email,
                last_used_at=utcnow(),
            )
        except (IntegrityError, asyncpg.UniqueViolationError):
            raise Refusal(
                "sign_in_state_invalid", "this account was linked at the same moment; try again"
            ) from None

    async def _create(self, email: str, verified: bool, hint: str | None) -> User:
        base = username_from(hint, email)
        for attempt in range(6):
            name = base if attempt == 0 else f"{base[:26]}-{secrets.token_hex(2)}"
            if await User.objects.filter(username__iexact=name).exists():
                continue
            try:
                return await User.objects.create(
                    email=email,
                    username=name,
                    password_hash=NO_PASSWORD,
                    email_verified_at=utcnow() if verified else None,
                )
            except (IntegrityError, asyncpg.UniqueViolationError):
                if await User.objects.filter(email=email).exists():
                    raise Refusal(
                        "email_taken", "an account with this e-mail was just created; try again"
                    ) from None
                await asyncio.sleep(0)
        raise Refusal("username_taken", "no free username was found; try again")
