"""Single-use, expiring tokens sent by mail (password reset, e-mail verification).

The token itself exists only in the mail; the table keeps its SHA-256 (a token
carries 256 random bits, so a fast hash is enough and a stolen table opens
nothing). Using a token is one UPDATE that sets `used_at` only where it is
still unused and unexpired, so two requests with the same link cannot both
succeed.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from classquiz.db.engine import write
from classquiz.db.models import AccountToken, User, utcnow
from classquiz.errors import Refusal

Purpose = Literal["password_reset", "verify_email"]
PASSWORD_RESET: Purpose = "password_reset"
VERIFY_EMAIL: Purpose = "verify_email"

_TABLE = AccountToken.ormar_config.table


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invalid_link() -> Refusal:
    """The one answer for a token that is unknown, expired, used or of another kind:
    telling them apart would only help someone guessing."""
    return Refusal("invalid_code", "this link is invalid, has expired or was already used")


@dataclass(frozen=True)
class TokenGrant:
    """What a valid token stands for."""

    token_id: uuid.UUID
    user_id: uuid.UUID
    email: str


class AccountTokens:
    async def issue(self, user: User, purpose: Purpose, ttl_s: int) -> str:
        """A new token for `user` at their current address; the plain token, to mail."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        await AccountToken.objects.create(
            user=user.id,
            purpose=purpose,
            token_hash=hash_token(token),
            email=user.email,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
        )
        await self.prune()
        return token

    async def peek(self, token: str, purpose: Purpose) -> TokenGrant:
        """The grant of a usable token without using it up, or `invalid_link`."""
        row = await AccountToken.objects.get_or_none(token_hash=hash_token(token), purpose=purpose)
        if row is None or row.used_at is not None or _expired(row.expires_at):
            raise invalid_link()
        return TokenGrant(token_id=row.id, user_id=row.user.id, email=row.email)

    async def consume(self, token: str, purpose: Purpose) -> TokenGrant:
        """Use the token up, atomically; `invalid_link` when it is no longer usable."""
        now = utcnow()
        statement = (
            _TABLE.update()
            .where(
                _TABLE.c.token_hash == hash_token(token),
                _TABLE.c.purpose == purpose,
                _TABLE.c.used_at.is_(None),
                _TABLE.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(_TABLE.c.id, _TABLE.c.user_id, _TABLE.c.email)
        )
        rows = await write(statement)
        if not rows:
            raise invalid_link()
        row = rows[0]._mapping
        return TokenGrant(
            token_id=uuid.UUID(str(row["id"])),
            user_id=uuid.UUID(str(row["user_id"])),
            email=str(row["email"]),
        )

    async def retire_all(self, user_id: uuid.UUID, purpose: Purpose) -> None:
        """Mark every unused token of `user_id` for `purpose` used (after a reset or
        verification, older links must not work any more)."""
        await write(
            _TABLE.update()
            .where(
                _TABLE.c.user_id == user_id,
                _TABLE.c.purpose == purpose,
                _TABLE.c.used_at.is_(None),
            )
            .values(used_at=utcnow())
        )

    async def prune(self) -> int:
        """Delete tokens that expired more than a day ago; how many went."""
        cutoff = utcnow() - timedelta(days=1)
        result = await write(
            _TABLE.delete().where(_TABLE.c.expires_at < cutoff).returning(_TABLE.c.id)
        )
        return len(result)


def _expired(expires_at: datetime) -> bool:
    return expires_at <= utcnow()
