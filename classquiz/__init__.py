"""ClassQuiz server: `create_app(settings)` builds the aiohttp app with Socket.IO attached."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import socketio
from aiohttp import web
from redis.asyncio import Redis

from classquiz import lifecycle
from classquiz.config import Settings
from classquiz.cors import cors_middleware, csrf_middleware
from classquiz.observability import metrics_endpoint, request_middleware
from classquiz.openapi import build_openapi
from classquiz.redis_connect import node_url, subscriber_redis
from classquiz.routers import (
    account,
    docs,
    games,
    health,
    media,
    oauth,
    passkeys,
    quizzes,
    results,
    users,
)
from classquiz.routers import search as search_routes
from classquiz.routers import web as web_app
from classquiz.routers.api import MAX_JSON_BODY
from classquiz.runtime import SERVICES, build_services
from classquiz.search import search_lifecycle
from classquiz.security_headers import install_security_headers
from classquiz.services.background import BackgroundWorkers
from classquiz.services.captcha import csp_sources
from classquiz.services.placement import GamePlacement
from classquiz.socket_server.handlers import GameSocketHandlers
from classquiz.socket_server.managers import LoopingAsyncManager, LoopingRedisManager
from classquiz.socket_server.notifier import SocketNotifier
from classquiz.socket_server.server import create_socket_server
from classquiz.version import __version__

__all__ = ["SIO", "__version__", "create_app", "openapi_document"]
log = logging.getLogger("classquiz")
SIO = web.AppKey("sio", socketio.AsyncServer)
ROUTERS = (
    health.router,
    users.router,
    oauth.router,
    passkeys.router,
    account.router,
    quizzes.router,
    media.router,
    games.router,
    results.router,
    search_routes.router,
)


def create_app(settings: Settings, *, own_database: bool = True) -> web.Application:
    """The whole server for `settings` (whose storage URLs must be resolved).

    The Ormar models share one process-wide database connection; an app built
    with `own_database=False` uses it as it is instead of opening and closing it
    (a second app in the same process, as tests run them).
    """
    settings.ensure_safe()
    redis = lifecycle.live_redis(settings.require_redis_url(), settings.redis_timeout_s)
    app = web.Application(
        middlewares=[
            cors_middleware(settings.cors_origins),
            request_middleware,
            csrf_middleware(settings.cors_origins, settings.public_url),
        ],
        client_max_size=MAX_JSON_BODY,  # read_json relies on it
    )
    install_security_headers(app, csp_sources(settings.captcha_provider))
    placement = _placement(settings, redis)
    sio = create_socket_server(settings, client_manager=_client_manager(settings, placement))
    sio.attach(app)
    app[SIO] = sio
    svc = build_services(settings, redis, SocketNotifier(sio), placement)
    app[SERVICES] = svc
    handlers = GameSocketHandlers(
        sio,
        svc.room,
        svc.tasks,
        trusted_proxies=settings.trusted_proxy_networks,
        events_per_s=settings.socket_events_per_s,
        drop_events_per_s=settings.socket_events_drop_per_s,
        game_over_grace_s=settings.game_over_grace_s,
    )
    workers = BackgroundWorkers(
        redis,
        settings.redis_prefix,
        svc.flow,
        svc.room,
        svc.delivery,
        placement,
        subscriber=subscriber_redis(settings.require_redis_url()) if placement else None,
    )

    for router in ROUTERS:
        router.install(app)
    docs.install(app, openapi_document())
    app.router.add_get("/metrics", metrics_endpoint(settings.metrics_token, settings.debug))
    web_app.install(app, settings.web_build_dir)  # last: its catch-all answers the rest

    # One cleanup context per resource, in dependency order: aiohttp starts them in
    # this order and stops them in the reverse one (classquiz/lifecycle.py).
    slow_stop = lifecycle.SlowStopReport(6.0)
    app.on_shutdown.append(slow_stop.start)
    app.on_cleanup.append(slow_stop.end)
    app.on_shutdown.append(lifecycle.socket_drain(handlers.sio, handlers.in_flight))
    app.cleanup_ctx.extend(
        [
            lifecycle.error_tracking(settings),
            lifecycle.captcha(svc.captcha),
            lifecycle.redis_connection(redis),
            lifecycle.database(settings.database_url_asyncpg, own=own_database),
            lifecycle.media_storage(svc.media),
            lifecycle.results_retry(svc.results),
            lifecycle.game_tasks(svc.tasks),
            lifecycle.background(workers),
            lifecycle.sweeper(handlers.sweeper),
            search_lifecycle(svc.search, svc.search_indexer),
        ]
    )
    return app


def openapi_document() -> dict[str, Any]:
    """The REST contract (OpenAPI 3.1) of every router: served at /api/openapi.json and
    printed by `python -m classquiz openapi` for the web app's generated types."""
    endpoints = [ep for router in ROUTERS for ep in router.endpoints]
    return build_openapi(endpoints, __version__)


def _placement(settings: Settings, redis: Redis) -> GamePlacement | None:
    """Where games live, when several processes serve them and locality is on (with it
    off, every emit of every game crosses every process, as python-socketio does)."""
    if not (settings.socketio_redis_manager and settings.game_locality):
        return None
    return GamePlacement(
        redis, settings.redis_prefix, uuid.uuid4().hex, buckets=settings.redis_buckets
    )


def _client_manager(settings: Settings, placement: GamePlacement | None) -> socketio.AsyncManager:
    """Share emits across processes through Redis when several serve the same games."""
    if not settings.socketio_redis_manager:
        return LoopingAsyncManager()
    url = settings.require_redis_url()
    return LoopingRedisManager(
        node_url(url),  # pub/sub: on a cluster, any node reaches them all
        channel=f"{settings.redis_prefix}:socketio",
        placement=placement,
        subscriber=subscriber_redis(url) if placement is not None else None,
    )
