"""Liveness and readiness probes."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from classquiz.db.engine import database_is_ready
from classquiz.routers.api import ApiRouter, json_response
from classquiz.runtime import services

router = ApiRouter(tags=("health",))


class HealthOut(BaseModel):
    status: str
    checks: dict[str, bool] = {}


@router.route("GET", "/healthz", summary="Liveness: the process answers", response=HealthOut)
async def healthz(request: web.Request) -> HealthOut:
    return HealthOut(status="ok")


@router.route(
    "GET",
    "/readyz",
    summary="Readiness: Redis and the database answer",
    response=HealthOut,
    errors=(503,),
)
async def readyz(request: web.Request) -> web.Response:
    svc = services(request)
    try:
        # Redis counts as ready when it answers and this process listens to the
        # fan-out channel again (after an outage the subscription comes back last).
        redis_ok = bool(await svc.redis.ping()) and svc.delivery.listening
    except Exception:
        redis_ok = False
    checks = {"redis": redis_ok, "database": await database_is_ready()}
    ready = all(checks.values())
    return json_response(
        HealthOut(status="ok" if ready else "unavailable", checks=checks),
        status=200 if ready else 503,
    )
