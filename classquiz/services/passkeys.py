"""Passkeys (WebAuthn) with py_webauthn: register several per account, sign in with one.

A ceremony is two requests: the server hands out options with a fresh random
challenge, the browser's authenticator signs it, the server checks the answer.
Each challenge lives in Redis under a random ceremony id for
PASSKEY_CHALLENGE_TTL_S and is taken with GETDEL, so it is good for exactly one
answer (a replayed or late answer finds nothing) and a registration challenge
names the account it was issued to.

Sign-in is passwordless and usernameless: the options list no credentials
(discoverable credentials, "resident keys"), the authenticator offers the
passkeys it holds for this site, and the credential id it answers with names
the account. User verification (PIN, fingerprint) is required at sign-in, so a
passkey stands for two factors and opens an account with TOTP too. The relying
party id is PUBLIC_URL's host and the origin PUBLIC_URL's, so a passkey works on
the address people actually use.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import asyncpg
import webauthn
from redis.asyncio import Redis
from sqlalchemy.exc import IntegrityError
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    options_to_json_dict,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import InvalidJSONStructure, WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from classquiz.contracts.signin import PasskeyOptionsOut, PasskeyOut
from classquiz.db.models import Passkey, User, utcnow
from classquiz.errors import Refusal

MAX_PASSKEYS_PER_ACCOUNT = 20
Kind = Literal["register", "sign_in"]


def passkey_out(passkey: Passkey) -> PasskeyOut:
    return PasskeyOut(
        id=passkey.id,
        name=passkey.name,
        created_at=passkey.created_at,
        last_used_at=passkey.last_used_at,
    )


def relying_party(public_url: str) -> tuple[str, str]:
    """(rp id, origin) of the site at `public_url`: its host name, and scheme://host[:port]."""
    parts = urlsplit(public_url)
    if not parts.hostname or parts.scheme not in ("http", "https"):
        raise ValueError(f"PUBLIC_URL is not a web address: {public_url!r}")
    return parts.hostname, f"{parts.scheme}://{parts.netloc}"


def _transports(names: list[str]) -> list[AuthenticatorTransport]:
    known = {transport.value: transport for transport in AuthenticatorTransport}
    return [known[name] for name in names if name in known]


@dataclass(frozen=True)
class _Ceremony:
    kind: Kind
    challenge: bytes
    user_id: str | None


