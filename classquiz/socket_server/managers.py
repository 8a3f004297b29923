"""Client managers that send a broadcast without one asyncio task per recipient.

python-socketio's AsyncManager encodes a broadcast once, then starts one task
per recipient to queue it. Queuing a packet never waits (each socket's queue is
unbounded and its writer task does the I/O), so creating thousands of tasks
per broadcast is pure overhead at 2,000 players; these managers queue the
packet for each recipient in a plain loop instead. Emits with callbacks (which
need a distinct packet per recipient) keep the library's behaviour.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
import socketio
from redis.asyncio import Redis
from socketio import packet

from classquiz.library_seam import frame_sender, message_frames
from classquiz.services.notifier import game_of_room, game_room
from classquiz.services.placement import GamePlacement

log = logging.getLogger(__name__)


# python-socketio ships no types, so mypy sees its classes as Any.
class LoopingAsyncManager(socketio.AsyncManager):  # type: ignore[misc]
    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None:
            await super().emit(
                event,
                data,
                namespace,
                room=room,
                skip_sid=skip_sid,
                callback=callback,
                to=to,
                **kwargs,
            )
            return
        room = to or room
        if namespace not in self.rooms:
            return None
        if isinstance(data, tuple):
            args = list(data)
        elif data is not None:
            args = [data]
        else:
            args = []
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        frames = message_frames(encoded)
        send = frame_sender(self.server)
        for sid, eio_sid in list(self.get_participants(namespace, room)):
            if sid in skip:
                continue
            for frame in frames:
                await send(eio_sid, frame)
        return None


# python-socketio ships no types, so mypy sees its classes as Any.
class LoopingRedisManager(socketio.AsyncRedisManager, LoopingAsyncManager):  # type: ignore[misc]
    """AsyncRedisManager whose local delivery is the loop above (MRO puts it before
    AsyncManager, so the pub/sub layer's `super().emit` lands here).

    With a `GamePlacement` a game's broadcasts stay off the shared channel: they are
    delivered to this process's sockets and published only to the other processes
    that hold a socket of the game, each on its own channel (none at all for a game
    local to this process; see services/placement.py for why that loses nothing).
    Emits to one socket, disconnects and emits with callbacks still take the shared
    channel: they are rare, and the socket's process is not known here.
    """

    def __init__(
        self,
        url: str,
        channel: str,
        placement: GamePlacement | None = None,
        subscriber: Redis | None = None,
    ) -> None:
        super().__init__(url, channel=channel)
        self.placement = placement
        self.subscriber = subscriber
        self._subscribed = asyncio.Event()
        self.received = 0  # game broadcasts heard from other processes (a metric)

    def initialize(self) -> None:
        super().initialize()
        if self.placement is not None:
            self.server.start_background_task(self._hear_own_channel)

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        target = to or room
        placement = self.placement
        pin = game_of_room(target) if isinstance(target, str) else None
        if placement is None or pin is None or callback is not None or kwargs.get("ignore_queue"):
            await super().emit(
                event,
                data,
                namespace=namespace or "/",
                room=room,
                skip_sid=skip_sid,
                callback=callback,
                to=to,
                **kwargs,
            )
            return
        namespace = namespace or "/"
        await LoopingAsyncManager.emit(self, event, data, namespace, room=target, skip_sid=skip_sid)
        args = list(data) if isinstance(data, tuple) else [data]
        message = {
            "event": event,
            "data": args,
            "namespace": namespace,
            "room": target,
            "skip_sid": skip_sid,
        }
        await placement.emit_to_others(pin, orjson.dumps(message))

    async def enter_room(self, sid: str, namespace: str, room: str, eio_sid: Any = None) -> Any:
        placement = self.placement
        pin = game_of_room(room)
        local = self.is_connected(sid, namespace) or self.is_pre_connected(sid, namespace)
        if placement is not None and pin is not None and room == game_room(pin) and local:
            # Subscribed first: what other processes publish once we are a member must
            # find us listening.
            await asyncio.wait_for(self._subscribed.wait(), timeout=10)
            await placement.enter(pin, sid)
        return await super().enter_room(sid, namespace, room, eio_sid=eio_sid)

    async def disconnect(self, sid: str, namespace: str, **kwargs: Any) -> Any:
        placement = self.placement
        pins: list[str] = []
        if placement is not None and namespace in self.rooms:
            pins = [
                pin
                for room in self.get_rooms(sid, namespace)
                if isinstance(room, str) and (pin := game_of_room(room)) and room == game_room(pin)
            ]
        result = await super().disconnect(sid, namespace, **kwargs)
        for pin in pins:
            assert placement is not None
            try:
                await placement.leave(pin, sid)
            except Exception as exc:
                # Staying listed only costs publishes to this process (never a lost
                # message); the socket itself is gone either way.
                log.warning("could not take this process out of game %s: %s", pin, exc)
        return result

    async def _hear_own_channel(self) -> None:
        """Deliver the game broadcasts other processes publish to this one."""
        assert self.placement is not None and self.subscriber is not None
        channel = self.placement.emit_channel
        while True:
            pubsub = self.subscriber.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(channel)
                self._subscribed.set()
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    try:
                        await self._deliver_heard(orjson.loads(message["data"]))
                    except Exception:
                        log.exception("a game broadcast from another process failed")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("lost the process channel's connection; resubscribing")
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    # redis-py leaves PubSub.aclose unannotated (it returns None)
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _deliver_heard(self, message: dict[str, Any]) -> None:
        self.received += 1
        args = message["data"]
        data = args[0] if len(args) == 1 else tuple(args)
        await LoopingAsyncManager.emit(
            self,
            message["event"],
            data,
            message["namespace"],
            room=message["room"],
            skip_sid=message.get("skip_sid"),
        )
