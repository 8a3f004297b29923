"""Serving the built web app (`web/build`, made by `scripts/build-web`) at `/`.

The app is a single-page app: every page route (`/play`, `/host`, `/quizzes/…`)
is answered with its `index.html` and the client router draws the page. Three
things make that safe and fast:

- the fallback never covers `/api/…` or `/socket.io/…`, so a mistyped API call
  keeps its JSON 404 instead of getting a page of HTML;
- the hashed files under `/_app/immutable/` never change under one name, so they
  are cached for a year, while `index.html` (which names them) is revalidated on
  every load (`no-cache`) and a new build reaches the next page load;
- the build ships `.br` and `.gz` beside each file; aiohttp's FileResponse sends
  the one the browser accepts (with `Vary: Accept-Encoding`), so nothing is
  compressed per request.

`index.html` starts the app with a small inline script. Rather than allowing
inline scripts in the Content-Security-Policy, the SHA-256 of each inline
script is published in `app[CSP_SCRIPT_HASHES]`, which the policy allows
exactly. The hashes are computed at start and again whenever `index.html`
changes (its script differs with every build), so a rebuild needs no restart.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from html.parser import HTMLParser
from pathlib import Path

from aiohttp import web

from classquiz.security_headers import CSP_SCRIPT_HASHES

log = logging.getLogger("classquiz.web")

REPOSITORY_BUILD_DIR = Path(__file__).resolve().parents[2] / "web" / "build"
IMMUTABLE_PREFIX = "_app/immutable/"
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
REVALIDATE_CACHE = "no-cache"
# Any path whose first segment is not `api` or `socket.io` (those keep the API's JSON 404
# and Socket.IO's own answers); registered last, so every real route wins.
CATCH_ALL = r"/{path:(?!(?:api|socket\.io)(?:/|$)).*}"

NO_BUILD_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ClassQuiz: the web app is not built</title>
<style>body{font:1.1rem/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
code{background:#eee;padding:.1em .3em;border-radius:.2em}</style></head>
<body><main><h1>The web app is not built yet</h1>
<p>This ClassQuiz server is running, and its API works
(<a href="/api/docs">API documentation</a>), but the web app for players, presenters and
teachers has not been built on this machine.</p>
<p>Build it with <code>scripts/build-web</code> (it needs Node.js 20.19 or newer and npm),
then reload this page. <code>scripts/run</code> builds it before it starts the server.</p>
</main></body></html>"""


class _InlineScripts(HTMLParser):
    """Collects the text of every `<script>` without a `src` (the ones a CSP hash must allow)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self._current: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and not any(name == "src" for name, _ in attrs):
            self._current = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._current is not None:
            self.scripts.append("".join(self._current))
            self._current = None


def inline_script_hashes(html: str) -> list[str]:
    """The CSP sources (`'sha256-…'`) of the inline scripts of `html`, in page order.

    The hash covers the script's text exactly as written between the tags, which
    is what browsers hash when they check a policy.
    """
    parser = _InlineScripts()
    parser.feed(html)
    parser.close()
    sources = []
    for text in parser.scripts:
        digest = hashlib.sha256(text.encode("utf-8")).digest()
        sources.append(f"'sha256-{base64.b64encode(digest).decode('ascii')}'")
    return sources


def build_directory(configured: str | None) -> Path:
    """The directory served: the WEB_BUILD_DIR setting, else `web/build` of the repository."""
    return Path(configured).resolve() if configured else REPOSITORY_BUILD_DIR


class WebApp:
    """Answers the page routes and static files of one build directory.

    A new build (scripts/build-web swaps the directory in whole) is picked up
    without a restart: each page load compares the stamp of `index.html` with
    the one its script hashes were computed from, and recomputes them in place
    when it changed. Before the first build, pages explain how to build.
    """

    def __init__(self, root: Path, script_hashes: list[str]) -> None:
        self.root = root
        self.index = root / "index.html"
        self.script_hashes = script_hashes  # the list the CSP reads on every response
        self._seen: tuple[int, int] | None = None

    def current(self) -> bool:
        """Whether there is a build; brings the CSP hashes up to date with its index.html."""
        try:
            stat = self.index.stat()
        except FileNotFoundError:
            self._seen = None
            self.script_hashes.clear()
            return False
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._seen:
            self.script_hashes[:] = inline_script_hashes(self.index.read_text(encoding="utf-8"))
            self._seen = stamp
            log.info("serving the web app from %s", self.root)
        return True

    def file_for(self, path: str) -> Path | None:
        """The build's file at URL path `path`, or None (missing, a directory, outside, or
        a name no file can have: a NUL byte, which the file system calls would refuse)."""
        if not path or path.endswith("/") or "\x00" in path:
            return None
        candidate = (self.root / path).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        return candidate

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        found = self.file_for(path)
        if found is not None and path != "index.html":
            cache = IMMUTABLE_CACHE if path.startswith(IMMUTABLE_PREFIX) else REVALIDATE_CACHE
            return web.FileResponse(found, headers={"Cache-Control": cache})
        if path.startswith("_app/"):
            # A missing script or stylesheet must fail loudly, not load a page of HTML.
            raise web.HTTPNotFound()
        if not self.current():
            return no_build()
        return web.FileResponse(self.index, headers={"Cache-Control": REVALIDATE_CACHE})


def no_build() -> web.Response:
    """What the pages show while nobody has built the web app: how to build it."""
    return web.Response(
        status=503,
        text=NO_BUILD_PAGE,
        content_type="text/html",
        headers={"Cache-Control": REVALIDATE_CACHE},
    )


def install(app: web.Application, configured_dir: str | None) -> None:
    """Serve the build (or the how-to-build page) on every path the API does not own.

    Call it after every other route is added: the catch-all must come last.
    """
    root = build_directory(configured_dir)
    script_hashes: list[str] = []
    app[CSP_SCRIPT_HASHES] = script_hashes
    webapp = WebApp(root, script_hashes)
    if not webapp.current():
        log.warning("no web app build in %s: run scripts/build-web (the API works)", root)
    app.router.add_get(CATCH_ALL, webapp.handle)
