"""/api/openapi.json (generated) and the /api/docs page (Swagger UI served locally)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import swagger_ui
from aiohttp import web

from classquiz.routers.api import json_response

OPENAPI_KEY = web.AppKey("openapi", dict)

# Swagger UI 5 (reads OpenAPI 3.1) from the swagger-ui-py wheel; we serve only its files.
SWAGGER_UI_STATIC = Path(swagger_ui.__file__).parent / "static"
# The start script lives in a file of its own: the CSP allows no inline scripts.
DOCS_START_SCRIPT = Path(__file__).with_name("docs.js")

DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ClassQuiz API</title>
<link rel="stylesheet" href="/api/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/static/swagger-ui-bundle.js"></script>
<script src="/api/docs/start.js"></script>
</body></html>"""


async def openapi_json(request: web.Request) -> web.Response:
    return json_response(request.app[OPENAPI_KEY])


@functools.cache
def _asyncapi() -> dict[str, Any]:
    from classquiz.socket_server.schema import build_asyncapi

    return build_asyncapi()


async def asyncapi_json(request: web.Request) -> web.Response:
    """The Socket.IO contract (AsyncAPI 3.0), generated once from the socket models."""
    return json_response(_asyncapi())


async def docs_page(request: web.Request) -> web.Response:
    return web.Response(text=DOCS_PAGE, content_type="text/html")


async def docs_start_script(request: web.Request) -> web.FileResponse:
    return web.FileResponse(DOCS_START_SCRIPT, headers={"Content-Type": "text/javascript"})


def install(app: web.Application, spec: dict[str, Any]) -> None:
    app[OPENAPI_KEY] = spec
    app.router.add_get("/api/openapi.json", openapi_json)
    app.router.add_get("/api/asyncapi.json", asyncapi_json)
    app.router.add_get("/api/docs", docs_page)
    app.router.add_get("/api/docs/start.js", docs_start_script)
    app.router.add_static("/api/docs/static", SWAGGER_UI_STATIC)
