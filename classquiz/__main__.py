"""Command line: `python -m classquiz serve|migrate|reindex|schema|openapi`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys

from pydantic import ValidationError

from classquiz.config import InsecureConfiguration, Settings
from classquiz.devservers import EmbeddedServerFailed, local_secret_key, resolve_storage
from classquiz.observability import setup_logging

log = logging.getLogger("classquiz")
SHUTDOWN_OPEN_REQUESTS_S = 2.0
# The stop's hard limit (lifecycle.stop_deadline), inside the 10 s the drain promises.
STOP_DEADLINE_S = 9.0


def _settings(zero_config: bool) -> Settings:
    settings = Settings()
    setup_logging(settings.effective_log_level, settings.debug, settings.log_format)
    if zero_config and not settings.database_url:
        settings = local_secret_key(settings)
    return resolve_storage(settings)


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(zero_config=False)
    _migrate(settings.require_database_url())
    return 0


def _migrate(database_url: str) -> None:
    """Bring the schema up to date and say in one line what that did."""
    from classquiz.db.migrate import current_revision, upgrade_database

    before = current_revision(database_url)
    upgrade_database(database_url)
    after = current_revision(database_url)
    if before == after:
        log.info("database schema up to date (revision %s)", after)
    else:
        log.info("database schema upgraded from revision %s to %s", before or "none", after)


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from classquiz import create_app
    from classquiz.startup import SUPERVISED_ENV, announce_ready, announce_when_workers_ready
    from classquiz.workers import follow_supervisor, run_workers

    if not follow_supervisor():
        log.error("the supervisor that started this worker is gone; not starting")
        return 1
    settings = _settings(zero_config=True)
    try:
        settings.ensure_safe()
    except InsecureConfiguration as exc:
        log.error("refusing to start: %s", exc)
        return 2
    # Named on the ready line only when set: the default says nothing the bind does not.
    public_url = settings.public_url if "public_url" in settings.model_fields_set else None
    if not os.environ.get("CLASSQUIZ_SKIP_MIGRATE"):
        _migrate(settings.require_database_url())
    if args.workers > 1:
        # Workers inherit the environment: they leave the ready line to this process.
        os.environ[SUPERVISED_ENV] = "1"
        announce_when_workers_ready(args.host, args.port, args.workers, public_url)
        return run_workers(settings, args.host, args.port, args.workers)
    from classquiz import lifecycle

    app = create_app(settings)
    # A last resort: whatever a stop waits on, the process is gone within the 10 s promised.
    app.on_shutdown.insert(0, lifecycle.stop_deadline(STOP_DEADLINE_S))
    if settings.gc_scheduled:
        from classquiz.gc_policy import CollectionPolicy, scheduled_collections

        app.cleanup_ctx.append(scheduled_collections(CollectionPolicy()))
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        # aiohttp calls `print` once the site listens, after every start-up hook ran.
        print=lambda _banner: announce_ready(args.host, args.port, public_url),
        access_log=None,
        loop=_event_loop(settings.event_loop),
        # After the sockets' drain (lifecycle.SOCKET_DRAIN_S), what is still open (a
        # long-poll on its way) gets this long before the cleanup stores what is left:
        # the whole stop stays within the 10 s promised in docs/operations.md.
        shutdown_timeout=SHUTDOWN_OPEN_REQUESTS_S,
    )
    # Everything is stored and closed. What is left is the interpreter's own teardown,
    # whose garbage collection walks the whole heap (seconds on a busy machine, measured
    # up to 9 s): frozen objects are not walked, so the process exits in time.
    gc.freeze()
    return 0


def _event_loop(kind: str) -> asyncio.AbstractEventLoop:
    """uvloop by default: its transports make the per-socket writes of a broadcast to
    thousands of players markedly cheaper than the standard selector loop."""
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def cmd_reindex(args: argparse.Namespace) -> int:
    from classquiz.search.reindex import reindex_command

    settings = _settings(zero_config=False)
    return reindex_command(settings, progress_bar=not args.no_progress)


def cmd_schema(args: argparse.Namespace) -> int:
    from classquiz.socket_server.schema import render_asyncapi

    sys.stdout.write(render_asyncapi())
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    import json

    from classquiz import openapi_document

    sys.stdout.write(json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m classquiz", description="ClassQuiz server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server (migrates the database first)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes on consecutive ports from --port, sharing Redis",
    )
    serve.set_defaults(func=cmd_serve)
    migrate = sub.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(func=cmd_migrate)
    reindex = sub.add_parser("reindex", help="rebuild the search index from the database")
    reindex.add_argument("--no-progress", action="store_true", help="no progress bar")
    reindex.set_defaults(func=cmd_reindex)
    schema = sub.add_parser("schema", help="print the Socket.IO contract (AsyncAPI 3.0 JSON)")
    schema.set_defaults(func=cmd_schema)
    openapi = sub.add_parser("openapi", help="print the REST contract (OpenAPI 3.1 JSON)")
    openapi.set_defaults(func=cmd_openapi)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except EmbeddedServerFailed:
        return 1  # what it said is in the log already
    except ValidationError as exc:
        # A setting from the environment or .env is wrong: say which, without a traceback.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        sys.stderr.write(f"classquiz: invalid setting: {problems}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
