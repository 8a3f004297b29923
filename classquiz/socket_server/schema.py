"""The Socket.IO contract as one machine-readable AsyncAPI 3.0 document, generated.

Everything here is derived from the contracts: the handshake of
`contracts.handshake`, and every event's record in `contracts.socket_events`
(its payload or model, ack, error codes, role or audience and summary), which
the handlers dispatch through too, so the document cannot drift from what the
handlers validate; `docs/asyncapi.json`
is this document as `python -m classquiz schema` prints it, and the server
serves it at `GET /api/asyncapi.json`.

The document describes the server: its `receive` operations are the events a
client emits (each with its acknowledgement as the `reply`), its `send`
operations the events a client listens for.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from classquiz.contracts.handshake import HANDSHAKE, REFUSAL_CODES
from classquiz.contracts.socket_events import CLIENT_EVENTS, SERVER_EVENTS
from classquiz.version import __version__

SCHEMA_REF = "#/components/schemas/{model}"
CHANNEL = "game"


class _Generator(GenerateJsonSchema):
    """Pydantic's JSON Schema without the per-field titles (the field names say it)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _component_schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    unique = list(dict.fromkeys(models))
    _, top = models_json_schema(
        [(model, "validation") for model in unique],
        ref_template=SCHEMA_REF,
        schema_generator=_Generator,
    )
    defs: dict[str, Any] = top.get("$defs", {})
    names = [model.__name__ for model in unique]
    if len(set(names)) != len(names):
        raise RuntimeError(f"two socket models share a name: {sorted(names)}")
    return {name: _asyncapi_schema(defs[name]) for name in sorted(defs)}


def _asyncapi_schema(node: Any) -> Any:
    """Pydantic's JSON Schema as an AsyncAPI schema object.

    The one difference that matters: pydantic writes OpenAPI's `discriminator`
    object on tagged unions, where AsyncAPI's `discriminator` is a property name
    of a parent schema. The `oneOf` variants carry their tag as a `const`, which
    is all a validator needs, so the object is left out.
    """
    if isinstance(node, dict):
        return {
            key: _asyncapi_schema(value)
            for key, value in node.items()
            if not (key == "discriminator" and isinstance(value, dict) and "propertyName" in value)
        }
    if isinstance(node, list):
        return [_asyncapi_schema(item) for item in node]
    return node


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": SCHEMA_REF.format(model=model.__name__)}


def _message_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/channels/{CHANNEL}/messages/{name}"}


def _message(name: str, model: type[BaseModel], summary: str, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": name,
        "title": name,
        "summary": summary,
        "contentType": "application/json",
        "payload": _ref(model),
    }
    message.update(extra)
    return message


# The query string of every Engine.IO request (docs/protocol.md, "The PIN in the query
# string"): a routing hint for balancers that the server never reads.
ROUTING_QUERY_BINDING: dict[str, Any] = {
    "bindingVersion": "0.1.0",
    "query": {
        "type": "object",
        "properties": {
            "pin": {
                "type": "string",
                "pattern": "^[0-9]{6}$",
                "description": (
                    "Optional: the game's PIN, so that a balancer in front of several "
                    "server processes sends the whole game to one of them. The server "
                    "ignores it; the handshake's `auth` decides the role and the game."
                ),
            }
        },
    },
}


def build_asyncapi(version: str | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the default Socket.IO namespace."""
    if version is None:
        version = __version__
    schemas = _component_schemas(
        [
            *HANDSHAKE.values(),
            *(event.payload for event in CLIENT_EVENTS.values()),
            *(event.ack for event in CLIENT_EVENTS.values()),
            *(event.model for event in SERVER_EVENTS.values()),
        ]
    )
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    channel_ref = {"$ref": f"#/channels/{CHANNEL}"}

    messages["connect"] = _message(
        "connect",
        HANDSHAKE["auth"],
        "The handshake's `auth` object (Socket.IO CONNECT packet); it decides the role.",
        **{"x-socketio-packet": "CONNECT"},
    )
    messages["connect_error"] = _message(
        "connect_error",
        HANDSHAKE["connect_error"],
        "The handshake was refused; `code` (and `data.code`) says why.",
        **{"x-socketio-packet": "CONNECT_ERROR", "x-refusal-codes": list(REFUSAL_CODES)},
    )
    operations["connect"] = {
        "action": "receive",
        "channel": channel_ref,
        "summary": "A client connects with an `auth` object; accepted, it gets `welcome`.",
        "messages": [_message_ref("connect")],
        "reply": {"channel": channel_ref, "messages": [_message_ref("connect_error")]},
    }

    for event, spec in CLIENT_EVENTS.items():
        ack = f"{event}_ack"
        codes = list(spec.error_codes)
        messages[event] = _message(event, spec.payload, spec.summary, **{"x-role": spec.role})
        messages[ack] = _message(
            ack,
            spec.ack,
            f"The acknowledgement of `{event}`: `ok: true` with data, or `ok: false` and an error.",
            **{"x-error-codes": codes},
        )
        operations[f"receive_{event}"] = {
            "action": "receive",
            "channel": channel_ref,
            "summary": spec.summary,
            "messages": [_message_ref(event)],
            "reply": {"channel": channel_ref, "messages": [_message_ref(ack)]},
            "x-role": spec.role,
            "x-error-codes": codes,
        }

    for event, sent in SERVER_EVENTS.items():
        messages[event] = _message(event, sent.model, sent.summary, **{"x-audience": sent.audience})
        operations[f"send_{event}"] = {
            "action": "send",
            "channel": channel_ref,
            "summary": sent.summary,
            "messages": [_message_ref(event)],
            "x-audience": sent.audience,
        }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "ClassQuiz live games (Socket.IO)",
            "version": version,
            "description": (
                "The Socket.IO v5 contract of ClassQuiz live games, generated from the "
                "server's pydantic models (python -m classquiz schema). This document "
                "describes the server: `receive` operations are the events a client emits, "
                "each acknowledged by its `reply`; `send` operations are the events a client "
                "listens for. Every event carries one JSON object as its only argument; "
                "a connection that sends a binary frame or attachment is closed. "
                "Explained for client developers in docs/protocol.md."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "websocket": {
                "host": "localhost:8000",
                "protocol": "ws",
                "pathname": "/socket.io/",
                "description": "Socket.IO over WebSocket (EIO=4, transport=websocket).",
            },
            "polling": {
                "host": "localhost:8000",
                "protocol": "http",
                "pathname": "/socket.io/",
                "description": (
                    "Socket.IO over HTTP long-polling, upgraded to WebSocket when possible; "
                    "behind several server processes every request of a session must reach "
                    "the same process (send the PIN in the query, or keep the balancer's "
                    "cookie)."
                ),
            },
        },
        "channels": {
            CHANNEL: {
                "address": "/",
                "title": "Default namespace",
                "description": "One namespace for hosts and players; the handshake sets the role.",
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
                "bindings": {"ws": ROUTING_QUERY_BINDING},
            }
        },
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def render_asyncapi(version: str | None = None) -> str:
    """The document as `docs/asyncapi.json` holds it (stable key order, final newline)."""
    return json.dumps(build_asyncapi(version), indent=2, ensure_ascii=False) + "\n"
