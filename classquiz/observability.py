"""Logs, request ids and Prometheus metrics.

Logs are JSON lines for machines (operators parse them) and one readable line per
record for a person at a terminal: `LOG_FORMAT=auto` picks by whether standard
error is a terminal. Every REST request gets an id (taken from a sane incoming
`X-Request-ID` or drawn) that is echoed in the response and attached to every
log line written while the request is handled.
"""

from __future__ import annotations

import asyncio
import contextvars
import hmac
import logging
import os
import re
import sys
import time
import uuid
from collections import Counter as Counter_
from collections.abc import Awaitable, Callable, Iterator
from typing import Literal, TextIO

import asyncpg
import orjson
import redis.exceptions
import sqlalchemy.exc
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pythonjsonlogger.json import JsonFormatter

from classquiz.error_tracking import report_unhandled
from classquiz.errors import Refusal
from classquiz.routers.refusals import refusal_response

# Connection failures of PostgreSQL or Redis: the request may succeed later (503, not 500).
STORAGE_DOWN: tuple[type[BaseException], ...] = (
    OSError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
log = logging.getLogger("classquiz.http")

HTTP_REQUESTS = Counter(
    "classquiz_http_requests_total", "REST requests handled", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "classquiz_http_request_duration_seconds",
    "REST request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


SOCKET_EVENTS = Counter(
    "classquiz_socket_events_total", "Socket.IO client events handled", ["event", "outcome"]
)
SOCKET_EVENT_LATENCY = Histogram(
    "classquiz_socket_event_duration_seconds",
    "Time to handle a Socket.IO client event",
    ["event"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)
SOCKET_CONNECTIONS = Gauge(
    "classquiz_socket_connections", "Admitted Socket.IO connections on this process", ["role"]
)
SOCKET_REFUSALS = Counter(
    "classquiz_socket_refusals_total", "Refused Socket.IO handshakes", ["code"]
)
GC_PAUSE = Histogram(
    "classquiz_gc_pause_seconds",
    "Garbage collector pauses of the event loop (classquiz/gc_policy.py)",
    ["generation"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)


class OpenTasks(Collector):
    """`classquiz_asyncio_tasks{coroutine}`: the tasks not yet done on the loop /metrics
    is served from, by the name of the coroutine each one runs.

    A soak (bench/soak) reads it to see that games played back to back leave no
    task behind, and when some do, which code they are stuck in: a leak of tasks
    is a leak of memory that RSS shows only much later. Read outside a running
    loop (a scrape from another thread) it reports nothing."""

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "classquiz_asyncio_tasks",
            "Tasks not yet done on this process's loop, by coroutine",
            labels=["coroutine"],
        )
        try:
            tasks = asyncio.all_tasks()
        except RuntimeError:
            tasks = set()
        counts = Counter_(_coroutine_name(task) for task in tasks)
        for name, count in sorted(counts.items()):
            family.add_metric([name], count)
        yield family


def _coroutine_name(task: asyncio.Task[object]) -> str:
    coro = task.get_coro()
    return str(getattr(coro, "__qualname__", None) or type(coro).__name__)


REGISTRY.register(OpenTasks())


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


LogFormat = Literal["json", "text"]

# Libraries whose INFO lines are start-up chatter for an operator: Alembic announces
# its context on every start (the server logs the schema revision itself instead).
_QUIET_LOGGERS = ("aiohttp.access", "engineio.server", "socketio.server", "alembic")

_LEVEL_COLOURS = {
    "DEBUG": "\x1b[2m",
    "INFO": "\x1b[32m",
    "WARNING": "\x1b[33m",
    "ERROR": "\x1b[31m",
    "CRITICAL": "\x1b[1;31m",
}


def choose_log_format(setting: str, stream_is_terminal: bool, debug: bool) -> LogFormat:
    """`json` or `text` for the `LOG_FORMAT` setting (`auto`, `json` or `text`).

    `auto` gives a person at a terminal (or a developer in debug mode) readable
    lines and everything else (a pipe, a file, a container's log driver) JSON,
    so nothing that collects logs has to be configured to get JSON.
    """
    if setting == "json":
        return "json"
    if setting == "text":
        return "text"
    return "text" if stream_is_terminal or debug else "json"


def wants_colour(stream_is_terminal: bool, environ: dict[str, str]) -> bool:
    """Colour only on a terminal that is not `dumb`, and never with `NO_COLOR` set."""
    return stream_is_terminal and "NO_COLOR" not in environ and environ.get("TERM") != "dumb"


class ReadableFormatter(logging.Formatter):
    """`HH:MM:SS LEVEL logger: message [request id]`, for a person reading a terminal.

    Lines of a multi-line message (a traceback, an embedded server's output) are
    indented under their record, so each record still starts at the left margin.
    """

    def __init__(self, colour: bool) -> None:
        super().__init__(datefmt="%H:%M:%S")
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        elif record.exc_text:
            message = f"{message}\n{record.exc_text}"
        request_id = getattr(record, "request_id", None)
        if request_id:
            message = f"{message} [request {request_id}]"
        level = f"{record.levelname:<7}"
        if self.colour:
            level = f"{_LEVEL_COLOURS.get(record.levelname, '')}{level}\x1b[0m"
        first, *rest = message.split("\n")
        head = f"{self.formatTime(record, self.datefmt)} {level} {record.name}: {first}"
        return "\n".join([head, *(f"    {line}" for line in rest)])


def setup_logging(
    level: str, debug: bool, log_format: str = "auto", stream: TextIO | None = None
) -> LogFormat:
    """Send every log record to standard error in the chosen format; returns the format."""
    stream = stream if stream is not None else sys.stderr
    is_terminal = _is_terminal(stream)
    chosen = choose_log_format(log_format, is_terminal, debug)
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    if chosen == "text":
        handler.setFormatter(ReadableFormatter(wants_colour(is_terminal, dict(os.environ))))
    else:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in _QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    return chosen


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or file-less stream
        return False


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def request_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id, error bodies in the SPEC §2 shape, metrics and an access log line."""
    incoming = request.headers.get("X-Request-ID", "")
    request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    route = _route_name(request)
    try:
        try:
            response = await handler(request)
        except Refusal as exc:
            response = refusal_response(exc)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
                exc.status, "http_error"
            )
            response = web.Response(
                body=orjson.dumps({"error": {"code": code, "message": exc.reason}}),
                status=exc.status,
                content_type="application/json",
            )
        except STORAGE_DOWN as exc:
            log.warning("storage unavailable on %s %s: %s", request.method, request.path, exc)
            response = refusal_response(
                Refusal("service_unavailable", "storage is unavailable; try again soon"),
                headers={"Retry-After": "5"},
            )
        except Exception:
            report_unhandled()  # Sentry, when SENTRY_DSN is set (error_tracking.py)
            log.exception("unhandled error on %s %s", request.method, request.path)
            response = web.Response(
                body=orjson.dumps(
                    {
                        "error": {
                            "code": "internal_error",
                            "message": "something went wrong on the server",
                            "details": [{"request_id": request_id}],
                        }
                    }
                ),
                status=500,
                content_type="application/json",
            )
        response.headers["X-Request-ID"] = request_id
        return response
    finally:
        elapsed = time.perf_counter() - started
        status = getattr(locals().get("response"), "status", 500)
        if route != "/metrics":
            HTTP_REQUESTS.labels(request.method, route, str(status)).inc()
            HTTP_LATENCY.labels(request.method, route).observe(elapsed)
        log.debug("%s %s -> %s in %.1f ms", request.method, request.path, status, elapsed * 1000)
        request_id_var.reset(token)


def metrics_endpoint(token: str | None, debug: bool) -> Handler:
    """The /metrics handler: with `METRICS_TOKEN` set, only `Bearer <token>` may scrape.

    Without a token it is served only in debug mode and is a plain 404
    otherwise, so a production server never shows its internals (game counts,
    error rates, latencies) to anyone who finds the URL.
    """
    expected = f"Bearer {token}".encode() if token else None

    async def metrics_handler(request: web.Request) -> web.Response:
        if expected is None and not debug:
            raise web.HTTPNotFound()
        if expected is not None:
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return refusal_response(
                    Refusal("not_authenticated", "send Authorization: Bearer <METRICS_TOKEN>"),
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return metrics_handler
