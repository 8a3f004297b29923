"""REST contracts of the other ways to sign in: providers (OAuth2 / OpenID Connect) and
passkeys (WebAuthn).

The WebAuthn options and the browser's credential travel as the JSON forms the
WebAuthn Level 3 spec defines (`PublicKeyCredentialCreationOptionsJSON`,
`RegistrationResponseJSON`, …): base64url for every byte string. They are kept
as JSON objects here and checked by py_webauthn, which knows every field.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from classquiz.contracts.common import Contract, Trimmed


class SignInProviderOut(BaseModel):
    id: str = Field(description="google, github or oidc")
    name: str = Field(description="what the button says after 'Sign in with'")
    start_url: str = Field(description="open this URL in the browser to sign in")


class SignInMethodsOut(BaseModel):
    providers: list[SignInProviderOut]


class OAuthStartQuery(BaseModel):
    next: str | None = Field(default=None, max_length=512)


class OAuthCallbackQuery(BaseModel):
    state: str | None = Field(default=None, max_length=512)
    code: str | None = Field(default=None, max_length=4096)
    error: str | None = Field(default=None, max_length=200)


class PasskeyOptionsOut(BaseModel):
    ceremony_id: str = Field(description="send it back with the browser's answer")
    options: dict[str, Any] = Field(
        description="the WebAuthn options, in their JSON form (base64url byte strings)"
    )


PasskeyName = Annotated[Trimmed, StringConstraints(min_length=1, max_length=64)]


class PasskeyRegisterIn(Contract):
    ceremony_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    name: PasskeyName = "Passkey"
    credential: dict[str, Any] = Field(description="the RegistrationResponseJSON")


class PasskeySignInIn(Contract):
    ceremony_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    credential: dict[str, Any] = Field(description="the AuthenticationResponseJSON")


class PasskeyOut(BaseModel):
    id: uuid.UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None
