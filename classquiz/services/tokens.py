"""Signed tokens: user access tokens, and game-scoped host and player tokens.

All are HS256 JWTs under the server's secret key, each with a `typ` claim so a
token of one kind is never accepted as another, and a `jti` so a user access
token can be revoked at logout (the revocation list lives in Redis until the
token would have expired anyway). A user access token also carries the
account's session generation (`gen`): raising the generation ("sign out
everywhere", a password change or reset) ends every token issued before, so
an access token must always be issued with one (`UserService.start_session`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHM = "HS256"
ACCESS = "access"
HOST = "host"
PLAYER = "player"


class TokenInvalid(Exception):
    """The token is missing, tampered with, expired or of the wrong kind."""


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    kind: str
    jti: str
    expires_at: int
    game_id: str | None = None
    pin: str | None = None
    generation: int = 0
    issued_at: int = 0  # seconds since the epoch; 0 for a token without `iat`


class TokenSigner:
    def __init__(self, secret_key: str) -> None:
        self._key = secret_key

    def issue(self, subject: str, kind: str, ttl_s: int, **extra: Any) -> tuple[str, TokenClaims]:
        if kind == ACCESS and not isinstance(extra.get("gen"), int):
            raise ValueError("an access token needs the account's session generation (gen)")
        now = int(time.time())
        claims = TokenClaims(
            subject=subject,
            kind=kind,
            jti=uuid.uuid4().hex,
            expires_at=now + ttl_s,
            game_id=extra.get("gid"),
            pin=extra.get("pin"),
            generation=int(extra.get("gen") or 0),
            issued_at=now,
        )
        payload: dict[str, Any] = {
            "sub": subject,
            "typ": kind,
            "jti": claims.jti,
            "iat": now,
            "exp": claims.expires_at,
        }
        payload.update({key: value for key, value in extra.items() if value is not None})
        return jwt.encode(payload, self._key, algorithm=ALGORITHM), claims

    def verify(self, token: str, kind: str) -> TokenClaims:
        if not token or not isinstance(token, str) or len(token) > 4096:
            raise TokenInvalid("missing token")
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "sub", "typ", "jti"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenInvalid(str(exc)) from None
        if payload.get("typ") != kind:
            raise TokenInvalid("wrong token kind")
        return TokenClaims(
            subject=str(payload["sub"]),
            kind=kind,
            jti=str(payload["jti"]),
            expires_at=int(payload["exp"]),
            game_id=payload.get("gid"),
            pin=payload.get("pin"),
            generation=_generation(payload.get("gen")),
            issued_at=_issued_at(payload.get("iat")),
        )


def _generation(value: Any) -> int:
    """The `gen` claim; tokens from before generations existed count as generation 0."""
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool):
        raise TokenInvalid("bad session generation")
    return value


def _issued_at(value: Any) -> int:
    """The `iat` claim; a token without a readable one counts as issued long ago."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
