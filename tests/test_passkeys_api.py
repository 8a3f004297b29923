"""Passkeys' REST side without a browser: what the options say, and every refusal that
must change nothing (the ceremony of someone else, a used or unknown challenge, an answer
that is no credential, another account's passkey). The ceremonies with a real
authenticator are in tests/web/test_passkeys.py (Chromium's virtual authenticator)."""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio as aioredis
from webauthn.helpers import bytes_to_base64url

from classquiz.db.models import Passkey
from tests.support.users import ApiUser, user_id

BOGUS_CREDENTIAL = {
    "id": "AAAA",
    "rawId": "AAAA",
    "type": "public-key",
    "response": {"clientDataJSON": "e30", "attestationObject": "oA"},
    "clientExtensionResults": {},
}


async def test_registration_options_ask_for_a_discoverable_verified_passkey(
    user: ApiUser, redis_client: aioredis.Redis
) -> None:
    status, started = await user.request("POST", "/api/v1/users/passkeys/options")
    assert status == 200, started
    options = started["options"]
    assert options["rp"] == {"id": "localhost", "name": "ClassQuiz"}  # PUBLIC_URL's host
    assert options["user"]["id"] == bytes_to_base64url((await user_id(user)).bytes)
    assert options["user"]["name"] == user.username
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert len(options["challenge"]) >= 43  # 32 random bytes or more
    keys = [k async for k in redis_client.scan_iter(match=f"*ceremony:{started['ceremony_id']}")]
    assert len(keys) == 1
    assert 0 < await redis_client.ttl(keys[0]) <= 300


async def test_existing_passkeys_are_excluded_and_listed_for_their_owner_only(
    user: ApiUser, other_user: ApiUser
) -> None:
    mine = await Passkey.objects.create(
        user=await user_id(user),
        credential_id=bytes_to_base64url(uuid.uuid4().bytes),
        public_key="pQ",
        name="Laptop",
        transports=["internal"],
    )
    _, started = await user.request("POST", "/api/v1/users/passkeys/options")
    excluded = started["options"]["excludeCredentials"]
    assert excluded == [
        {"id": mine.credential_id, "type": "public-key", "transports": ["internal"]}
    ]
    status, listed = await user.request("GET", "/api/v1/users/passkeys")
    assert status == 200 and [p["name"] for p in listed] == ["Laptop"]
    _, theirs = await other_user.request("GET", "/api/v1/users/passkeys")
    assert theirs == []

    # Another account cannot remove it (and learns nothing: the same 404 as no passkey).
    status, body = await other_user.request("DELETE", f"/api/v1/users/passkeys/{mine.id}")
    assert status == 404 and body["error"]["code"] == "passkey_not_found"
    assert await Passkey.objects.filter(id=mine.id).exists()
    status, _ = await other_user.request("DELETE", "/api/v1/users/passkeys/not-a-uuid")
    assert status == 404
    status, _ = await user.request("DELETE", f"/api/v1/users/passkeys/{mine.id}")
    assert status == 204
    assert not await Passkey.objects.filter(id=mine.id).exists()


async def test_a_ceremony_is_its_accounts_and_good_for_one_answer(
    user: ApiUser, other_user: ApiUser
) -> None:
    _, started = await user.request("POST", "/api/v1/users/passkeys/options")
    body = {"ceremony_id": started["ceremony_id"], "name": "X", "credential": BOGUS_CREDENTIAL}
    status, refused = await other_user.request("POST", "/api/v1/users/passkeys", json=body)
    assert status == 400 and refused["error"]["code"] == "challenge_expired"
    # The other account's attempt used it up: the owner must start again too.
    status, refused = await user.request("POST", "/api/v1/users/passkeys", json=body)
    assert status == 400 and refused["error"]["code"] == "challenge_expired"

    _, started = await user.request("POST", "/api/v1/users/passkeys/options")
    body["ceremony_id"] = started["ceremony_id"]
    status, refused = await user.request("POST", "/api/v1/users/passkeys", json=body)
    assert status == 400 and refused["error"]["code"] == "passkey_invalid"
    assert await Passkey.objects.filter(user__id=await user_id(user)).count() == 0


async def test_a_sign_in_challenge_is_not_a_registration_one_nor_the_reverse(
    user: ApiUser,
) -> None:
    async with user.http.post("/api/v1/auth/passkeys/options") as resp:
        assert resp.status == 200
        sign_in = (await resp.json())["ceremony_id"]
    body = {"ceremony_id": sign_in, "name": "X", "credential": BOGUS_CREDENTIAL}
    status, refused = await user.request("POST", "/api/v1/users/passkeys", json=body)
    assert status == 400 and refused["error"]["code"] == "challenge_expired"

    _, started = await user.request("POST", "/api/v1/users/passkeys/options")
    answer = {"ceremony_id": started["ceremony_id"], "credential": BOGUS_CREDENTIAL}
    async with user.http.post("/api/v1/auth/passkeys/sign-in", json=answer) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "challenge_expired"
        assert "access_token" not in resp.cookies


async def test_signing_in_needs_a_known_passkey(user: ApiUser) -> None:
    async with user.http.post("/api/v1/auth/passkeys/options") as resp:
        started = await resp.json()
    assert started["options"]["allowCredentials"] == []  # discoverable: no username first
    assert started["options"]["userVerification"] == "required"
    unknown = {
        "id": "AAAA",
        "rawId": "AAAA",
        "type": "public-key",
        "response": {"clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA"},
        "clientExtensionResults": {},
    }
    answer = {"ceremony_id": started["ceremony_id"], "credential": unknown}
    async with user.http.post("/api/v1/auth/passkeys/sign-in", json=answer) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "invalid_credentials"
        assert "access_token" not in resp.cookies
    async with user.http.post("/api/v1/users/passkeys/options") as resp:
        assert resp.status == 401  # registering needs an account


async def test_an_expired_challenge_is_refused(user: ApiUser, redis_client: aioredis.Redis) -> None:
    """The challenge lives as long as its Redis key; its time to live is made to run out
    here rather than waited for (PASSKEY_CHALLENGE_TTL_S is at least 30 s)."""
    _, started = await user.request("POST", "/api/v1/users/passkeys/options")
    [key] = [k async for k in redis_client.scan_iter(match=f"*ceremony:{started['ceremony_id']}")]
    assert await redis_client.pexpire(key, 1)
    await asyncio.sleep(0.05)
    assert not await redis_client.exists(key)
    body = {"ceremony_id": started["ceremony_id"], "name": "X", "credential": BOGUS_CREDENTIAL}
    status, refused = await user.request("POST", "/api/v1/users/passkeys", json=body)
    assert status == 400 and refused["error"]["code"] == "challenge_expired"