class PasskeyService:
    def __init__(
        self, redis: Redis, key_prefix: str, public_url: str, rp_name: str, challenge_ttl_s: int
    ) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self.rp_id, self.origin = relying_party(public_url)
        self._rp_name = rp_name
        self._ttl_s = challenge_ttl_s

    # -- ceremonies ---------------------------------------------------------------

    async def _open(self, kind: Kind, challenge: bytes, user: User | None) -> str:
        ceremony_id = secrets.token_urlsafe(24)
        record = {
            "kind": kind,
            "challenge": bytes_to_base64url(challenge),
            "user_id": str(user.id) if user else None,
        }
        await self._redis.set(self._key(ceremony_id), json.dumps(record), ex=self._ttl_s)
        return ceremony_id

    async def _take(self, ceremony_id: str, kind: Kind) -> _Ceremony:
        """The ceremony's challenge, gone from Redis from now on (one answer per challenge)."""
        raw = await self._redis.getdel(self._key(ceremony_id))
        record = json.loads(raw) if raw is not None else None
        if record is None or record["kind"] != kind:
            raise Refusal(
                "challenge_expired", "this passkey request expired or was used; try again"
            )
        return _Ceremony(kind, base64url_to_bytes(record["challenge"]), record["user_id"])

    def _key(self, ceremony_id: str) -> str:
        return f"{self._prefix}:passkey:ceremony:{ceremony_id}"

    # -- registering (signed in) --------------------------------------------------------

    async def registration_options(self, user: User) -> PasskeyOptionsOut:
        existing = await Passkey.objects.filter(user__id=user.id).all()
        if len(existing) >= MAX_PASSKEYS_PER_ACCOUNT:
            raise Refusal(
                "passkey_invalid", f"an account holds at most {MAX_PASSKEYS_PER_ACCOUNT} passkeys"
            )
        options = webauthn.generate_registration_options(
            rp_id=self.rp_id,
            rp_name=self._rp_name,
            user_name=user.username,
            user_id=user.id.bytes,
            user_display_name=user.username,
            timeout=self._ttl_s * 1000,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            # The browser refuses to make a second passkey on an authenticator that has one.
            exclude_credentials=[
                PublicKeyCredentialDescriptor(
                    id=base64url_to_bytes(key.credential_id),
                    transports=_transports(key.transports),
                )
                for key in existing
            ],
        )
        ceremony_id = await self._open("register", options.challenge, user)
        return PasskeyOptionsOut(ceremony_id=ceremony_id, options=options_to_json_dict(options))

    async def register(
        self, user: User, ceremony_id: str, name: str, credential: dict[str, Any]
    ) -> PasskeyOut:
        ceremony = await self._take(ceremony_id, "register")
        if ceremony.user_id != str(user.id):
            raise Refusal("challenge_expired", "this passkey request belongs to another account")
        try:
            parsed = parse_registration_credential_json(credential)
            verified = webauthn.verify_registration_response(
                credential=parsed,
                expected_challenge=ceremony.challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
                require_user_verification=True,
            )
        except (InvalidJSONStructure, WebAuthnException, ValueError, KeyError) as exc:
            raise Refusal("passkey_invalid", f"the passkey was not accepted: {exc}") from None
        credential_id = bytes_to_base64url(verified.credential_id)
        if await Passkey.objects.filter(credential_id=credential_id).exists():
            raise Refusal("passkey_invalid", "this passkey is already registered")
        transports = [t.value for t in (parsed.response.transports or [])]
        try:
            passkey = await Passkey.objects.create(
                user=user.id,
                credential_id=credential_id,
                public_key=bytes_to_base64url(verified.credential_public_key),
                sign_count=verified.sign_count,
                transports=transports,
                name=name,
            )
        except (IntegrityError, asyncpg.UniqueViolationError):  # the same one, at once
            raise Refusal("passkey_invalid", "this passkey is already registered") from None
        return passkey_out(passkey)

    async def list_for(self, user: User) -> list[PasskeyOut]:
        keys = await Passkey.objects.filter(user__id=user.id).order_by("created_at").all()
        return [passkey_out(key) for key in keys]

    async def remove(self, user: User, passkey_id: uuid.UUID) -> None:
        # The owner is checked first, as for API keys (a relation filter in DELETE is unsafe).
        passkey = await Passkey.objects.get_or_none(id=passkey_id)
        if passkey is None or passkey.user.id != user.id:
            raise Refusal("passkey_not_found", "no such passkey")
        await Passkey.objects.filter(id=passkey.id).delete()

    # -- signing in (anonymous) -------------------------------------------------------

    async def sign_in_options(self) -> PasskeyOptionsOut:
        options = webauthn.generate_authentication_options(
            rp_id=self.rp_id,
            timeout=self._ttl_s * 1000,
            allow_credentials=[],  # discoverable: the authenticator says whose passkey it is
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        ceremony_id = await self._open("sign_in", options.challenge, None)
        return PasskeyOptionsOut(ceremony_id=ceremony_id, options=options_to_json_dict(options))

    async def sign_in(self, ceremony_id: str, credential: dict[str, Any]) -> User:
        """The account whose passkey signed this ceremony's challenge, or a Refusal."""
        ceremony = await self._take(ceremony_id, "sign_in")
        wrong = Refusal("invalid_credentials", "this passkey is not registered here")
        try:
            parsed = parse_authentication_credential_json(credential)
        except (InvalidJSONStructure, WebAuthnException, ValueError, KeyError) as exc:
            raise Refusal("passkey_invalid", f"not a passkey answer: {exc}") from None
        passkey = await Passkey.objects.get_or_none(credential_id=bytes_to_base64url(parsed.raw_id))
        if passkey is None:
            raise wrong
        handle = parsed.response.user_handle
        if handle is not None and handle != passkey.user.id.bytes:
            raise wrong
        try:
            verified = webauthn.verify_authentication_response(
                credential=parsed,
                expected_challenge=ceremony.challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
                credential_public_key=base64url_to_bytes(passkey.public_key),
                credential_current_sign_count=passkey.sign_count,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError) as exc:
            raise Refusal(
                "invalid_credentials", f"the passkey's answer is not valid: {exc}"
            ) from None
        await Passkey.objects.filter(id=passkey.id).update(
            sign_count=verified.new_sign_count, last_used_at=utcnow()
        )
        user = await User.objects.get_or_none(id=passkey.user.id)
        if user is None:
            raise wrong
        return user
