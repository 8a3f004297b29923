"""The browser-facing security headers, and the Content-Security-Policy in one place.

The web app (built by SvelteKit into `web/build`) starts from a small inline
script in its `index.html`; rather than allowing inline scripts, the code that
serves the build records the SHA-256 sources of those scripts in
`app[CSP_SCRIPT_HASHES]`, and the policy allows exactly them.

`install_security_headers` puts the headers on every response the app sends:
JSON, pages, static files, errors and Socket.IO alike. HSTS is Caddy's job
(see the Caddyfile), since only the TLS front knows the site is served over
HTTPS.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import aiohttp.web_response
from aiohttp import web

# What the `Server` header says: the product, never a version to look up exploits for.
SERVER_NAME = "ClassQuiz"

# The same on every response, whatever it is.
FIXED_HEADERS = {
    "X-Content-Type-Options": "nosniff",  # a JSON or text body is never run as a script
    "Referrer-Policy": "same-origin",  # PINs and ids in our URLs stay on our site
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
    "Server": SERVER_NAME,
}

DEFAULT_SRC = "'self'"  # what a directive not listed below falls back to

# "'sha256-…'" sources of the inline scripts the served web app needs (filled at start).
CSP_SCRIPT_HASHES: web.AppKey[list[str]] = web.AppKey("csp_script_hashes", list)


def content_security_policy(
    script_hashes: Iterable[str] = (), extra_sources: Mapping[str, str] | None = None
) -> str:
    """The policy for every response: same-origin code, no framing, no plugins.

    Images may come from anywhere over HTTPS (a question's picture is a URL the
    teacher pasted), from `data:` (the QR code) and `blob:`; styles allow inline
    `style` attributes, which Svelte transitions set; `worker-src blob:` lets the
    confetti animation run off the main thread. `extra_sources` widens a directive
    for a third party the server was configured to use (the join captcha's widget).
    """
    script_src = " ".join(["'self'", *script_hashes])
    directives = {
        "default-src": "'self'",
        "script-src": script_src,
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data: blob: https:",
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "worker-src": "'self' blob:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    for name, sources in (extra_sources or {}).items():
        directives[name] = f"{directives.get(name, DEFAULT_SRC)} {sources}"
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def install_security_headers(
    app: web.Application, extra_sources: Mapping[str, str] | None = None
) -> None:
    """Add the security headers to every response `app` prepares.

    A response-prepare signal rather than a middleware: it also sees responses
    that never pass through the middleware chain's return value (static files,
    Socket.IO's own answers, WebSocket upgrades). The script hashes are read
    per response, because the web-app code fills them in at start-up.
    """

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(FIXED_HEADERS)
        hashes: list[str] = request.app.get(CSP_SCRIPT_HASHES, [])
        response.headers["Content-Security-Policy"] = content_security_policy(hashes, extra_sources)

    app.on_response_prepare.append(add_headers)
    # aiohttp answers a request it cannot even parse (before any app code runs)
    # with its own `Server: Python/x aiohttp/y` default; name the product only.
    aiohttp.web_response.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[attr-defined]
