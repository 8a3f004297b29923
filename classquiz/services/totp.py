"""The TOTP second factor: setup, one use per code, attempt limits, backup codes.

Why each rule exists:
- One use per code. A code stays valid for up to 90 s (the current step and one
  either side, for clock drift), so someone who sees a code typed (over a
  shoulder, in a proxy log) could use it again. The last accepted time step of
  each account is kept in Redis and a code is accepted only for a later step,
  checked and recorded in one script so two concurrent logins cannot share it.
- An attempt limit on every check. Six digits are a million guesses; at a few
  hundred tries a second the window falls in minutes. Wrong codes count per
  account (the password is already known, so addresses do not matter), with the
  reservation limiter of ratelimit.py so a burst is judged `limit` times.
- The secret encrypted at rest. A database dump alone must not be enough to
  mint codes: secrets are sealed with Fernet under a key derived from
  SECRET_KEY with HKDF (a separate key per purpose, never SECRET_KEY itself).
- Backup codes. Ten random one-time codes, shown once when TOTP is turned on
  (or regenerated), so a lost phone does not lock the teacher out. Only an
  HMAC of each code is stored (keyed from SECRET_KEY, so a dump cannot be
  brute-forced offline); a code is spent by one conditional UPDATE, so it works
  exactly once even under concurrent use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
import uuid
from contextlib import AbstractAsyncContextManager

import pyotp
import sqlalchemy
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from redis.asyncio import Redis

from classquiz.contracts.users import TotpSetupOut
from classquiz.db.engine import database
from classquiz.db.models import TotpBackupCode, User, utcnow
from classquiz.errors import Refusal
from classquiz.game.scripts import plain_script
from classquiz.services.ratelimit import FailureLimiter

SEALED_PREFIX = "fernet:"
STEP_S = 30
DRIFT_STEPS = 1  # accept the previous and the next step as well (clock drift)
BACKUP_CODE_COUNT = 10
BACKUP_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # base32: no 0/1/8/9 to confuse with o/l
SETUP_TTL_S = 600
# A used step only matters while its code is still accepted (3 steps); keep it longer.
USED_STEP_TTL_S = 5 * STEP_S
TOTP_CODE = re.compile(r"^\d{6}$")


def derive_key(secret_key: str, purpose: str) -> bytes:
    """32 bytes for one purpose, from SECRET_KEY (HKDF-SHA256; one key per purpose)."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"classquiz {purpose}".encode()
    )
    return hkdf.derive(secret_key.encode())


