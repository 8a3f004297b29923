"""The web app's generated contract types (web/src/lib/generated/) match the server.

The app's REST and Socket.IO types are generated from the server's own contracts
(`python -m classquiz openapi` and `schema`) by web/scripts/gen-types.mjs. This test
regenerates them into a temporary directory with this interpreter and fails when the
committed files differ: a contract changed and `cd web && npm run gen` was not run,
so the app would compile against a server that no longer exists.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from classquiz import openapi_document

REPO = Path(__file__).resolve().parents[1]
WEB = REPO / "web"
GENERATED = WEB / "src" / "lib" / "generated"
FILES = ("openapi.ts", "socket.ts")


def regenerate(out: Path) -> None:
    if shutil.which("node") is None:
        pytest.fail("node is missing: the web app's types cannot be regenerated")
    if not (WEB / "node_modules" / "openapi-typescript").is_dir():
        pytest.fail("web/node_modules is missing: run scripts/build-web")
    subprocess.run(
        ["node", "scripts/gen-types.mjs", "--out", str(out)],
        cwd=WEB,
        env={**os.environ, "PYTHON": sys.executable},
        check=True,
        capture_output=True,
        timeout=120,
    )


def test_committed_types_match_the_server_contracts(tmp_path: Path) -> None:
    regenerate(tmp_path)
    for name in FILES:
        fresh = (tmp_path / name).read_text(encoding="utf-8")
        committed = (GENERATED / name).read_text(encoding="utf-8")
        if fresh != committed:
            diff = "".join(
                list(
                    difflib.unified_diff(
                        committed.splitlines(keepends=True),
                        fresh.splitlines(keepends=True),
                        f"committed/{name}",
                        f"regenerated/{name}",
                    )
                )[:60]
            )
            stale = f"web/src/lib/generated/{name} is stale: run `cd web && npm run gen`"
            pytest.fail(f"{stale}\n{diff}")


def test_the_openapi_command_prints_a_document_without_dangling_references() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "classquiz", "openapi"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    document = json.loads(printed)
    assert document == json.loads(json.dumps(openapi_document()))
    schemas = document["components"]["schemas"]
    refs = {
        ref.rsplit("/", 1)[1] for ref in _refs(document) if ref.startswith("#/components/schemas/")
    }
    assert refs, "the document refers to no schema at all"
    assert not refs - set(schemas), f"references to missing schemas: {refs - set(schemas)}"


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_the_socket_event_maps_cover_every_event_of_the_contract() -> None:
    socket_ts = (GENERATED / "socket.ts").read_text(encoding="utf-8")
    asyncapi = json.loads((REPO / "docs" / "asyncapi.json").read_text(encoding="utf-8"))
    for operation in asyncapi["operations"].values():
        for message_ref in operation["messages"]:
            event = message_ref["$ref"].rsplit("/", 1)[1]
            if event in ("connect", "connect_error"):
                continue
            assert f"\t{event}: (payload: " in socket_ts, event
