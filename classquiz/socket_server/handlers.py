"""Socket.IO event handlers: validate, call a service, acknowledge. Nothing more.

Every client event is acknowledged with `{ok: true, ...}` or
`{ok: false, error: {code, message, field?}}`. A payload that fails validation
gets `invalid_payload` naming the field; an event of the other role `forbidden`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from pydantic import ValidationError

from classquiz.contracts.client_events import EventPayload
from classquiz.contracts.socket_events import CLIENT_EVENTS, ClientEvent
from classquiz.errors import Refusal
from classquiz.library_seam import not_handled
from classquiz.observability import (
    SOCKET_CONNECTIONS,
    SOCKET_EVENT_LATENCY,
    SOCKET_EVENTS,
    SOCKET_REFUSALS,
    STORAGE_DOWN,
)
from classquiz.routers.refusals import request_address
from classquiz.services.admission import Admission, PlayerAdmission
from classquiz.services.ratelimit import EventRate, Network
from classquiz.services.room import LiveRoom
from classquiz.services.tasks import KeptTasks
from classquiz.socket_server.drain import InFlight
from classquiz.socket_server.refusals import Ack, connect_error, error_ack, refusal_ack
from classquiz.socket_server.sweeper import GameOverSweeper

log = logging.getLogger(__name__)


# python-socketio ships no types, so mypy sees its classes as Any.
class GameSocketHandlers(socketio.AsyncNamespace):  # type: ignore[misc]
    """The default namespace; sessions are per process.

    python-socketio hands every event of the namespace to `trigger_event` (its
    documented hook for custom dispatch), which looks the event up in
    `CLIENT_EVENTS` and runs its `ev_<name>` method: no per-event registration.
    """

    def __init__(
        self,
        sio: socketio.AsyncServer,
        room: LiveRoom,
        tasks: KeptTasks,
        *,
        trusted_proxies: list[Network],
        events_per_s: int,
        drop_events_per_s: int,
        game_over_grace_s: float = 5.0,
    ) -> None:
        self.sio = sio
        self.room = room
        # Disconnects this layer starts (a flooding socket, a player who left) are
        # kept until done and drained at shutdown, like the services' own work.
        self.tasks = tasks
        self.trusted_proxies = trusted_proxies
        self.events_per_s = events_per_s
        self.drop_events_per_s = drop_events_per_s
        self.sessions: dict[str, Admission] = {}
        # What is being handled right now, for the drain at shutdown (drain.py).
        self.in_flight = InFlight()
        self.rates: dict[str, EventRate] = {}
        self.sweeper = GameOverSweeper(sio, self.sessions, room.store, game_over_grace_s)
        unhandled = [name for name in CLIENT_EVENTS if not hasattr(self, f"ev_{name}")]
        if unhandled:
            raise TypeError(f"client events without an ev_<name> handler: {unhandled}")
        super().__init__("/")
        sio.register_namespace(self)

    # -- connection lifecycle ----------------------------------------------------------------

    def peer_address(self, environ: dict[str, Any]) -> str:
        """The client's address from the aiohttp request (engineio's REMOTE_ADDR is a stub)."""
        request = environ.get("aiohttp.request")
        if request is None:
            return str(environ.get("REMOTE_ADDR", "unknown"))
        return request_address(request, self.trusted_proxies)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        try:
            admission = await self.room.authorize(auth, self.peer_address(environ))
        except Refusal as exc:
            SOCKET_REFUSALS.labels(exc.code).inc()
            raise connect_error(exc) from None
        except STORAGE_DOWN as exc:
            log.warning("handshake refused, storage unavailable: %s", exc)
            SOCKET_REFUSALS.labels("service_unavailable").inc()
            raise connect_error(Refusal("service_unavailable")) from None
        self.sessions[sid] = admission
        self.rates[sid] = EventRate(self.events_per_s, self.drop_events_per_s)
        SOCKET_CONNECTIONS.labels(admission.role).inc()
        await self.room.join(admission, sid)
        return True

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.rates.pop(sid, None)
        admission = self.sessions.pop(sid, None)
        if admission is None:
            return
        SOCKET_CONNECTIONS.labels(admission.role).dec()
        try:
            await self.room.drop(admission, server_stopping=self.in_flight.stopping)
        except Exception:
            log.exception("error while dropping a connection")

    # -- events --------------------------------------------------------------------------------

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Every event of the namespace: the connection's two, or a client event.

        An event that is not in the contract is not handled (no acknowledgement),
        as python-socketio does for an event nobody registered.
        """
        if event == "connect":
            with self.in_flight.track():
                return await self.on_connect(*args)
        if event == "disconnect":
            return await self.on_disconnect(*args)
        spec = CLIENT_EVENTS.get(event)
        if spec is None:
            return not_handled(self.server)
        sid, data = args[0], args[1] if len(args) > 1 else None
        started = time.perf_counter()
        with self.in_flight.track():
            ack = await self._run(spec, sid, data)
        outcome = "ok" if ack["ok"] else ack["error"]["code"]
        _event_counter(event, outcome).inc()
        _event_latency(event).observe(time.perf_counter() - started)
        return ack

    async def _run(self, spec: ClientEvent, sid: str, data: Any) -> Ack:
        """Rate limit, role check, validation, then the service call; always an ack."""
        admission = self.sessions.get(sid)
        if admission is None:
            return error_ack("forbidden", "not connected to a game")
        verdict = self.rates[sid].hit() if sid in self.rates else "ok"
        if verdict != "ok":
            if verdict == "drop":
                self.rates.pop(sid, None)
                self.tasks.spawn(self.sio.disconnect(sid))
            return error_ack("rate_limited", "too many events; slow down")
        if spec.role != admission.role:
            return error_ack("forbidden", f"{spec.name} is not an event of the {admission.role}")
        try:
            payload = spec.payload.model_validate({} if data is None else data)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            # An error with no location is about the payload as a whole (not an object).
            field = ".".join(str(p) for p in first.get("loc", ())) or "payload"
            return error_ack("invalid_payload", first.get("msg", "invalid payload"), field)
        handler: Callable[[Admission, Any], Awaitable[Ack]] = getattr(self, f"ev_{spec.name}")
        try:
            result = await handler(admission, payload)
        except Refusal as exc:
            return refusal_ack(exc)
        except STORAGE_DOWN as exc:
            # Redis (or PostgreSQL) refused or timed out: the call raised, so nothing
            # was acknowledged; the client may send the command again.
            log.warning("%s: storage unavailable: %s", spec.name, exc)
            return refusal_ack(Refusal("service_unavailable"))
        except Exception:
            log.exception("%s failed", spec.name)
            return error_ack("internal_error", "the server could not handle this event")
        return {"ok": True, **(result or {})}

    # Host commands name the game the host token was issued for, not only its PIN:
    # a PIN is reused once its game is gone (audit finding 5).

    async def ev_start_game(self, who: Admission, _: EventPayload) -> Ack:
        return await self.room.start_game(who.pin, who.game_id)

    async def ev_end_question(self, who: Admission, _: EventPayload) -> Ack:
        return await self.room.end_question(who.pin, who.game_id)

    async def ev_next_question(self, who: Admission, _: EventPayload) -> Ack:
        return await self.room.next_question(who.pin, who.game_id)

    async def ev_end_game(self, who: Admission, _: EventPayload) -> Ack:
        return await self.room.end_game(who.pin, who.game_id)

    async def ev_kick_player(self, who: Admission, payload: Any) -> Ack:
        return await self.room.kick_player(who.pin, who.game_id, payload.player_id, payload.ban)

    async def ev_lock_game(self, who: Admission, payload: Any) -> Ack:
        return await self.room.lock_game(who.pin, who.game_id, payload.locked)

    async def ev_get_leaderboard(self, who: Admission, payload: Any) -> Ack:
        return await self.room.leaderboard(who.pin, who.game_id, payload.offset, payload.limit)

    async def ev_submit_answer(self, who: Admission, payload: Any) -> Ack:
        player = _player(who)
        return await self.room.submit_answer(
            player.pin, player.game_id, player.player_id, payload.question_index, payload.answer
        )

    async def ev_reroll_nickname(self, who: Admission, _: EventPayload) -> Ack:
        return {"nickname": await self.room.reroll_nickname(_player(who))}

    async def ev_leave(self, who: Admission, _: EventPayload) -> Ack:
        await self.room.leave(who.pin, _player(who).player_id)
        self.sessions.pop(who.sid, None)
        asyncio.get_running_loop().call_later(
            0.05, lambda: self.tasks.spawn(self.sio.disconnect(who.sid))
        )
        return {}


# A metric's labelled child looked up once per event name (and outcome), not per event:
# `labels()` hashes and locks on every call, which an answer burst pays thousands of times.
@functools.cache
def _event_counter(event: str, outcome: str) -> Any:
    return SOCKET_EVENTS.labels(event, outcome)


@functools.cache
def _event_latency(event: str) -> Any:
    return SOCKET_EVENT_LATENCY.labels(event)


def _player(who: Admission) -> PlayerAdmission:
    """The player behind a player event (the role check let only players through)."""
    if not isinstance(who, PlayerAdmission):
        raise Refusal("forbidden", "only players send this event")
    return who
