"""bench/loadgen (Node playing whole games) run from tests: socket.io-client or wire.mjs."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOADGEN = ROOT / "bench" / "loadgen"


def require_loadgen() -> None:
    """Skip the test when Node or the generator's packages are missing."""
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    if not (LOADGEN / "node_modules" / "socket.io-client").is_dir():
        pytest.skip("bench/loadgen/node_modules is missing (scripts/test runs npm ci there)")


async def run_loadgen(args: list[str], out: Path, timeout_s: float = 90) -> dict[str, Any]:
    """Play one game with the generator's options `args`; its JSON report (from `out`)."""
    loadgen = await asyncio.create_subprocess_exec(
        "node",
        str(LOADGEN / "loadgen.mjs"),
        *args,
        "--out",
        str(out),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    printed, _ = await asyncio.wait_for(loadgen.communicate(), timeout=timeout_s)
    assert loadgen.returncode == 0, printed.decode(errors="replace")[-3000:]
    report: dict[str, Any] = json.loads(await asyncio.to_thread(out.read_text))
    return report
