"""API keys: long-lived bearer credentials for scripts, with a scope and an expiry.

A key is `cqk_` + 256 random bits; only its SHA-256 is stored (keys are
high-entropy, so a fast hash is enough), with the first characters for the
owner to recognise it. Two scopes:

- `full`: everything the owner may do through the API, except managing
  credentials;
- `read`: only safe methods (GET, HEAD, OPTIONS).

No key, whatever its scope, may create or revoke keys, change the password or
the second factor, or end sessions: those need the owner's own sign-in
(`may_manage_credentials`), so a leaked key cannot dig itself in.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Literal

from classquiz.contracts.users import ApiKeyCreatedOut, ApiKeyOut
from classquiz.db.models import ApiKey, User, utcnow
from classquiz.errors import Refusal

API_KEY_PREFIX = "cqk_"
KeyScope = Literal["read", "full"]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def hash_api_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def scope_allows(scope: str, method: str) -> bool:
    """Whether a key of `scope` may make a request with `method` (rule, no I/O)."""
    return scope == "full" or method.upper() in SAFE_METHODS


def is_expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now


def api_key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        scope="read" if key.scope == "read" else "full",
        created_at=key.created_at,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
    )


class ApiKeys:
    async def create(
        self, user: User, name: str, scope: KeyScope, expires_in_days: int | None
    ) -> ApiKeyCreatedOut:
        secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        key = await ApiKey.objects.create(
            user=user.id,
            name=name,
            prefix=secret[:12],
            key_hash=hash_api_key(secret),
            scope=scope,
            created_at=now,
            expires_at=None if expires_in_days is None else now + timedelta(days=expires_in_days),
        )
        return ApiKeyCreatedOut(**api_key_out(key).model_dump(), key=secret)

    async def list(self, user: User) -> list[ApiKeyOut]:
        keys = await ApiKey.objects.filter(user__id=user.id).order_by("-created_at").all()
        return [api_key_out(key) for key in keys]

    async def delete(self, user: User, key_id: uuid.UUID) -> None:
        # Check the owner first: Ormar turns a DELETE filtered on a relation
        # (`user__id=`) into a cartesian product that ignores the owner.
        key = await ApiKey.objects.get_or_none(id=key_id)
        if key is None or key.user.id != user.id:
            raise Refusal("api_key_not_found", "no such API key")
        await ApiKey.objects.filter(id=key.id).delete()

    async def resolve(self, secret: str) -> ApiKey:
        """The live key behind `secret` (its use noted), or Refusal `invalid_token`."""
        key = await ApiKey.objects.get_or_none(key_hash=hash_api_key(secret))
        if key is None:
            raise Refusal("invalid_token", "unknown API key")
        now = utcnow()
        if is_expired(key.expires_at, now):
            raise Refusal("invalid_token", "this API key has expired")
        await ApiKey.objects.filter(id=key.id).update(last_used_at=now)
        return key
