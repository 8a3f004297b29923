"""The floor: the least a live quiz server on this stack can spend.

    .venv/bin/python bench/floor/server.py --port 8731

python-socketio on aiohttp and uvloop, speaking just enough of ClassQuiz's
protocol (docs/protocol.md) that bench/loadgen drives it unchanged, and doing
nothing a real game needs beyond moving frames: no validation, no storage, no
Redis, no database. Each answer gets its ack; each question costs three frames
a player (`question_started` and `question_ended`, one encode each and a write
per socket, and a `your_result` per player, encoded per player). What the
bench measures here is what python-socketio, python-engineio, aiohttp and
uvloop cost by themselves on this machine, so ClassQuiz's figures can be read
as ratios to it (bench/README.md, "The floor").

The loadgen creates its game over REST first; the floor answers those four
calls with canned data (one game at a time, any credentials). Nothing here is
part of the server; it imports nothing from classquiz.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import secrets
import time
import uuid
from typing import Any

import socketio
from aiohttp import web

API = "/api/v1"


def epoch_ms() -> int:
    return int(time.time() * 1000)


class FloorGame:
    """One game's state, in memory: who is who, the question index, a counter of acks."""

    def __init__(self, question_count: int, choice_count: int) -> None:
        self.game_id = str(uuid.uuid4())
        self.pin = f"{secrets.randbelow(900_000) + 100_000}"
        self.host_token = secrets.token_urlsafe(24)
        self.question_count = question_count
        self.choice_count = choice_count
        self.status = "lobby"
        self.question_index = -1
        self.players: dict[str, dict[str, Any]] = {}  # sid -> {player_id, nickname, token}
        self.tokens: dict[str, dict[str, Any]] = {}  # player_token -> player
        self.host_sid: str | None = None
        self.answers_acked = 0

    def state(self) -> dict[str, Any]:
        return {
            "game_id": self.game_id,
            "pin": self.pin,
            "title": "Floor",
            "status": self.status,
            "question_index": self.question_index,
            "question_count": self.question_count,
            "players_count": len(self.players),
            "server_time_ms": epoch_ms(),
        }

    def question_started(self) -> dict[str, Any]:
        opens = epoch_ms()
        return {
            "question_index": self.question_index,
            "question_count": self.question_count,
            "question": {
                "type": "single",
                "text": f"Benchmark question {self.question_index + 1}: which choice is right?",
                "image": None,
                "choices": [{"id": i, "text": chr(65 + i)} for i in range(self.choice_count)],
                "time_limit_ms": 30_000,
                "points": 1,
            },
            "opens_at_ms": opens,
            "deadline_at_ms": opens + 30_000,
            "server_time_ms": opens,
        }

    def question_ended(self) -> dict[str, Any]:
        return {
            "question_index": self.question_index,
            "correct": [0],
            "distribution": {},
            "answered": 0,
            "players_count": len(self.players),
            "top": [],
        }


