"""Error tracking with Sentry, on only when `SENTRY_DSN` is set.

Why a scrubber of our own on top of `send_default_pii=False`: the SDK's own
filtering knows the usual header names, but this server's secrets also travel in
places it cannot know: game tokens in a Socket.IO handshake's `auth`, a join
password or captcha token in a log line, an access token in a query string
(`/api/v1/…?token=`), a player's e-mail in an exception message. A teacher who
turns Sentry on must not ship any of that to a third party, so every event passes
`scrub_event` last, whatever integration produced it: keys that name a secret or
a person lose their value, and strings lose e-mail addresses, bearer tokens,
JWTs and secret-looking query parameters. Request bodies and local variables are
never collected at all.

Unhandled errors of a request reach Sentry from `observability.request_middleware`
(it answers them with a 500 body, so the aiohttp integration never sees them
raised); the aiohttp integration adds the request's method, URL and headers (to be
scrubbed) and, when `SENTRY_TRACES_SAMPLE_RATE` > 0, traces.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.aiohttp import AioHttpIntegration

from classquiz.config import Settings
from classquiz.version import __version__

log = logging.getLogger(__name__)

FILTERED = "[Filtered]"

_SENSITIVE_KEY = re.compile(
    r"authorization|cookie|passw|secret|token|api[-_]?key|captcha|e-?mail|session|csrf"
    r"|nickname|username|^auth$|^dsn$|^pin$|remote_?addr|^ip(_address)?$|x-forwarded-for"
    r"|x-real-ip",
    re.IGNORECASE,
)
"""Names whose values are secrets or personal data wherever they appear (headers,
`auth` payloads, log extras, contexts): the value is replaced, the key kept."""

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_BEARER = re.compile(r"\b(Bearer|Basic|Token)\s+[\w.~+/=-]+", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*")
_QUERY_SECRET = re.compile(
    r"((?:^|[?&;\s])[^=&;#\s]*(?:token|passw|secret|key|code|state|captcha|e-?mail|auth)"
    r"[^=&;#\s]*=)[^&;#\s]*",
    re.IGNORECASE,
)


_KEY_VALUE = re.compile(
    r"""(["']?[\w-]*(?:passw|secret|token|captcha|auth|api[-_]?key|e-?mail|cookie)[\w-]*["']?"""
    r"""\s*[:=]\s*)(?!\[Filtered\])("[^"]*"|'[^']*'|[^\s,;&}\]]+)""",
    re.IGNORECASE,
)
"""`password=…`, `'host_token': '…'`, `"captcha": "…"`: a secret inside a logged dict or
a formatted message, where no key of the event names it."""


def scrub_text(text: str) -> str:
    """`text` without e-mail addresses, bearer credentials, JWTs or secret values."""
    text = _BEARER.sub(lambda m: f"{m.group(1)} {FILTERED}", text)
    text = _JWT.sub(FILTERED, text)
    text = _QUERY_SECRET.sub(lambda m: m.group(1) + FILTERED, text)
    text = _KEY_VALUE.sub(lambda m: m.group(1) + FILTERED, text)
    return _EMAIL.sub(FILTERED, text)


def scrub(value: Any, key: str | None = None) -> Any:
    """`value` with every secret or personal field replaced, walking dicts and lists."""
    if key is not None and _SENSITIVE_KEY.search(key):
        return FILTERED if value not in (None, "", [], {}) else value
    if isinstance(value, dict):
        return {k: scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        # Headers arrive as [name, value] pairs: judge the value by the pair's name.
        if len(value) == 2 and isinstance(value[0], str) and _SENSITIVE_KEY.search(value[0]):
            return [value[0], FILTERED]
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def scrub_event(event: Any, hint: Any = None) -> Any:
    """Sentry's `before_send`: the event as it may leave the server (never None: an event
    is only ever made safe, not dropped)."""
    request = event.get("request")
    if isinstance(request, dict):
        for field_name in ("data", "cookies", "env"):
            request.pop(field_name, None)  # bodies may carry passwords; cookies are sessions
    event.pop("user", None)  # no person, not even an address
    return scrub(event)


def start_error_tracking(settings: Settings) -> bool:
    """Start the Sentry SDK when `SENTRY_DSN` is set; True when it did."""
    if not settings.sentry_dsn:
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        integrations=[AioHttpIntegration()],
        send_default_pii=False,
        include_local_variables=False,  # a frame's locals may hold a token or a password
        max_request_body_size="never",
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        traces_sample_rate=settings.sentry_traces_sample_rate,
        environment=settings.sentry_environment,
        release=f"classquiz@{__version__}",
    )
    log.info("error tracking: Sentry is on (environment %s)", settings.sentry_environment)
    return True


def report_unhandled() -> None:
    """Send the exception being handled to Sentry (nothing when Sentry is off)."""
    sentry_sdk.capture_exception()


def stop_error_tracking() -> None:
    """Send what is queued and stop the client (at shutdown; nothing when off)."""
    client = sentry_sdk.get_client()
    if client.is_active():
        client.close(timeout=2.0)
        # A closed client still counts as active; only the global scope's own reset
        # turns the SDK back into the no-op it is without SENTRY_DSN.
        sentry_sdk.get_global_scope().set_client(None)
