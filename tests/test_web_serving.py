"""Serving the built web app (classquiz/routers/web.py) on a real server.

Each test runs its own app whose WEB_BUILD_DIR is a small build made here (an
index.html with an inline script like SvelteKit's, a hashed asset with its .br and
.gz, a static file), so the serving rules are checked without Node.js; the browser
tests in tests/web use the real build.
"""

from __future__ import annotations

import gzip
import hashlib
from base64 import b64encode
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from classquiz.routers.web import (
    IMMUTABLE_CACHE,
    REPOSITORY_BUILD_DIR,
    build_directory,
    inline_script_hashes,
)
from classquiz.security_headers import CSP_SCRIPT_HASHES
from tests.support.apps import separate_app

BOOT_SCRIPT = "\n\t\t\t\t{ window.booted = true; }\n\t\t\t"
INDEX_HTML = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<link href="/_app/immutable/assets/0.Abc.css" rel="stylesheet"></head>
<body><div><script>{BOOT_SCRIPT}</script>
<script type="module" src="/_app/immutable/entry/app.Xyz.js"></script></div></body></html>"""
ASSET = b"export const answer = 42;\n" * 40
ASSET_PATH = "_app/immutable/entry/app.Xyz.js"
# What a brotli encoder would write; the server never decodes it, it only picks the file.
ASSET_BR = b"brotli-bytes-of-app.Xyz.js"


def make_build(root: Path) -> Path:
    """A build directory shaped like SvelteKit's adapter-static output (precompressed)."""
    (root / "_app/immutable/entry").mkdir(parents=True)
    (root / "_app/immutable/assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX_HTML, encoding="utf-8")
    (root / "index.html.gz").write_bytes(gzip.compress(INDEX_HTML.encode()))
    (root / ASSET_PATH).write_bytes(ASSET)
    (root / f"{ASSET_PATH}.gz").write_bytes(gzip.compress(ASSET))
    (root / f"{ASSET_PATH}.br").write_bytes(ASSET_BR)
    (root / "_app/immutable/assets/0.Abc.css").write_text("body{margin:0}")
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return root


@pytest.fixture
async def built(
    server: TestServer, storage: dict[str, str], tmp_path: Path
) -> AsyncIterator[TestServer]:
    build = make_build(tmp_path / "build")
    (tmp_path / "secret.txt").write_text("not for the web")
    async with separate_app(storage, web_build_dir=str(build)) as test_server:
        yield test_server


@pytest.fixture
async def unbuilt(
    server: TestServer, storage: dict[str, str], tmp_path: Path
) -> AsyncIterator[TestServer]:
    async with separate_app(storage, web_build_dir=str(tmp_path / "nothing-here")) as test_server:
        yield test_server


def client(test_server: TestServer, **headers: str) -> ClientSession:
    # auto_decompress off: the test sees the bytes on the wire, as a browser receives them.
    return ClientSession(str(test_server.make_url("")), auto_decompress=False, headers=headers)


async def test_page_routes_get_the_app(built: TestServer) -> None:
    async with client(built, **{"Accept-Encoding": "identity"}) as http:
        for path in ("/", "/play?pin=123456", "/host", "/quizzes/3f2a/edit", "/results/x"):
            async with http.get(path) as resp:
                assert resp.status == 200, path
                assert resp.content_type == "text/html", path
                assert resp.headers["Cache-Control"] == "no-cache", path
                assert await resp.text() == INDEX_HTML, path


async def test_api_and_socketio_paths_keep_their_own_answers(built: TestServer) -> None:
    async with client(built) as http:
        for method, path in (
            ("GET", "/api/no-such-thing"),
            ("GET", "/api"),
            ("GET", "/api/v1/nope/deeper"),
            ("POST", "/api/v1/nope"),
        ):
            async with http.request(method, path) as resp:
                assert resp.status == 404, (method, path)
                assert resp.content_type == "application/json", (method, path)
                assert (await resp.json())["error"]["code"] == "not_found"
        async with http.get("/socket.io/unknown") as resp:
            assert resp.content_type != "text/html"
            assert "booted" not in await resp.text()
        async with http.get("/healthz") as resp:  # real routes still win over the catch-all
            assert resp.status == 200
            assert resp.content_type == "application/json"


async def test_hashed_assets_are_immutable_and_the_rest_revalidated(built: TestServer) -> None:
    async with client(built, **{"Accept-Encoding": "identity"}) as http:
        async with http.get(f"/{ASSET_PATH}") as resp:
            assert resp.status == 200
            assert resp.headers["Cache-Control"] == IMMUTABLE_CACHE
            assert resp.content_type in ("text/javascript", "application/javascript")
            assert await resp.read() == ASSET
        async with http.get("/_app/immutable/assets/0.Abc.css") as resp:
            assert resp.headers["Cache-Control"] == IMMUTABLE_CACHE
            assert resp.content_type == "text/css"
        for path in ("/favicon.svg", "/index.html"):
            async with http.get(path) as resp:
                assert resp.status == 200, path
                assert resp.headers["Cache-Control"] == "no-cache", path


async def test_a_missing_asset_is_a_404_not_the_page(built: TestServer) -> None:
    async with client(built) as http:
        async with http.get("/_app/immutable/entry/app.Gone.js") as resp:
            assert resp.status == 404
            assert resp.content_type == "application/json"


async def test_precompressed_files_are_sent_as_the_browser_accepts(built: TestServer) -> None:
    url = f"/{ASSET_PATH}"
    async with client(built, **{"Accept-Encoding": "gzip, deflate, br"}) as http:
        async with http.get(url) as resp:
            assert resp.headers["Content-Encoding"] == "br"
            assert "Accept-Encoding" in resp.headers["Vary"]
            assert resp.headers["Cache-Control"] == IMMUTABLE_CACHE
            assert await resp.read() == ASSET_BR
    async with client(built, **{"Accept-Encoding": "gzip"}) as http:
        async with http.get(url) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(await resp.read()) == ASSET
        async with http.get("/play") as resp:  # the fallback page is precompressed too
            assert resp.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(await resp.read()).decode() == INDEX_HTML
    async with client(built, **{"Accept-Encoding": "identity"}) as http:
        async with http.get(url) as resp:
            assert "Content-Encoding" not in resp.headers
            assert await resp.read() == ASSET


async def test_nothing_outside_the_build_is_served(built: TestServer) -> None:
    async with client(built, **{"Accept-Encoding": "identity"}) as http:
        for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/_app/%2e%2e/%2e%2e/secret.txt"):
            async with http.get(path) as resp:
                assert "not for the web" not in await resp.text(), path


async def test_a_nul_byte_in_a_page_path_is_not_a_server_error(built: TestServer) -> None:
    """Found by the hostile-input walk: the file lookup raised on a NUL byte (a 500)."""
    async with client(built, **{"Accept-Encoding": "identity"}) as http:
        for path in ("/%00", "/media/%7B%00", "/_app/%00.js", "/quizzes/%00"):
            async with http.get(path) as resp:
                assert resp.status < 500, (path, resp.status)


async def test_the_inline_boot_script_is_allowed_by_its_hash(built: TestServer) -> None:
    expected = "'sha256-" + b64encode(hashlib.sha256(BOOT_SCRIPT.encode()).digest()).decode() + "'"
    assert built.app[CSP_SCRIPT_HASHES] == [expected]


def test_inline_script_hashes_cover_inline_scripts_only() -> None:
    html = '<script>alert(1)</script><script src="/a.js"></script><script type="module"></script>'
    # Known SHA-256 values: of "alert(1)" and of the empty string.
    assert inline_script_hashes(html) == [
        "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='",
        "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    ]


def test_the_default_build_is_the_repositorys() -> None:
    assert build_directory(None) == Path(__file__).resolve().parents[1] / "web" / "build"
    assert build_directory(None) == REPOSITORY_BUILD_DIR


async def test_without_a_build_the_page_says_how_to_build_and_the_api_works(
    unbuilt: TestServer,
) -> None:
    assert unbuilt.app[CSP_SCRIPT_HASHES] == []
    async with client(unbuilt) as http:
        for path in ("/", "/play?pin=123456"):
            async with http.get(path) as resp:
                assert resp.status == 503
                assert resp.content_type == "text/html"
                text = await resp.text()
                assert "scripts/build-web" in text
                assert "<script" not in text
        async with http.get("/api/nope") as resp:
            assert resp.status == 404
            assert (await resp.json())["error"]["code"] == "not_found"
        async with http.get("/api/openapi.json") as resp:
            assert resp.status == 200


async def test_a_new_build_is_served_with_its_own_hashes_without_a_restart(
    server: TestServer, storage: dict[str, str], tmp_path: Path
) -> None:
    build = tmp_path / "build"
    async with separate_app(storage, web_build_dir=str(build)) as test_server:
        async with client(test_server, **{"Accept-Encoding": "identity"}) as http:
            async with http.get("/") as resp:
                assert resp.status == 503  # not built yet
            assert test_server.app[CSP_SCRIPT_HASHES] == []

            make_build(build)
            async with http.get("/play") as resp:
                assert resp.status == 200
                assert await resp.text() == INDEX_HTML
            first = list(test_server.app[CSP_SCRIPT_HASHES])
            assert first == inline_script_hashes(INDEX_HTML)

            # The next build's boot script differs (SvelteKit names a global per build).
            rebuilt = INDEX_HTML.replace("booted = true", "booted = 2")
            (build / "index.html").write_text(rebuilt, encoding="utf-8")
            async with http.get("/index.html") as resp:
                assert await resp.text() == rebuilt
            assert test_server.app[CSP_SCRIPT_HASHES] == inline_script_hashes(rebuilt) != first
