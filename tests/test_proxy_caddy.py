"""The project's Caddyfile on Debian's Caddy in front of `serve --workers 2` (issue 14).

What Caddy itself adds or hides: HSTS on every response, no `Server` header (neither
Caddy's nor the upstream's), /metrics closed to the outside, the app's own security
headers passed through, REST reaching the workers, and the sticky cookie set for
requests that name no game.
"""

from __future__ import annotations

import pytest

from tests.support.caddy import CaddyFront

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def front(caddy_front: CaddyFront) -> CaddyFront:
    return caddy_front


async def test_caddy_adds_hsts_and_hides_the_server(front: CaddyFront) -> None:
    assert front.http is not None
    for path in ("/healthz", "/api/v1/games/000000", "/"):
        async with front.http.get(path) as resp:
            await resp.read()
            assert "Server" not in resp.headers, (path, dict(resp.headers))
            assert resp.headers.get("Strict-Transport-Security") == (
                "max-age=31536000; includeSubDomains"
            ), (path, dict(resp.headers))
            # The app's own headers come through the proxy unchanged.
            assert resp.headers.get("X-Content-Type-Options") == "nosniff", path


async def test_metrics_are_not_served_through_caddy(front: CaddyFront) -> None:
    assert front.http is not None
    async with front.http.get("/metrics") as resp:
        assert resp.status == 404
        body = await resp.text()
    assert "classquiz_" not in body
    # ...while a worker itself (debug mode in tests) does serve them on its own port.
    async with front.http.get(f"{front.worker_urls[0]}/metrics") as resp:
        assert resp.status == 200
        assert "classquiz_http_requests_total" in await resp.text()


async def test_rest_without_a_pin_gets_the_sticky_cookie(front: CaddyFront) -> None:
    assert front.http is not None
    async with front.http.get("/readyz") as resp:
        assert resp.status == 200
        cookie = resp.cookies.get("classquiz_lb")
    assert cookie is not None and cookie.value, "no sticky cookie for a request without a PIN"
