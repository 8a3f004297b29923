"""UserService: accounts, login, logout, resolving credentials; the optional TOTP factor
is TotpService, API keys are ApiKeys (services/api_keys.py).

Credentials accepted on every authenticated request, in this order: a bearer
API key (`cqk_…`), a bearer access token, the `access_token` cookie. An access
token counts only while its session generation is the account's current one.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import asyncpg
import sqlalchemy
from redis.asyncio import Redis
from sqlalchemy.exc import IntegrityError

from classquiz.contracts.users import LoginIn, RegisterIn, UserOut
from classquiz.db.engine import database
from classquiz.db.models import User
from classquiz.errors import Refusal
from classquiz.services.api_keys import API_KEY_PREFIX, ApiKeys, KeyScope
from classquiz.services.passwords import Passwords
from classquiz.services.tokens import ACCESS, TokenInvalid, TokenSigner
from classquiz.services.totp import TotpService

# An account made by another provider's sign-in (OpenID, GitHub) has no password: this
# is no Argon2 hash, so no password ever matches it (Passwords.verify answers False
# on an invalid hash). A password reset can give it one.
NO_PASSWORD = "!no-password"


def has_password(user: User) -> bool:
    return user.password_hash != NO_PASSWORD


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        username=user.username,
        has_password=has_password(user),
        totp_enabled=bool(user.totp_secret),
        email_verified=user.email_verified_at is not None,
        created_at=user.created_at,
    )


@dataclass(frozen=True)
class Session:
    """Who is calling, and how (a revocable access token or an API key)."""

    user: User
    token_jti: str | None = None
    token_expires_at: int | None = None
    token_issued_at: int | None = None  # when this access token was issued (its sign-in)
    key_scope: KeyScope | None = None  # set when the credential is an API key

    @property
    def by_api_key(self) -> bool:
        return self.key_scope is not None


class UserService:
    def __init__(
        self,
        redis: Redis,
        signer: TokenSigner,
        key_prefix: str,
        token_expiry_s: int,
        passwords: Passwords,
        totp: TotpService,
        api_keys: ApiKeys,
    ) -> None:
        self._redis = redis
        self._signer = signer
        self._prefix = key_prefix
        self.token_expiry_s = token_expiry_s
        self._passwords = passwords
        self.totp = totp
        self.api_keys = api_keys

    # -- accounts ------------------------------------------------------------

    async def register(self, data: RegisterIn) -> User:
        email = data.email.lower()
        if await User.objects.filter(email=email).exists():
            raise Refusal("email_taken", "an account with this email already exists")
        if await User.objects.filter(username__iexact=data.username).exists():
            raise Refusal("username_taken", "this username is taken")
        password_hash = await self._passwords.hash(data.password)
        try:
            # The unique index on `username` is case-sensitive: two concurrent
            # registrations of "Ada" and "ada" would both pass the check above.
            # A transaction-scoped advisory lock on the folded name serialises
            # them, and the check is repeated under it.
            async with database.transaction():
                conn = database.get_transaction_connection()
                assert conn is not None
                await conn.execute(
                    sqlalchemy.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                    {"key": "classquiz:username:" + data.username.lower()},
                )
                if await User.objects.filter(username__iexact=data.username).exists():
                    raise Refusal("username_taken", "this username is taken")
                return await User.objects.create(
                    email=email, username=data.username, password_hash=password_hash
                )
        except (IntegrityError, asyncpg.UniqueViolationError):
            # Lost a race with a concurrent registration of the same name.
            if await User.objects.filter(email=email).exists():
                raise Refusal("email_taken", "an account with this email already exists") from None
            raise Refusal("username_taken", "this username is taken") from None

    async def login(self, data: LoginIn) -> tuple[User, str]:
        login = data.login.strip()
        if "@" in login:
            user = await User.objects.get_or_none(email=login.lower())
        else:
            user = await User.objects.filter(username__iexact=login).get_or_none()
        ok = await self._passwords.verify(user.password_hash if user else None, data.password)
        if not ok or user is None:
            raise Refusal("invalid_credentials", "wrong login or password")
        if user.totp_secret:
            if not data.totp:
                raise Refusal("totp_required", "this account needs a one-time code")
            await self.totp.check(
                user, data.totp, Refusal("invalid_credentials", "wrong one-time code")
            )
        return user, self.start_session(user)

    def start_session(self, user: User) -> str:
        """A new access token of `user`: how every way of signing in ends (a password,
        a passkey, another provider), so each one yields the same revocable session, of the
        account's current session generation ("sign out everywhere" ends it)."""
        token, _ = self._signer.issue(
            str(user.id), ACCESS, self.token_expiry_s, gen=user.session_generation
        )
        return token

    async def logout(self, session: Session) -> None:
        if session.token_jti and session.token_expires_at:
            ttl = max(1, session.token_expires_at - int(time.time()))
            await self._redis.set(self._revoked_key(session.token_jti), b"1", ex=ttl)

    # -- resolving credentials ----------------------------------------------------

    async def authenticate(self, credential: str) -> Session:
        """The session behind an API key or access token, or Refusal 401."""
        if credential.startswith(API_KEY_PREFIX):
            key = await self.api_keys.resolve(credential)
            user = await User.objects.get_or_none(id=key.user.id)
            if user is None:
                raise Refusal("invalid_token", "unknown API key")
            return Session(user=user, key_scope="read" if key.scope == "read" else "full")
        try:
            claims = self._signer.verify(credential, ACCESS)
        except TokenInvalid as exc:
            raise Refusal("invalid_token", f"invalid access token: {exc}") from None
        if await self._redis.exists(self._revoked_key(claims.jti)):
            raise Refusal("invalid_token", "this token was revoked (logged out)")
        user = await User.objects.get_or_none(id=uuid.UUID(claims.subject))
        if user is None:
            raise Refusal("invalid_token", "the account no longer exists")
        if claims.generation != user.session_generation:
            raise Refusal("invalid_token", "this session has ended (signed out everywhere)")
        return Session(
            user=user,
            token_jti=claims.jti,
            token_expires_at=claims.expires_at,
            token_issued_at=claims.issued_at,
        )

    def _revoked_key(self, jti: str) -> str:
        return f"{self._prefix}:revoked:{jti}"
