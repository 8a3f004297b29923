"""Password hashing with Argon2id (argon2-cffi's recommended parameters)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# A real hash of a random password: verifying against it when the user does not
# exist keeps login timing the same for known and unknown accounts.
_DUMMY_HASH = _hasher.hash("classquiz-timing-equaliser")


async def hash_password(password: str) -> str:
    """Hash off the event loop: Argon2 is deliberately slow."""
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)
