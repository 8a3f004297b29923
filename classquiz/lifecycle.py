"""How the app's resources start and stop: one aiohttp cleanup context each.

aiohttp runs cleanup contexts in the order they were appended up to their
`yield` at start-up, and in the reverse order after it at shutdown, so
appending them in dependency order (what is needed first, first) stops each
one before what it depends on: the Socket.IO sweeper and the background loops
before the game tasks they start are drained, those before the results they
store, the results before the database, everything before Redis.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from classquiz.config import Settings
from classquiz.db.engine import connect_database, disconnect_database
from classquiz.error_tracking import start_error_tracking, stop_error_tracking
from classquiz.library_seam import EngineHookedServer
from classquiz.redis_connect import connect_redis
from classquiz.services.background import BackgroundWorkers
from classquiz.services.captcha import CaptchaVerifier
from classquiz.services.media import MediaService
from classquiz.services.results import ResultService
from classquiz.services.tasks import KeptTasks
from classquiz.socket_server.drain import InFlight, drain_sockets
from classquiz.socket_server.sweeper import GameOverSweeper

log = logging.getLogger("classquiz")
CleanupContext = Callable[[web.Application], AsyncIterator[None]]
ShutdownHook = Callable[[web.Application], Awaitable[None]]
# The sockets' part of a stop (SIGTERM): well inside the 10 s a process has to drain.
SOCKET_DRAIN_S = 5.0
# How long the stop waits for the game services' background work (a result being stored).
GAME_TASKS_DRAIN_S = 3.0


def live_redis(url: str, timeout_s: float) -> Redis:
    """The app's Redis client, made to fail fast and plainly while Redis is away.

    A command waits at most `timeout_s` for its reply (redis-py waits forever by
    default), so a hung Redis costs a client a `service_unavailable` ack, not a
    silent hang. Only connection errors are retried, twice within about 0.3 s:
    that replaces the pooled connections a Redis restart left dead, while a Redis
    that is really down is reported at once instead of after redis-py's default
    back-off of up to 14 s. A timeout is never retried: the command may have run,
    and running a script that is not idempotent twice would be wrong (the answer
    script is: a second run says `already_answered`).
    """
    retry = Retry(
        ExponentialWithJitterBackoff(base=0.05, cap=0.25),
        retries=2,
        supported_errors=(RedisConnectionError,),
    )
    return connect_redis(  # one Redis, or a Redis Cluster (redis+cluster://)
        url,
        health_check_interval=30,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=retry,
    )


def redis_connection(redis: Redis) -> CleanupContext:
    """The app's Redis client: opened lazily by its first command, closed last."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        yield
        await redis.aclose()

    return context


def database(asyncpg_url: str, *, own: bool) -> CleanupContext:
    """The shared Ormar connection, opened and closed only by the app that owns it
    (a second app in the same process, as tests run them, uses it as it is)."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        if own:
            await connect_database(asyncpg_url)
        log.info("connected to the database and Redis")
        yield
        if own:
            await disconnect_database()

    return context


def results_retry(results: ResultService) -> CleanupContext:
    """The results loop: it stores results parked while the database was down and, with
    RESULTS_RETENTION_DAYS, deletes results past their retention period."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        results.start()
        yield
        await results.stop()

    return context


def game_tasks(tasks: KeptTasks) -> CleanupContext:
    """Nothing to start; at shutdown, the game services' background work is waited for
    (a result being stored, a count on its way to the host)."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        yield
        try:
            await asyncio.wait_for(tasks.drain(), GAME_TASKS_DRAIN_S)
        except TimeoutError:
            # A stop must end: what did not finish is either parked in Redis (results,
            # stored by the next process's retry pass) or not worth waiting for.
            log.warning("stopped with %d game tasks still running", len(tasks))

    return context


def background(workers: BackgroundWorkers) -> CleanupContext:
    """Deadlines, abandoned-game timers and the fan-out listener."""
    return _started(workers.start, workers.stop)


def sweeper(sweeper: GameOverSweeper) -> CleanupContext:
    """Closing this process's sockets of games that are over."""

    async def start() -> None:
        sweeper.start()

    return _started(start, sweeper.stop)


def captcha(verifier: CaptchaVerifier | None) -> CleanupContext:
    """The captcha verifier's HTTP client, closed at shutdown (nothing when off)."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        yield
        if verifier is not None:
            await verifier.close()

    return context


def error_tracking(settings: Settings) -> CleanupContext:
    """Sentry, when SENTRY_DSN is set: started with the app, flushed and stopped at its end."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        on = start_error_tracking(settings)
        yield
        if on:
            stop_error_tracking()

    return context


def _started(
    start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]]
) -> CleanupContext:
    async def context(app: web.Application) -> AsyncIterator[None]:
        await start()
        yield
        await stop()

    return context


def media_storage(media: MediaService) -> CleanupContext:
    """The picture storage's client (S3 keeps one open connection pool), closed at the end."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        yield
        await media.close()

    return context


class SlowStopReport:
    """If a stop is still going `after_s` after it began, log what every pending task is
    waiting on, once (a stop must end within 10 s; this says why it did not).

    `start` is an `on_shutdown` hook, `end` an `on_cleanup` one (it runs after the
    cleanup contexts): a stop that ends in time reports nothing."""

    def __init__(self, after_s: float) -> None:
        self.after_s = after_s
        self.task: asyncio.Future[None] | None = None

    async def start(self, app: web.Application) -> None:
        self.task = asyncio.ensure_future(self._report())

    async def end(self, app: web.Application) -> None:
        if self.task is not None:
            self.task.cancel()

    async def _report(self) -> None:
        await asyncio.sleep(self.after_s)
        lines = []
        for task in asyncio.all_tasks():
            if task is asyncio.current_task():
                continue
            frames = task.get_stack(limit=8)
            where = " <- ".join(
                f"{f.f_code.co_name} ({f.f_code.co_filename.rsplit('/', 2)[-1]}:{f.f_lineno})"
                for f in reversed(frames)
            )
            lines.append(f"{task.get_name()}: {where or task.get_coro()!r}")
        log.warning(
            "the stop is still running after %.0f s; %d tasks wait:\n%s",
            self.after_s,
            len(lines),
            "\n".join(lines),
        )


def stop_deadline(after_s: float) -> ShutdownHook:
    """An `on_shutdown` hook for a serving process (never a test app, which shares its
    process): if the stop has not ended `after_s` after it began, the process exits at
    once. The drain promises 10 s; anything still unfinished then is either parked in
    Redis (results, stored by another process's retry pass) or a client's connection,
    which reconnects elsewhere."""

    def give_up() -> None:
        log.error("the stop did not end within %.0f s; exiting now", after_s)
        logging.shutdown()
        os._exit(1)

    async def hook(app: web.Application) -> None:
        timer = threading.Timer(after_s, give_up)
        timer.daemon = True
        timer.start()

    return hook


def socket_drain(server: EngineHookedServer, in_flight: InFlight) -> ShutdownHook:
    """An `on_shutdown` hook: aiohttp has stopped accepting connections and runs it
    before it waits for open requests (a WebSocket is one) and before any cleanup
    context stops, so answers in flight still reach Redis and acks reach clients,
    and clients reconnect to another process (socket_server/drain.py)."""

    async def hook(app: web.Application) -> None:
        await drain_sockets(server, in_flight, SOCKET_DRAIN_S)

    return hook
