"""Password hashing with Argon2id (argon2-cffi's recommended parameters).

Each hash costs 64 MiB and ~0.2 s of one core, so unbounded hashing is a lever
for anyone who can send requests: a flood of registrations used to fill the
shared thread pool, and a login queued behind all of it (12.9 s in the audit).
Hashing therefore runs in two bounded lanes, each an asyncio semaphore in front
of its own small thread pool: new hashes (registrations) and verifications
(logins). A flood in one lane waits in its own queue, in the event loop where
a cancelled request simply leaves it, and never delays the other lane; memory
stays bounded at (hash + verify concurrency) × 64 MiB. New hashes default to one at a
time: on a small machine two of them already take both cores (the audit's re-run saw a
login take 2-5 s beside a flood with two), and registrations are rare, logins are not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# A real hash of a random password: verifying against it when the user does not
# exist keeps login timing the same for known and unknown accounts.
_DUMMY_HASH = _hasher.hash("classquiz-timing-equaliser")

T = TypeVar("T")


def _check(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class _Lane:
    """At most `concurrency` Argon2 computations at once, in threads of their own."""

    def __init__(self, name: str, concurrency: int) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=name)

    async def run(self, work: Callable[[], T]) -> T:
        async with self._slots:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work)


class Passwords:
    """Argon2id off the event loop, bounded (see the module docstring for why)."""

    def __init__(self, hash_concurrency: int, verify_concurrency: int) -> None:
        self._hashing = _Lane("argon2-hash", hash_concurrency)
        self._verifying = _Lane("argon2-verify", verify_concurrency)

    async def hash(self, password: str) -> str:
        return await self._hashing.run(lambda: _hasher.hash(password))

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when `password` matches; a missing hash takes as long and is False."""
        return await self._verifying.run(lambda: _check(stored_hash, password))
