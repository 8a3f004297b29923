"""A captcha on joins: hCaptcha, reCAPTCHA v3 or Cloudflare Turnstile.

A new player's handshake carries the token the provider's widget gave the page
(`auth.captcha`); the server asks the provider's verify endpoint whether it is
good before the player is admitted (services/admission.py calls `check`). Only
new players by PIN are asked: a host has an account and a returning player a
token we signed, and the point of a captcha is to keep scripted joins out.

The three providers document the same exchange (a form-encoded POST of
`secret`, `response` and `remoteip`; a JSON answer with `success` and
`error-codes`), so one client serves them; what differs is judged by the pure
`judge` (reCAPTCHA v3 adds a score and an action). The verifier fails closed:
when the provider cannot answer, nobody gets in unchecked, and the log says why.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from classquiz.errors import Refusal

log = logging.getLogger(__name__)

CaptchaProvider = Literal["hcaptcha", "recaptcha", "turnstile"]

VERIFY_URLS: dict[CaptchaProvider, str] = {
    "hcaptcha": "https://api.hcaptcha.com/siteverify",
    "recaptcha": "https://www.google.com/recaptcha/api/siteverify",
    "turnstile": "https://challenges.cloudflare.com/turnstile/v0/siteverify",
}
"""Each provider's documented verify endpoint (CAPTCHA_VERIFY_URL overrides it)."""

CSP_SOURCES: dict[CaptchaProvider, dict[str, str]] = {
    "hcaptcha": {
        "script-src": "https://hcaptcha.com https://*.hcaptcha.com",
        "frame-src": "https://hcaptcha.com https://*.hcaptcha.com",
        "style-src": "https://hcaptcha.com https://*.hcaptcha.com",
        "connect-src": "https://hcaptcha.com https://*.hcaptcha.com",
    },
    "recaptcha": {
        "script-src": "https://www.google.com/recaptcha/ https://www.gstatic.com/recaptcha/",
        "frame-src": "https://www.google.com/recaptcha/ https://recaptcha.google.com/recaptcha/",
    },
    "turnstile": {
        "script-src": "https://challenges.cloudflare.com",
        "frame-src": "https://challenges.cloudflare.com",
    },
}
"""What each provider's widget needs the page's Content-Security-Policy to allow (the
sources each one documents), added to the policy only when that provider is on."""


def csp_sources(provider: CaptchaProvider | None) -> dict[str, str]:
    """The policy's extra sources for `provider` (none when the captcha is off)."""
    return dict(CSP_SOURCES[provider]) if provider is not None else {}


RECAPTCHA_ACTION = "join"
"""The action the web app names when it asks reCAPTCHA v3 for a token: a token made
for another action (another page of another site with the same key) is refused."""

TOKEN_MAX = 4096  # the providers' tokens are ~2 KiB at most; anything longer is junk

CONFIGURATION_ERRORS = frozenset(
    {
        "missing-input-secret",
        "invalid-input-secret",
        "sitekey-secret-mismatch",
        "invalid-keys",
        "bad-request",
        "internal-error",
    }
)
"""Error codes that blame the server's configuration (or the provider), not the player:
refusing the player as `captcha_failed` would hide a broken setup behind angry users."""


@dataclass(frozen=True)
class Verdict:
    """The provider's answer judged: `passed`, `failed` (the player's token), or
    `unavailable` (our secret or the provider is at fault), with a reason for the log."""

    outcome: Literal["passed", "failed", "unavailable"]
    reason: str


def judge(provider: CaptchaProvider, body: Any, min_score: float) -> Verdict:
    """What a verify endpoint's JSON answer means for the join (a pure rule)."""
    if not isinstance(body, dict) or not isinstance(body.get("success"), bool):
        return Verdict("unavailable", "the verify answer has no boolean `success`")
    codes = body.get("error-codes") or []
    codes = [str(code) for code in codes] if isinstance(codes, list) else [str(codes)]
    if not body["success"]:
        if CONFIGURATION_ERRORS.intersection(codes):
            return Verdict("unavailable", f"the provider refused our request: {codes}")
        return Verdict("failed", f"the provider refused the token: {codes or 'no reason'}")
    if provider == "recaptcha":
        score = body.get("score")
        if not isinstance(score, int | float) or isinstance(score, bool):
            return Verdict("failed", "reCAPTCHA gave no score (not a v3 key?)")
        if score < min_score:
            return Verdict("failed", f"reCAPTCHA score {score} is below {min_score}")
        action = body.get("action")
        if action is not None and action != RECAPTCHA_ACTION:
            return Verdict("failed", f"the token was made for action {action!r}")
    return Verdict("passed", "the provider accepted the token")


@dataclass(frozen=True)
class CaptchaChallenge:
    """What a page needs to show the widget: both are public (the site key is in the page)."""

    provider: CaptchaProvider
    site_key: str


class CaptchaVerifier:
    """Asks the configured provider about a join's token; one HTTP client, kept open."""

    def __init__(
        self,
        provider: CaptchaProvider,
        secret: str,
        site_key: str,
        *,
        verify_url: str | None = None,
        min_score: float = 0.5,
        timeout_s: float = 5.0,
        every_game: bool = False,
    ) -> None:
        self.challenge = CaptchaChallenge(provider, site_key)
        self.provider = provider
        self._secret = secret
        self.verify_url = verify_url or VERIFY_URLS[provider]
        self.min_score = min_score
        self.every_game = every_game
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)

    def required_for(self, game_settings: dict[str, Any]) -> bool:
        """Whether a new player of a game with these settings must pass the captcha."""
        return self.every_game or bool(game_settings.get("captcha"))

    async def check(self, token: Any, address: str) -> None:
        """Return when `token` passes; otherwise a Refusal (`captcha_required`,
        `captcha_failed`, or `captcha_unavailable` when the provider cannot say)."""
        if token is None or token == "":
            raise Refusal("captcha_required")
        if not isinstance(token, str) or len(token) > TOKEN_MAX:
            raise Refusal("captcha_failed")
        form = {"secret": self._secret, "response": token}
        if _is_ip(address):
            form["remoteip"] = address
        if self.provider == "hcaptcha":
            form["sitekey"] = self.challenge.site_key  # hCaptcha checks the pair when sent
        try:
            response = await self._client.post(self.verify_url, data=form)
        except httpx.HTTPError as exc:
            log.error("captcha: %s verify call failed: %s", self.provider, type(exc).__name__)
            raise Refusal("captcha_unavailable") from None
        if response.status_code != 200:
            log.error("captcha: %s verify answered HTTP %s", self.provider, response.status_code)
            raise Refusal("captcha_unavailable")
        try:
            body = response.json()
        except ValueError:
            body = None
        verdict = judge(self.provider, body, self.min_score)
        if verdict.outcome == "unavailable":
            log.error("captcha: %s: %s", self.provider, verdict.reason)
            raise Refusal("captcha_unavailable")
        if verdict.outcome == "failed":
            log.info("captcha: join refused: %s", verdict.reason)
            raise Refusal("captcha_failed")

    async def close(self) -> None:
        await self._client.aclose()


def _is_ip(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True
