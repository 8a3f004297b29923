"""Building the python-socketio server with the transport settings of SPEC §2 and §4."""

from __future__ import annotations

import socketio

from classquiz.config import Settings


def socketio_origins(settings: Settings) -> str | list[str]:
    """The same origins as REST CORS: `*` stays a wildcard."""
    return "*" if "*" in settings.cors_origins else list(settings.cors_origins)


def create_socket_server(
    settings: Settings, client_manager: socketio.AsyncManager | None = None
) -> socketio.AsyncServer:
    import orjson

    class OrjsonCodec:
        """python-socketio's `json` hook: orjson encodes each broadcast once, fast."""

        @staticmethod
        def dumps(obj: object, **_: object) -> str:
            return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()

        @staticmethod
        def loads(text: str | bytes, **_: object) -> object:
            return orjson.loads(text)

    return socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=client_manager,
        cors_allowed_origins=socketio_origins(settings),
        ping_interval=settings.ping_interval_s,
        ping_timeout=settings.ping_timeout_s,
        max_http_buffer_size=settings.max_message_bytes,
        json=OrjsonCodec,
        logger=False,
        engineio_logger=False,
    )
