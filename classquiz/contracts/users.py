"""REST contracts of accounts: registration, login, API keys, the second factor."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from classquiz.contracts.common import Contract, Trimmed

Username = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.-]{3,32}$")
]


class RegisterIn(Contract):
    email: EmailStr
    username: Username
    password: Annotated[str, StringConstraints(min_length=8, max_length=256)]


# A TOTP code (six digits) or a backup code (`k3x7q-m2rtd`, any case, dash optional).
OneTimeCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^(\d{6}|[A-Za-z2-7]{5}-?[A-Za-z2-7]{5})$"),
]


class LoginIn(Contract):
    login: Annotated[Trimmed, StringConstraints(min_length=1, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    totp: OneTimeCode | None = None


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    username: str
    has_password: bool = Field(
        description="false for an account made by another provider's sign-in (OpenID, "
        "GitHub) that never set a password"
    )
    totp_enabled: bool
    email_verified: bool = Field(
        default=False, description="a verification link mailed to this address was followed"
    )
    created_at: datetime


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class ApiKeyIn(Contract):
    name: Annotated[Trimmed, StringConstraints(min_length=1, max_length=100)] = "default"
    scope: Literal["read", "full"] = Field(
        default="full",
        description="`read`: GET requests only; `full`: everything but managing credentials",
    )
    expires_in_days: int | None = Field(
        default=90, ge=1, le=3650, description="days until the key stops working; null: never"
    )


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    scope: Literal["read", "full"]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="the secret; shown only in this response")


class TotpSetupOut(BaseModel):
    secret: str
    otpauth_uri: str


class TotpCodeIn(Contract):
    code: OneTimeCode


class BackupCodesOut(BaseModel):
    backup_codes: list[str] = Field(
        description="ten one-time codes, each usable once instead of a TOTP code; shown only here"
    )


class TotpEnabledOut(BackupCodesOut):
    ok: Literal[True] = True
