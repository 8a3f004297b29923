"""The app starts against real storage and answers its probes."""

from aiohttp import ClientSession


async def test_healthz_and_readyz(http: ClientSession) -> None:
    async with http.get("/healthz") as resp:
        assert resp.status == 200
    async with http.get("/readyz") as resp:
        assert resp.status == 200
        assert (await resp.json())["checks"] == {"redis": True, "database": True}


async def test_openapi_lists_every_route(http: ClientSession) -> None:
    async with http.get("/api/openapi.json") as resp:
        spec = await resp.json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/quizzes/{quiz_id}" in spec["paths"]
    assert "QuizIn" in spec["components"]["schemas"]
