"""Command line: `python -m classquiz serve|migrate|reindex|schema|openapi`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from classquiz.config import InsecureConfiguration, Settings
from classquiz.observability import setup_logging

log = logging.getLogger("classquiz")
SHUTDOWN_OPEN_REQUESTS_S = 2.0


def _settings(zero_config: bool) -> Settings:
    from classquiz.devservers import local_secret_key, resolve_storage

    settings = Settings()
    setup_logging(settings.effective_log_level, settings.debug)
    if zero_config and not settings.database_url:
        settings = local_secret_key(settings)
    return resolve_storage(settings)


def cmd_migrate(args: argparse.Namespace) -> int:
    from classquiz.db.migrate import current_revision, upgrade_database

    settings = _settings(zero_config=False)
    upgrade_database(settings.require_database_url())
    log.info("database schema at revision %s", current_revision(settings.require_database_url()))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from classquiz import create_app
    from classquiz.db.migrate import upgrade_database

    settings = _settings(zero_config=True)
    try:
        settings.ensure_safe()
    except InsecureConfiguration as exc:
        log.error("refusing to start: %s", exc)
        return 2
    if not os.environ.get("CLASSQUIZ_SKIP_MIGRATE"):
        upgrade_database(settings.require_database_url())
    if args.workers > 1:
        from classquiz.workers import run_workers

        return run_workers(settings, args.host, args.port, args.workers)
    app = create_app(settings)
    if settings.gc_scheduled:
        from classquiz.gc_policy import CollectionPolicy, scheduled_collections

        app.cleanup_ctx.append(scheduled_collections(CollectionPolicy()))
    log.info("serving on http://%s:%s (API docs at /api/docs)", args.host, args.port)
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        print=None,
        access_log=None,
        loop=_event_loop(settings.event_loop),
        # After the sockets' drain (lifecycle.SOCKET_DRAIN_S), what is still open (a
        # long-poll on its way) gets this long before the cleanup stores what is left:
        # the whole stop stays within the 10 s promised in docs/operations.md.
        shutdown_timeout=SHUTDOWN_OPEN_REQUESTS_S,
    )
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
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
