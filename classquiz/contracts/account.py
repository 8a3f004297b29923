"""REST contracts of account recovery and upkeep: password reset and change, e-mail
verification, ending every session, deleting the account."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from classquiz.contracts.common import Contract
from classquiz.contracts.users import OneTimeCode

NewPassword = Annotated[str, StringConstraints(min_length=8, max_length=256)]
# A mailed token: 43 URL-safe characters; bounded so junk is refused before any look-up.
MailToken = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_-]{20,100}$")
]


class MailStatusOut(BaseModel):
    enabled: bool = Field(description="whether this server sends mail (SMTP is configured)")


class PasswordResetIn(Contract):
    email: EmailStr


class PasswordResetConfirmIn(Contract):
    token: MailToken
    password: NewPassword
    totp: OneTimeCode | None = Field(
        default=None, description="a TOTP or backup code, when the account has a second factor"
    )


class EmailTokenIn(Contract):
    token: MailToken


class PasswordChangeIn(Contract):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    new_password: NewPassword
    totp: OneTimeCode | None = Field(
        default=None, description="a TOTP or backup code, when the account has a second factor"
    )


class AccountDeleteIn(Contract):
    confirm_username: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] = (
        Field(description="the account's username, typed again: deleting cannot be undone")
    )
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = Field(
        default=None,
        description="the account's password; required unless the account has none "
        "(then the session must be a recent sign-in)",
    )
    totp: OneTimeCode | None = Field(
        default=None, description="a TOTP or backup code, when the account has a second factor"
    )
