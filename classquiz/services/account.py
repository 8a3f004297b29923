"""AccountService: password reset and e-mail verification by mail, password change,
"sign out everywhere", and the owner's proof before the account is deleted.

Ending sessions: every access token carries the account's session generation
(services/tokens.py); raising `users.session_generation` by one, in the
database, makes every token issued before fail on its next request, in every
server process at once, with nothing to remember per token. A password change
and a password reset raise it too. API keys are not sessions: they stay until
they expire or are revoked on the account page.

Asking for a reset link answers the same whether or not the address has an
account, and in the same time: the request only checks the limits and hands
the look-up and the SMTP conversation to a background task.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

from classquiz.contracts.account import (
    AccountDeleteIn,
    PasswordChangeIn,
    PasswordResetConfirmIn,
)
from classquiz.db.engine import write
from classquiz.db.models import User, utcnow
from classquiz.errors import ErrorCode, Refusal, error_detail
from classquiz.services.account_tokens import (
    PASSWORD_RESET,
    VERIFY_EMAIL,
    AccountTokens,
    invalid_link,
)
from classquiz.services.mail import Mailer, link, password_reset_mail, verification_mail
from classquiz.services.passwords import Passwords
from classquiz.services.ratelimit import FailureLimiter
from classquiz.services.tasks import KeptTasks
from classquiz.services.users import Session, UserService, has_password

log = logging.getLogger(__name__)

_USERS = User.ormar_config.table

# An account without a password proves its owner by a sign-in this recent.
RECENT_SIGN_IN_S = 600

RESET_PAGE = "/reset-password"
VERIFY_PAGE = "/verify-email"


def _field_refusal(
    code: ErrorCode, field: str, message: str, field_code: str | None = None
) -> Refusal:
    """A refusal naming the body field at fault, so a form shows it beside that field;
    the field's own code is the refusal's unless `field_code` says more."""
    return Refusal(code, message, [error_detail([field], field_code or code, message)])


def signed_in_recently(issued_at: int | None, now: float, window_s: int = RECENT_SIGN_IN_S) -> bool:
    """Whether a session's token was issued (its sign-in happened) within `window_s`."""
    return issued_at is not None and 0 <= now - issued_at <= window_s


def mail_unavailable() -> Refusal:
    return Refusal("mail_unavailable", "this server does not send mail (SMTP is not configured)")


