"""A stand-in of the three captcha providers' verify endpoints, on loopback.

It implements what each provider documents for server-side verification:
a POST of `application/x-www-form-urlencoded` fields `secret`, `response` and
optional `remoteip` (hCaptcha also `sitekey`); a JSON answer with `success`,
`challenge_ts`, `hostname` and `error-codes` (reCAPTCHA v3 adds `score` and
`action`); the documented error codes (`missing-input-secret`,
`invalid-input-secret`, `missing-input-response`, `invalid-input-response`,
`bad-request`, and a reused token: `timeout-or-duplicate` at reCAPTCHA and
Turnstile, `already-seen-response` at hCaptcha). A token is good for one
verification, as at the real services.

Tokens are issued by the test (`issue`), as the widget would give them to a page.
`mode` makes the provider fail: `down` answers 503, `slow` answers after
`slow_s` seconds, `rotated` behaves as if our secret had been revoked.
"""

from __future__ import annotations

import asyncio
import datetime
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

PATHS = {
    "hcaptcha": "/siteverify",
    "recaptcha": "/recaptcha/api/siteverify",
    "turnstile": "/turnstile/v0/siteverify",
}
SECRET = "0x-test-secret-of-the-stand-in"
SITE_KEY = "test-site-key-0000"
Mode = Literal["ok", "down", "slow", "rotated"]


@dataclass
class Issued:
    score: float = 0.9
    action: str = "join"
    used: bool = False


@dataclass
class CaptchaStandIn:
    """Every provider's endpoint on one app; what it was asked is kept in `calls`."""

    mode: Mode = "ok"
    slow_s: float = 3.0
    tokens: dict[str, Issued] = field(default_factory=dict)
    calls: list[dict[str, str]] = field(default_factory=list)

    def issue(self, *, score: float = 0.9, action: str = "join") -> str:
        """A token as the widget would hand it to the page (score/action: reCAPTCHA v3)."""
        token = "P1_" + secrets.token_urlsafe(48)
        self.tokens[token] = Issued(score, action)
        return token

    def app(self) -> web.Application:
        app = web.Application()
        for provider, path in PATHS.items():
            app.router.add_post(path, self._handler(provider))
        return app

    def _handler(self, provider: str) -> Any:
        async def verify(request: web.Request) -> web.Response:
            if request.content_type != "application/x-www-form-urlencoded":
                return web.json_response({"success": False, "error-codes": ["bad-request"]})
            form = {key: str(value) for key, value in (await request.post()).items()}
            self.calls.append({"provider": provider, **form})
            if self.mode == "down":
                return web.json_response({"error": "unavailable"}, status=503)
            if self.mode == "slow":
                await asyncio.sleep(self.slow_s)
            return web.json_response(self._answer(provider, form))

        return verify

    def _answer(self, provider: str, form: dict[str, str]) -> dict[str, Any]:
        def refused(*codes: str) -> dict[str, Any]:
            return {"success": False, "error-codes": list(codes)}

        if not form.get("secret"):
            return refused("missing-input-secret")
        if form["secret"] != SECRET or self.mode == "rotated":
            return refused("invalid-input-secret")
        if provider == "hcaptcha" and form.get("sitekey", SITE_KEY) != SITE_KEY:
            return refused("sitekey-secret-mismatch")
        token = form.get("response")
        if not token:
            return refused("missing-input-response")
        issued = self.tokens.get(token)
        if issued is None:
            return refused("invalid-input-response")
        if issued.used:
            return refused(
                "already-seen-response" if provider == "hcaptcha" else "timeout-or-duplicate"
            )
        issued.used = True
        answer: dict[str, Any] = {
            "success": True,
            "challenge_ts": datetime.datetime.now(datetime.UTC).isoformat(),
            "hostname": "localhost",
            "error-codes": [],
        }
        if provider == "recaptcha":
            answer.update(score=issued.score, action=issued.action)
        if provider == "turnstile":
            answer.update(action="join", cdata="")
        return answer
