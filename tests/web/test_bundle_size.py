"""The issue's size budget: /play loads under 150 kB of compressed JS + CSS.

The page is loaded in Chromium as a phone would, every script and stylesheet it
fetches (lazy chunks too, until the network is idle) is recorded, and their sizes
are those of the precompressed files the server sends (brotli, as Chromium
accepts it). The screen engineers keep this green by importing heavy code lazily.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from playwright.async_api import Page, Request

PLAY_BUDGET_BYTES = 150 * 1000


def compressed_size(build: Path, url_path: str) -> int:
    """Bytes on the wire for a build file: its .br (or .gz, or itself) size."""
    file = build / url_path.lstrip("/")
    for candidate in (file.with_name(file.name + ".br"), file.with_name(file.name + ".gz"), file):
        if candidate.is_file():
            return candidate.stat().st_size
    raise AssertionError(f"{url_path} is not in the build")


async def test_play_stays_under_its_size_budget(phone: Page, web_build: Path) -> None:
    fetched: list[str] = []

    def record(request: Request) -> None:
        if request.resource_type in ("script", "stylesheet"):
            fetched.append(urlparse(request.url).path)

    phone.on("request", record)
    await phone.goto("/play?pin=123456", wait_until="networkidle")
    assert fetched, "no script or stylesheet was loaded"
    sizes = {path: compressed_size(web_build, path) for path in sorted(set(fetched))}
    total = sum(sizes.values())
    report = "\n".join(f"{size:>8} {path}" for path, size in sizes.items())
    print(f"/play loads {total} bytes of compressed JS + CSS:\n{report}")
    assert total < PLAY_BUDGET_BYTES, (
        f"/play loads {total} bytes (budget {PLAY_BUDGET_BYTES}):\n{report}"
    )