class SecretBox:
    """Seals TOTP secrets for the database (Fernet: AES-128-CBC + HMAC-SHA256)."""

    def __init__(self, secret_key: str) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(derive_key(secret_key, "totp-secret v1")))

    @staticmethod
    def is_sealed(stored: str) -> bool:
        return stored.startswith(SEALED_PREFIX)

    def seal(self, secret: str) -> str:
        return SEALED_PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        """The secret; a value from before migration 0005 is still plaintext.

        Raises InvalidToken when it was sealed under another SECRET_KEY.
        """
        if not self.is_sealed(stored):
            return stored
        return self._fernet.decrypt(stored[len(SEALED_PREFIX) :].encode()).decode()


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step whose code is `code` (within the drift), or None."""
    totp = pyotp.TOTP(secret, interval=STEP_S)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(code.encode(), totp.generate_otp(step).encode()):
            return step
    return None


def new_backup_codes() -> list[str]:
    """Ten random codes like `k3x7q-m2rtd` (50 bits each)."""
    return [
        "-".join("".join(secrets.choice(BACKUP_ALPHABET) for _ in range(5)) for _ in range(2))
        for _ in range(BACKUP_CODE_COUNT)
    ]


def normalise_backup_code(code: str) -> str:
    """What the user typed, as stored: lower case, without separators or spaces."""
    return "".join(ch for ch in code.lower() if ch not in "- ")


class TotpService:
    def __init__(self, redis: Redis, prefix: str, secret_key: str, limiter: FailureLimiter) -> None:
        self._redis = redis
        self._prefix = prefix
        self._box = SecretBox(secret_key)
        self._backup_key = derive_key(secret_key, "totp-backup-codes v1")
        self._limiter = limiter
        self._use_step = plain_script(redis, "totp_use_step")

    # -- keys and hashes ---------------------------------------------------------------------

    def _setup_key(self, user: User) -> str:
        return f"{self._prefix}:totp-setup:{user.id}"

    def _step_key(self, user: User) -> str:
        return f"{self._prefix}:totp-step:{user.id}"

    def backup_code_hash(self, user_id: uuid.UUID, code: str) -> str:
        message = f"{user_id}:{normalise_backup_code(code)}".encode()
        return hmac.new(self._backup_key, message, hashlib.sha256).hexdigest()

    # -- setup -------------------------------------------------------------------------------

    async def start(self, user: User) -> TotpSetupOut:
        """Draw a secret, kept (sealed) in Redis until `enable` confirms it."""
        if user.totp_secret:
            raise Refusal("totp_enabled", "the second factor is already on")
        secret = pyotp.random_base32()
        await self._redis.set(self._setup_key(user), self._box.seal(secret), ex=SETUP_TTL_S)
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="ClassQuiz")
        return TotpSetupOut(secret=secret, otpauth_uri=uri)

    async def enable(self, user: User, code: str) -> list[str]:
        """Turn TOTP on with a code of the pending secret; the new backup codes (shown once)."""
        if user.totp_secret:
            raise Refusal("totp_enabled", "the second factor is already on")
        pending = await self._redis.get(self._setup_key(user))
        if pending is None:
            raise Refusal("totp_not_started", "start the setup first")
        sealed = pending.decode() if isinstance(pending, bytes) else str(pending)
        async with self._attempt(user, "invalid_code"):
            step = matching_step(self._open(sealed), code, time.time())
            if step is None:
                raise Refusal("invalid_code", "wrong one-time code")
        # The new secret's history starts with this code: it cannot be used again.
        await self._redis.set(self._step_key(user), step, ex=USED_STEP_TTL_S)
        codes = new_backup_codes()
        async with database.transaction():
            await User.objects.filter(id=user.id).update(totp_secret=sealed)
            await self._replace_backup_codes(user, codes)
        await self._redis.delete(self._setup_key(user))
        return codes

    async def disable(self, user: User, code: str) -> None:
        if not user.totp_secret:
            raise Refusal("totp_disabled", "the second factor is off")
        await self.check(user, code, Refusal("invalid_code", "wrong one-time code"))
        async with database.transaction():
            await User.objects.filter(id=user.id).update(totp_secret=None)
            await self._delete_backup_codes(user)
        await self._redis.delete(self._step_key(user))

    async def regenerate_backup_codes(self, user: User, code: str) -> list[str]:
        """Ten new backup codes replacing all old ones (used or not), after a code check."""
        if not user.totp_secret:
            raise Refusal("totp_disabled", "the second factor is off")
        await self.check(user, code, Refusal("invalid_code", "wrong one-time code"))
        codes = new_backup_codes()
        async with database.transaction():
            await self._replace_backup_codes(user, codes)
        return codes

    # -- checking a code ---------------------------------------------------------------------

    async def check(self, user: User, code: str, wrong: Refusal) -> None:
        """Accept a TOTP code (once per time step) or an unused backup code, else raise
        `wrong`; wrong codes count against the account's limit (429 when reached)."""
        assert user.totp_secret is not None
        async with self._attempt(user, wrong.code):
            if TOTP_CODE.match(code):
                step = matching_step(self._open(user.totp_secret), code, time.time())
                accepted = step is not None and bool(
                    await self._use_step(keys=[self._step_key(user)], args=[step, USED_STEP_TTL_S])
                )
            else:
                accepted = await self._spend_backup_code(user, code)
            if not accepted:
                raise wrong

    def _attempt(self, user: User, counted_code: str) -> AbstractAsyncContextManager[None]:
        return self._limiter.guard(
            str(user.id), {counted_code}, "too many wrong one-time codes; wait a few minutes"
        )

    def _open(self, sealed: str) -> str:
        try:
            return self._box.open(sealed)
        except InvalidToken:
            # Sealed under another SECRET_KEY: no code can match. Refuse like a wrong
            # code rather than fail; the operator must restore the key (docs/operations.md).
            return ""

    # -- backup codes in the database -----------------------------------------------------------

    async def _spend_backup_code(self, user: User, code: str) -> bool:
        table = TotpBackupCode.ormar_config.table
        spend = (
            table.update()
            .where(
                table.c.user_id == user.id,
                table.c.code_hash == self.backup_code_hash(user.id, code),
                table.c.used_at.is_(None),
            )
            .values(used_at=utcnow())
            .returning(table.c.id)
        )
        async with database.transaction():
            conn = database.get_transaction_connection()
            assert conn is not None
            return (await conn.execute(spend)).first() is not None

    async def _delete_backup_codes(self, user: User) -> None:
        table = TotpBackupCode.ormar_config.table
        conn = database.get_transaction_connection()
        assert conn is not None, "called inside a transaction"
        await conn.execute(table.delete().where(table.c.user_id == user.id))

    async def _replace_backup_codes(self, user: User, codes: list[str]) -> None:
        await self._delete_backup_codes(user)
        table = TotpBackupCode.ormar_config.table
        conn = database.get_transaction_connection()
        assert conn is not None
        rows = [
            {
                "id": uuid.uuid4(),
                "user_id": user.id,
                "code_hash": self.backup_code_hash(user.id, code),
                "created_at": utcnow(),
            }
            for code in codes
        ]
        await conn.execute(sqlalchemy.insert(table), rows)
