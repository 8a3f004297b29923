"""The web app's live-connection module (web/src/lib/live.ts) against the real server.

A password-protected game is created here over REST; vitest then runs
web/src/lib/live.server.test.ts in Node with socket.io-client against this
server: host and player handshakes, the stored player token bringing a dropped
or reloaded player back as the same player, takeover (`replaced`, "Use here"),
a kick, and refusals with their codes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from tests.support.quizzes import sample_quiz
from tests.support.users import ApiUser

WEB = Path(__file__).resolve().parents[1] / "web"


async def test_live_module_against_the_server(user: ApiUser, base_url: str) -> None:
    if shutil.which("npx") is None or not (WEB / "node_modules" / "vitest").is_dir():
        pytest.fail("web/node_modules is missing: run scripts/build-web")
    status, quiz = await user.request("POST", "/api/v1/quizzes", json=sample_quiz())
    assert status == 201, quiz
    status, game = await user.request(
        "POST",
        "/api/v1/games",
        json={"quiz_id": quiz["id"], "settings": {"password": "sesame"}},
    )
    assert status == 201, game
    env = {
        **os.environ,
        "CQ_SERVER_URL": base_url,
        "CQ_PIN": game["pin"],
        "CQ_PASSWORD": "sesame",
        "CQ_HOST_TOKEN": game["host_token"],
        "NO_COLOR": "1",
    }
    proc = await asyncio.create_subprocess_exec(
        "npx",
        "vitest",
        "run",
        "--config",
        "vitest.server.config.ts",
        cwd=WEB,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), timeout=110)
    text = output.decode(errors="replace")
    assert proc.returncode == 0, text
    assert "5 passed" in text, text