class AccountService:
    def __init__(
        self,
        users: UserService,
        passwords: Passwords,
        mailer: Mailer,
        tokens: AccountTokens,
        tasks: KeptTasks,
        mail_limiter: FailureLimiter,
        password_limiter: FailureLimiter,
        public_url: str,
        reset_expiry_s: int,
        verify_expiry_s: int,
    ) -> None:
        self._users = users
        self._passwords = passwords
        self.mailer = mailer
        self._tokens = tokens
        self._tasks = tasks
        self._mail_limiter = mail_limiter
        self._password_limiter = password_limiter
        self._public_url = public_url
        self._reset_expiry_s = reset_expiry_s
        self._verify_expiry_s = verify_expiry_s

    # -- password reset ------------------------------------------------------------------

    async def request_password_reset(self, email: str, address: str) -> None:
        """Mail a reset link if `email` has an account; the caller cannot tell which."""
        if not self.mailer.enabled:
            raise mail_unavailable()
        email = email.strip().lower()
        async with self._mail_guard(address, "to:" + email):
            self._tasks.spawn(self._mail_reset_link(email))

    async def _mail_reset_link(self, email: str) -> None:
        user = await User.objects.get_or_none(email=email)
        if user is None:
            return
        token = await self._tokens.issue(user, PASSWORD_RESET, self._reset_expiry_s)
        url = link(self._public_url, RESET_PAGE, token)
        await self.mailer.send(
            password_reset_mail(user.email, user.username, url, self._reset_expiry_s)
        )

    async def reset_password(self, body: PasswordResetConfirmIn, address: str) -> None:
        """Set a new password with a mailed token (and the second factor, when on).

        The token is checked, then the one-time code, then the new hash is made,
        and only then is the token used up: a missing code or a slow hash does
        not waste the link, and two uses of one link cannot both win.
        """
        async with self._password_limiter.guard(
            address, {"invalid_code"}, "too many invalid reset links; try again later"
        ):
            grant = await self._tokens.peek(body.token, PASSWORD_RESET)
            user = await User.objects.get_or_none(id=grant.user_id)
            if user is None or user.email != grant.email:
                raise invalid_link()
            await self._second_factor(user, body.totp)
            password_hash = await self._passwords.hash(body.password)
            grant = await self._tokens.consume(body.token, PASSWORD_RESET)
        # Following the link proved the mailbox is the owner's.
        await self._update_password(grant.user_id, password_hash, verified_email=grant.email)
        await self._tokens.retire_all(grant.user_id, PASSWORD_RESET)

    # -- e-mail verification -------------------------------------------------------------

    async def send_verification(self, user: User, address: str) -> None:
        """Mail a verification link to the account's address (once verified, nothing)."""
        if not self.mailer.enabled:
            raise mail_unavailable()
        if user.email_verified_at is not None:
            return
        async with self._mail_guard(address, f"user:{user.id}"):
            self._tasks.spawn(self._mail_verification_link(user))

    def verify_after_registration(self, user: User) -> None:
        """A new account's first verification mail, when mail is on (in the background)."""
        if self.mailer.enabled:
            self._tasks.spawn(self._mail_verification_link(user))

    async def _mail_verification_link(self, user: User) -> None:
        token = await self._tokens.issue(user, VERIFY_EMAIL, self._verify_expiry_s)
        url = link(self._public_url, VERIFY_PAGE, token)
        await self.mailer.send(
            verification_mail(user.email, user.username, url, self._verify_expiry_s)
        )

    async def verify_email(self, token: str) -> None:
        grant = await self._tokens.consume(token, VERIFY_EMAIL)
        user = await User.objects.get_or_none(id=grant.user_id)
        if user is None or user.email != grant.email:
            raise invalid_link()  # the address changed since the mail went out
        await write(
            _USERS.update()
            .where(_USERS.c.id == user.id, _USERS.c.email == grant.email)
            .values(email_verified_at=utcnow())
        )
        await self._tokens.retire_all(user.id, VERIFY_EMAIL)

    # -- password change, sessions -------------------------------------------------------

    async def change_password(self, user: User, body: PasswordChangeIn) -> str:
        """Replace the password (the current one, and the second factor when on, are
        required); every other session ends. A fresh access token for the caller."""
        async with self._password_limiter.guard(
            f"user:{user.id}",
            {"invalid_credentials"},
            "too many wrong passwords; wait a few minutes",
        ):
            if not await self._passwords.verify(user.password_hash, body.current_password):
                raise _field_refusal(
                    "invalid_credentials", "current_password", "the current password is wrong"
                )
        await self._second_factor(user, body.totp)
        password_hash = await self._passwords.hash(body.new_password)
        await self._update_password(user.id, password_hash)
        # A reset link mailed before the change must not undo it later.
        await self._tokens.retire_all(user.id, PASSWORD_RESET)
        return await self._fresh_token(user.id)

    async def confirm_deletion(self, session: Session, body: AccountDeleteIn, now: float) -> None:
        """Refuse unless the owner, not someone at an unlocked computer, asks to delete the
        account: the username typed again; the password, or for an account that has
        none (made by another provider's sign-in) a sign-in within RECENT_SIGN_IN_S; and
        the second factor when it is on. The name is checked first, so a typo costs no
        password guess; wrong passwords count towards the same limit as a change's."""
        user = session.user
        if body.confirm_username != user.username:
            raise _field_refusal(
                "validation_error",
                "confirm_username",
                "type the account's username",
                field_code="mismatch",
            )
        if has_password(user):
            if body.password is None:
                raise _field_refusal(
                    "validation_error", "password", "enter your password", field_code="missing"
                )
            async with self._password_limiter.guard(
                f"user:{user.id}",
                {"invalid_credentials"},
                "too many wrong passwords; wait a few minutes",
            ):
                if not await self._passwords.verify(user.password_hash, body.password):
                    raise _field_refusal("invalid_credentials", "password", "wrong password")
        elif not signed_in_recently(session.token_issued_at, now):
            raise Refusal(
                "recent_sign_in_required",
                "this account has no password: sign out, sign in again, and delete it "
                f"within {RECENT_SIGN_IN_S // 60} minutes",
            )
        await self._second_factor(user, body.totp)

    async def _second_factor(self, user: User, code: str | None) -> None:
        """When the account has TOTP on, a valid code (or backup code) is required."""
        if not user.totp_secret:
            return
        if not code:
            raise _field_refusal("totp_required", "totp", "this account needs a one-time code")
        wrong = _field_refusal("invalid_credentials", "totp", "wrong one-time code")
        await self._users.totp.check(user, code, wrong)

    async def sign_out_everywhere(self, user: User) -> None:
        """End every access token of `user` (this one too)."""
        await write(
            _USERS.update()
            .where(_USERS.c.id == user.id)
            .values(session_generation=_USERS.c.session_generation + 1)
        )

    async def _update_password(
        self, user_id: uuid.UUID, password_hash: str, verified_email: str | None = None
    ) -> None:
        values: dict[str, object] = {
            "password_hash": password_hash,
            "session_generation": _USERS.c.session_generation + 1,
        }
        statement = _USERS.update().where(_USERS.c.id == user_id)
        await write(statement.values(**values))
        if verified_email is not None:
            await write(
                _USERS.update()
                .where(
                    _USERS.c.id == user_id,
                    _USERS.c.email == verified_email,
                    _USERS.c.email_verified_at.is_(None),
                )
                .values(email_verified_at=utcnow())
            )

    async def _fresh_token(self, user_id: uuid.UUID) -> str:
        user = await User.objects.get(id=user_id)
        return self._users.start_session(user)

    @contextlib.asynccontextmanager
    async def _mail_guard(self, address: str, recipient: str) -> AsyncIterator[None]:
        """Both mail limits, per client address and per recipient (an address or an
        account); every request counts, whether or not a mail goes out."""
        message = "too many mails asked for; try again later"
        async with self._mail_limiter.guard(address, (), message, count_success=True):
            async with self._mail_limiter.guard(recipient, (), message, count_success=True):
                yield
