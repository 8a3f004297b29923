"""The browser-facing security headers, and the Content-Security-Policy in one place.

The web app (built by SvelteKit into `web/build`) starts from a small inline
script in its `index.html`; rather than allowing inline scripts, the code that
serves the build records the SHA-256 sources of those scripts in
`app[CSP_SCRIPT_HASHES]`, and the policy allows exactly them.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

# "'sha256-…'" sources of the inline scripts the served web app needs (filled at start).
CSP_SCRIPT_HASHES: web.AppKey[list[str]] = web.AppKey("csp_script_hashes", list)


def content_security_policy(script_hashes: Iterable[str] = ()) -> str:
    """The policy for every response: same-origin code, no framing, no plugins.

    Images may come from anywhere over HTTPS (a question's picture is a URL the
    teacher pasted), from `data:` (the QR code) and `blob:`; styles allow inline
    `style` attributes, which Svelte transitions set; `worker-src blob:` lets the
    confetti animation run off the main thread.
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
    return "; ".join(f"{name} {value}" for name, value in directives.items())