def build_app(*, json_module: Any, compression: bool) -> web.Application:
    if not compression:
        # The same transport setting as ClassQuiz's default (WEBSOCKET_COMPRESSION off):
        # aiohttp would otherwise deflate every frame once per socket.
        from engineio.async_drivers import aiohttp as driver

        driver.WebSocketResponse = functools.partial(web.WebSocketResponse, compress=False)
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        cors_allowed_origins="*",
        ping_interval=25,
        ping_timeout=20,
        max_http_buffer_size=65_536,
        json=json_module,
        logger=False,
        engineio_logger=False,
    )
    app = web.Application()
    sio.attach(app)
    games: dict[str, FloorGame] = {}
    current: list[FloorGame] = []

    # -- REST: canned answers to the loadgen's setup calls

    async def register(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(
            {"id": str(uuid.uuid4()), "username": body.get("username")}, status=201
        )

    async def login(_: web.Request) -> web.Response:
        return web.json_response(
            {"access_token": secrets.token_urlsafe(16), "token_type": "bearer"}
        )

    async def create_quiz(request: web.Request) -> web.Response:
        body = await request.json()
        questions = body.get("questions") or []
        quiz_id = str(uuid.uuid4())
        request.app["quizzes"][quiz_id] = questions
        return web.json_response({"id": quiz_id}, status=201)

    async def create_game(request: web.Request) -> web.Response:
        body = await request.json()
        questions = request.app["quizzes"].get(body.get("quiz_id"), [])
        choices = len(questions[0].get("choices", [])) if questions else 4
        game = FloorGame(max(len(questions), 1), choices or 4)
        games[game.pin] = game
        current[:] = [game]
        return web.json_response(
            {
                "game_id": game.game_id,
                "pin": game.pin,
                "host_token": game.host_token,
                "join_url": "",
            },
            status=201,
        )

    async def ready(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def stats(_: web.Request) -> web.Response:
        return web.json_response(
            {
                g.pin: {"players": len(g.players), "answers_acked": g.answers_acked}
                for g in games.values()
            }
        )

    app["quizzes"] = {}
    app.router.add_post(f"{API}/users/register", register)
    app.router.add_post(f"{API}/users/login", login)
    app.router.add_post(f"{API}/quizzes", create_quiz)
    app.router.add_post(f"{API}/games", create_game)
    app.router.add_get("/readyz", ready)
    app.router.add_get("/healthz", ready)
    app.router.add_get("/floor/stats", stats)

    # -- Socket.IO

    where: dict[str, tuple[FloorGame, str]] = {}  # sid -> (game, role)

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> bool:
        auth = auth if isinstance(auth, dict) else {}
        if "host_token" in auth:
            game = next((g for g in games.values() if g.host_token == auth["host_token"]), None)
            if game is None:
                raise socketio.exceptions.ConnectionRefusedError(
                    {"code": "invalid_token", "message": "?"}
                )
            game.host_sid = sid
            where[sid] = (game, "host")
            await sio.enter_room(sid, game.pin)
            await sio.emit("welcome", {"role": "host", "game": game.state()}, to=sid)
            return True
        returning = next((g for g in games.values() if auth.get("player_token") in g.tokens), None)
        if returning is not None:
            game = returning
            player = game.tokens[auth["player_token"]]
        else:
            game = games.get(str(auth.get("pin")))
            if game is None:
                raise socketio.exceptions.ConnectionRefusedError(
                    {"code": "game_not_found", "message": "?"}
                )
            token = secrets.token_urlsafe(24)
            player = {
                "player_id": uuid.uuid4().hex,
                "nickname": str(auth.get("nickname")),
                "token": token,
            }
            game.tokens[token] = player
        game.players[sid] = player
        where[sid] = (game, "player")
        await sio.enter_room(sid, game.pin)
        welcome = {
            "role": "player",
            "player": {
                "player_id": player["player_id"],
                "nickname": player["nickname"],
                "player_token": player["token"],
                "score": 0,
                "streak": 0,
            },
            "game": game.state(),
        }
        await sio.emit("welcome", welcome, to=sid)
        if game.host_sid is not None:
            await sio.emit(
                "player_joined",
                {
                    "player": {"player_id": player["player_id"], "nickname": player["nickname"]},
                    "players_count": len(game.players),
                },
                to=game.host_sid,
            )
        return True

    @sio.event
    async def disconnect(sid: str, *_: Any) -> None:
        game, role = where.pop(sid, (None, ""))
        if game is not None and role == "player":
            game.players.pop(sid, None)

    def host_game(sid: str) -> FloorGame | None:
        game, role = where.get(sid, (None, ""))
        return game if role == "host" else None

    async def open_question(game: FloorGame) -> None:
        game.status = "question"
        game.question_index += 1
        await sio.emit("question_started", game.question_started(), room=game.pin)

    @sio.event
    async def start_game(sid: str, _: Any = None) -> dict[str, Any]:
        game = host_game(sid)
        if game is None or game.status != "lobby":
            return {"ok": False, "error": {"code": "wrong_state", "message": "?"}}
        await open_question(game)
        return {"ok": True, "question_index": game.question_index}

    @sio.event
    async def end_question(sid: str, _: Any = None) -> dict[str, Any]:
        game = host_game(sid)
        if game is None or game.status != "question":
            return {"ok": False, "error": {"code": "wrong_state", "message": "?"}}
        game.status = "reveal"
        await sio.emit("question_ended", game.question_ended(), room=game.pin)
        for player_sid in list(game.players):
            await sio.emit(
                "your_result",
                {
                    "question_index": game.question_index,
                    "answered": True,
                    "correct": False,
                    "points": 0,
                    "streak": 0,
                    "score": 0,
                    "rank": 1,
                },
                to=player_sid,
            )
        return {"ok": True}

    @sio.event
    async def next_question(sid: str, _: Any = None) -> dict[str, Any]:
        game = host_game(sid)
        if game is None or game.status != "reveal":
            return {"ok": False, "error": {"code": "wrong_state", "message": "?"}}
        if game.question_index + 1 < game.question_count:
            await open_question(game)
            return {"ok": True, "question_index": game.question_index}
        game.status = "finished"
        await sio.emit(
            "game_finished",
            {"game_id": game.game_id, "podium": [], "players_count": len(game.players)},
            room=game.pin,
        )
        for player_sid in list(game.players):
            await sio.emit(
                "final_result",
                {"rank": 1, "score": 0, "correct_count": 0, "question_count": game.question_count},
                to=player_sid,
            )
        return {"ok": True, "finished": True}

    @sio.event
    async def submit_answer(sid: str, _: Any = None) -> dict[str, Any]:
        game, _role = where.get(sid, (None, ""))
        if game is not None:
            game.answers_acked += 1
        return {"ok": True, "received_at_ms": epoch_ms()}

    return app


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8731)
    ap.add_argument(
        "--json",
        choices=["json", "orjson"],
        default="json",
        help="the JSON module python-socketio uses (default: the standard library, as shipped)",
    )
    ap.add_argument(
        "--compression",
        action="store_true",
        help="let aiohttp negotiate permessage-deflate (off by default, as in ClassQuiz)",
    )
    ap.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = ap.parse_args()
    json_module: Any = json
    if args.json == "orjson":
        json_module = OrjsonModule
    app = build_app(json_module=json_module, compression=args.compression)
    loop: asyncio.AbstractEventLoop
    if args.loop == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None, loop=loop)


class OrjsonModule:
    """A `json`-like module over orjson (python-socketio calls dumps and loads only)."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        import orjson

        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(text: str | bytes, **_: Any) -> Any:
        import orjson

        return orjson.loads(text)


if __name__ == "__main__":
    main()
