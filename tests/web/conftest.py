"""Browser tests of the web app: Playwright (Python) driving Debian's Chromium against
the real server serving the real build (web/build, made by scripts/build-web).

What every browser test gets here:
- `phone` and `projector`: browser contexts (an emulated phone with touch; a 1920×1080
  screen), English locale, `base_url` set to the test server;
- `browser_problems`: every uncaught page error and Content-Security-Policy violation
  in those contexts; a test that leaves any fails (at teardown), since either means
  a screen is broken for real users. Other console errors (a 404 a page expects) are
  collected in `console_errors` for tests that want to look;
- `axe_scan(page)`: runs axe-core in the page and fails on serious or critical
  accessibility violations;
- `shot(page, name)`: a screenshot in tests/web/artifacts/ (git-ignored) to look at.

Playwright's own browser download is blocked on these machines, so the browser is
/usr/bin/chromium (.ci/run installs Debian's chromium when it is missing).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    async_playwright,
)

from classquiz.routers.web import REPOSITORY_BUILD_DIR

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AXE_JS = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE_DEVICE = "Pixel 7"
PROJECTOR_VIEWPORT = {"width": 1920, "height": 1080}
BLOCKING_IMPACTS = ("serious", "critical")
CSP_MESSAGE = re.compile(r"Content Security Policy|CSP violation", re.IGNORECASE)

# Reports every CSP violation on the console, also those the browser reports only as an
# event (an init script is injected by the browser, so the policy does not block it).
REPORT_CSP_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
});
"""


@pytest.fixture(scope="session")
def web_build() -> Path:
    """The built app; the web tests cannot run without it."""
    if not (REPOSITORY_BUILD_DIR / "index.html").is_file():
        pytest.fail(f"no web app build in {REPOSITORY_BUILD_DIR}: run scripts/build-web")
    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS} is missing (web/node_modules): run scripts/build-web")
    return REPOSITORY_BUILD_DIR


@pytest.fixture(scope="session")
def app_url(web_build: Path, server: TestServer) -> str:
    """The test server (tests/conftest.py), which serves web/build at /."""
    return str(server.make_url("")).rstrip("/")


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def chromium(web_build: Path) -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(playwright: Playwright, chromium: str) -> AsyncIterator[Browser]:
    browser = await playwright.chromium.launch(
        executable_path=chromium, args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    await browser.close()


@dataclass
class BrowserProblems:
    """What went wrong in the pages of a test's browser contexts."""

    csp_violations: list[str] = field(default_factory=list)
    uncaught_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def watch(self, context: BrowserContext) -> None:
        context.on("console", self._console)
        context.on("weberror", lambda error: self.uncaught_errors.append(str(error.error)))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        text = f"{message.text} ({message.location.get('url', '')})"
        if CSP_MESSAGE.search(message.text):
            self.csp_violations.append(text)
        else:
            self.console_errors.append(text)

    def assert_none(self) -> None:
        assert not self.csp_violations, f"Content-Security-Policy violations: {self.csp_violations}"
        assert not self.uncaught_errors, f"uncaught errors in the page: {self.uncaught_errors}"


@pytest.fixture
def browser_problems() -> BrowserProblems:
    return BrowserProblems()


async def _context(
    browser: Browser, problems: BrowserProblems, app_url: str, **options: Any
) -> BrowserContext:
    context = await browser.new_context(base_url=app_url, locale="en-US", **options)
    await context.add_init_script(REPORT_CSP_VIOLATIONS)
    problems.watch(context)
    return context


@pytest.fixture
async def phone_context(
    playwright: Playwright, browser: Browser, browser_problems: BrowserProblems, app_url: str
) -> AsyncIterator[BrowserContext]:
    """An emulated phone (Pixel 7: small screen, touch, mobile user agent)."""
    device = dict(playwright.devices[PHONE_DEVICE])
    device.pop("default_browser_type", None)
    context = await _context(browser, browser_problems, app_url, **device)
    yield context
    await context.close()
    browser_problems.assert_none()


@pytest.fixture
async def projector_context(
    browser: Browser, browser_problems: BrowserProblems, app_url: str
) -> AsyncIterator[BrowserContext]:
    """The presenter's big screen: 1920×1080, mouse and keyboard."""
    context = await _context(browser, browser_problems, app_url, viewport=PROJECTOR_VIEWPORT)
    yield context
    await context.close()
    browser_problems.assert_none()


@pytest.fixture
async def phone(phone_context: BrowserContext) -> Page:
    return await phone_context.new_page()


@pytest.fixture
async def projector(projector_context: BrowserContext) -> Page:
    return await projector_context.new_page()


@functools.cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8") + "\n;undefined"


async def axe_scan(page: Page, *, exclude: list[str] | None = None) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; fail on serious or critical violations.

    axe is evaluated through the DevTools protocol (not a <script> tag), so the page's
    Content-Security-Policy does not stand in its way. Returns all violations (the
    minor and moderate ones too) for tests that want to look further.
    """
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.evaluate(_axe_source())
    context = {"exclude": [[selector] for selector in exclude or []]}
    result = await page.evaluate(
        "async (context) => JSON.stringify(await window.axe.run(context.exclude.length"
        " ? { include: [[document]], exclude: context.exclude } : document,"
        " { resultTypes: ['violations'] }))",
        context,
    )
    violations: list[dict[str, Any]] = json.loads(result)["violations"]
    blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
    assert not blocking, "accessibility violations (axe-core):\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in blocking
    )
    return violations


async def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as tests/web/artifacts/<name>.png and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
