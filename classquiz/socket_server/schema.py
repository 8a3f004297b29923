"""The Socket.IO contract as one machine-readable AsyncAPI 3.0 document, generated.

Everything here is derived from the models: the client → server payloads of
`payloads.EVENT_PAYLOADS`, and the handshake, server events and acks of
`events`. Nothing is written by hand but the one-line summaries, so the
document cannot drift from what the handlers validate; `docs/asyncapi.json`
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

from classquiz.contracts.acks import ACK_ERRORS, CLIENT_ACKS, CLIENT_EVENT_ROLE, COMMON_ACK_ERRORS
from classquiz.contracts.client_events import EVENT_PAYLOADS
from classquiz.contracts.handshake import HANDSHAKE, REFUSAL_CODES
from classquiz.contracts.server_events import SERVER_EVENT_AUDIENCE, SERVER_EVENTS

SCHEMA_REF = "#/components/schemas/{model}"
CHANNEL = "game"

CLIENT_EVENT_SUMMARY: dict[str, str] = {
    "start_game": "Open the first question (from the lobby).",
    "end_question": "Close the open question now.",
    "next_question": "Open the next question (in reveal); after the last one, finish the game.",
    "end_game": "Finish the game from any state; answers already given count.",
    "kick_player": "Remove a player (with `ban`, its token and nickname stay refused).",
    "lock_game": "Stop (or resume) accepting new players.",
    "get_leaderboard": "A page of the current leaderboard.",
    "submit_answer": "Answer the open question; the first answer counts.",
    "reroll_nickname": "Draw another generated nickname (lobby, generated mode, 3 times).",
    "leave": "Leave the game for good; the nickname is freed and the socket disconnected.",
}

SERVER_EVENT_SUMMARY: dict[str, str] = {
    "welcome": "Snapshot of the game (and of the player) for a newly accepted connection.",
    "player_joined": "A new player joined.",
    "player_left": "A player left, or was kicked or banned.",
    "player_renamed": "A player drew another generated nickname.",
    "player_status": "A player's connection dropped or returned.",
    "question_started": "A question opened.",
    "answer_count": "Answers so far to the open question (at most 10 a second).",
    "question_ended": "The question closed: the right answer, the distribution, the top 5.",
    "your_result": "This player's outcome of the question that just ended.",
    "game_finished": "The game is over: the podium.",
    "final_result": "This player's final standing.",
    "kicked": "This player was removed; the server disconnects it next.",
    "host_status": "The host's connection dropped or returned.",
    "replaced": "Another connection took over this token; the server disconnects this one.",
}


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


def build_asyncapi(version: str | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the default Socket.IO namespace."""
    if version is None:
        from classquiz import __version__ as version

    missing = set(EVENT_PAYLOADS) ^ set(CLIENT_ACKS)
    if missing:
        raise RuntimeError(f"client events without both a payload and an ack model: {missing}")

    schemas = _component_schemas(
        [
            *HANDSHAKE.values(),
            *EVENT_PAYLOADS.values(),
            *CLIENT_ACKS.values(),
            *SERVER_EVENTS.values(),
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

    for event, payload in EVENT_PAYLOADS.items():
        ack = f"{event}_ack"
        codes = list(dict.fromkeys(ACK_ERRORS[event] + COMMON_ACK_ERRORS))
        messages[event] = _message(
            event,
            payload,
            CLIENT_EVENT_SUMMARY[event],
            **{"x-role": CLIENT_EVENT_ROLE[event]},
        )
        messages[ack] = _message(
            ack,
            CLIENT_ACKS[event],
            f"The acknowledgement of `{event}`: `ok: true` with data, or `ok: false` and an error.",
            **{"x-error-codes": codes},
        )
        operations[f"receive_{event}"] = {
            "action": "receive",
            "channel": channel_ref,
            "summary": CLIENT_EVENT_SUMMARY[event],
            "messages": [_message_ref(event)],
            "reply": {"channel": channel_ref, "messages": [_message_ref(ack)]},
            "x-role": CLIENT_EVENT_ROLE[event],
            "x-error-codes": codes,
        }

    for event, model in SERVER_EVENTS.items():
        messages[event] = _message(
            event,
            model,
            SERVER_EVENT_SUMMARY[event],
            **{"x-audience": SERVER_EVENT_AUDIENCE[event]},
        )
        operations[f"send_{event}"] = {
            "action": "send",
            "channel": channel_ref,
            "summary": SERVER_EVENT_SUMMARY[event],
            "messages": [_message_ref(event)],
            "x-audience": SERVER_EVENT_AUDIENCE[event],
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
                    "behind several server processes it needs sticky sessions."
                ),
            },
        },
        "channels": {
            CHANNEL: {
                "address": "/",
                "title": "Default namespace",
                "description": "One namespace for hosts and players; the handshake sets the role.",
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
            }
        },
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def render_asyncapi(version: str | None = None) -> str:
    """The document as `docs/asyncapi.json` holds it (stable key order, final newline)."""
    return json.dumps(build_asyncapi(version), indent=2, ensure_ascii=False) + "\n"
