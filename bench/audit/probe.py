"""Re-run the issue 9 audit against a real server: one probe per finding, PASS/FAIL each.

    python bench/audit/probe.py --url http://127.0.0.1:PORT [--only 1,2,17]

`--url` is a real `python -m classquiz serve`. Start it with
`TRUSTED_PROXIES=127.0.0.1/32` so each probe can act from an address of its own
(`X-Forwarded-For`): the limiter probes block their address, and without this the
probes after them would be refused too (they run last for that reason anyway).

Probes that need other settings, or several processes, start their own server
(`python -m classquiz serve`, same DATABASE_URL/REDIS_URL as the environment, a
prefix of their own) with the settings listed in `SPAWNED` below and documented in
bench/audit/README.md. Limits the probes compare against are the server defaults
(config.py); pass `--login-limit` etc. if the server under test was started with others.

Each probe does what the audit describes an attacker doing and prints the measured
number next to PASS or FAIL; the exit status is the number of FAILs.
"""

# The probes start and wait for server processes the simple, blocking way (Popen, log
# files): a bench script, not the server.
# ruff: noqa: ASYNC220, ASYNC230, ASYNC240, ASYNC110
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pyotp
import socketio
from aiohttp import ClientSession, ClientTimeout, WSMsgType
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
MiB = 1024 * 1024

# Settings of the servers the probes start themselves (finding: environment).
SPAWNED: dict[str, dict[str, str]] = {
    "7": {"AUTO_FINISH_AFTER_LAST_REVEAL_S": "2", "AUTO_FINISH_WITHOUT_HOST_S": "2"},
    "7-crash": {"CLASSQUIZ_FAULT": "crash_after_finish"},
    "18": {},  # with --workers 2
}


@dataclass
class Outcome:
    finding: str
    title: str
    ok: bool
    measured: str


@dataclass
class Ctx:
    url: str
    redis: Redis
    redis_prefix: str
    args: argparse.Namespace
    http: ClientSession
    results: list[Outcome] = field(default_factory=list)
    _address: int = 0

    def address(self) -> str:
        """A fresh address of the benchmarking range 198.18.0.0/15 (X-Forwarded-For).

        Starts at a random point so a second run does not meet the first run's
        limits (the register limit counts per hour)."""
        if not self._address:
            self._address = random.randrange(1, 120_000)
        self._address += 1
        n = self._address
        return f"198.{18 + n // 65536}.{n // 256 % 256}.{n % 256}"

    def report(self, finding: str, title: str, ok: bool, measured: str) -> None:
        self.results.append(Outcome(finding, title, ok, measured))
        print(f"{'PASS' if ok else 'FAIL'}  {finding:>2}  {title}: {measured}", flush=True)


# ---------------------------------------------------------------- HTTP helpers


@dataclass
class User:
    name: str
    token: str
    address: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Forwarded-For": self.address}


async def call(
    http: ClientSession,
    method: str,
    url: str,
    address: str,
    token: str | None = None,
    **kw: Any,
) -> tuple[int, Any, dict[str, str]]:
    headers = {"X-Forwarded-For": address, **kw.pop("headers", {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with http.request(method, url, headers=headers, **kw) as resp:
        text = await resp.text()
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        return resp.status, body, dict(resp.headers)


def error_code(body: Any) -> str | None:
    """The `code` of a REST error body (`{"error": {"code": ...}}`)."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code"))
    return None


async def new_user(ctx: Ctx, base: str | None = None) -> User:
    base = base or ctx.url
    address = ctx.address()
    name = "p" + uuid.uuid4().hex[:10]
    body = {"email": f"{name}@example.org", "username": name, "password": PASSWORD}
    status, out, _ = await call(
        ctx.http, "POST", f"{base}/api/v1/users/register", address, json=body
    )
    assert status == 201, (status, out)
    status, out, _ = await call(
        ctx.http,
        "POST",
        f"{base}/api/v1/users/login",
        address,
        json={"login": name, "password": PASSWORD},
    )
    assert status == 200, (status, out)
    return User(name, out["access_token"], address)


def quiz(
    questions: list[dict[str, Any]] | None = None, title: str = "Audit probe"
) -> dict[str, Any]:
    return {
        "title": title,
        "description": "audit probe",
        "public": False,
        "language": "en",
        "tags": ["audit"],
        "questions": questions
        or [
            {
                "type": "single",
                "text": "2 + 2?",
                "time_limit_s": 30,
                "points": 1,
                "choices": [{"text": "3"}, {"text": "4", "correct": True}, {"text": "5"}],
            }
        ],
    }


TEXT_QUESTION = {
    "type": "text",
    "text": "Capital of France?",
    "time_limit_s": 30,
    "accepted_answers": ["Paris"],
}


async def new_game(
    ctx: Ctx,
    user: User,
    settings: dict[str, Any] | None = None,
    questions: list[dict[str, Any]] | None = None,
    base: str | None = None,
) -> dict[str, Any]:
    base = base or ctx.url
    status, created, _ = await call(
        ctx.http, "POST", f"{base}/api/v1/quizzes", user.address, user.token, json=quiz(questions)
    )
    assert status == 201, (status, created)
    body: dict[str, Any] = {"quiz_id": created["id"]}
    if settings is not None:
        body["settings"] = settings
    status, game, _ = await call(
        ctx.http, "POST", f"{base}/api/v1/games", user.address, user.token, json=body
    )
    assert status == 201, (status, game)
    return dict(game)


# ---------------------------------------------------------------- Socket.IO helpers


class Client:
    """A real python-socketio client that records every event it receives."""

    def __init__(self, url: str, address: str) -> None:
        self.url = url
        self.address = address
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, list[Any]] = {}
        self.refusal: Any = None
        self.disconnected_at: float | None = None

        @self.sio.on("*")
        async def any_event(event: str, data: Any = None) -> None:
            self.events.setdefault(event, []).append(data)

        @self.sio.on("connect_error")
        async def refused(data: Any) -> None:
            self.refusal = data

        @self.sio.on("disconnect")
        async def gone(*_: Any) -> None:
            self.disconnected_at = time.monotonic()

    async def connect(self, auth: dict[str, Any]) -> Any:
        """None when admitted, else the connect_error data."""
        try:
            await self.sio.connect(
                self.url,
                auth=auth,
                transports=["websocket"],
                wait_timeout=10,
                headers={"X-Forwarded-For": self.address},
            )
        except socketio.exceptions.ConnectionError:
            await asyncio.sleep(0)
            return self.refusal or {"code": "connection_error"}
        return None

    async def wait(self, event: str, timeout: float = 10, count: int = 1) -> Any:
        deadline = time.monotonic() + timeout
        while len(self.events.get(event, [])) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {event} #{count}; have {sorted(self.events)}")
            await asyncio.sleep(0.02)
        return self.events[event][count - 1]

    async def call(self, event: str, data: Any = None, timeout: float = 10) -> Any:
        return await self.sio.call(event, {} if data is None else data, timeout=timeout)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


async def host_and_players(
    ctx: Ctx, game: dict[str, Any], names: list[str], url: str | None = None
) -> tuple[Client, list[Client]]:
    url = url or ctx.url
    address = ctx.address()
    host = Client(url, address)
    refused = await host.connect({"host_token": game["host_token"]})
    assert refused is None, refused
    players = []
    for name in names:
        player = Client(url, address)
        refused = await player.connect({"pin": game["pin"], "nickname": name})
        assert refused is None, (name, refused)
        players.append(player)
    return host, players


# ---------------------------------------------------------------- spawned servers


def free_port(count: int = 1) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if count == 1 or all(_port_free(port + i) for i in range(1, count)):
            return port


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class Spawned:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


async def spawn(ctx: Ctx, env_extra: dict[str, str], prefix: str, workers: int = 1) -> Spawned:
    """`python -m classquiz serve` with the run's storage, its own prefix and `env_extra`."""
    port = free_port(workers)
    env = dict(os.environ)
    env.update(
        {
            "REDIS_PREFIX": prefix,
            "SECRET_KEY": env.get("SECRET_KEY", "audit-probe-secret-key-long-enough"),
            "ALLOW_DEV_SECRET": "true",
            "TRUSTED_PROXIES": "127.0.0.1/32",
            "LOG_LEVEL": "WARNING",
            "CLASSQUIZ_SKIP_MIGRATE": "1",
            **env_extra,
        }
    )
    log = Path(ctx.args.log_dir) / f"spawned-{prefix}.log"
    cmd = [sys.executable, "-m", "classquiz", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Spawned(proc, port, log)
    await wait_ready(
        [server.url] + [f"http://127.0.0.1:{port + i}" for i in range(1, workers)], proc, log
    )
    return server


async def wait_ready(
    urls: list[str], proc: subprocess.Popen[bytes], log: Path, timeout: float = 40
) -> None:
    deadline = time.monotonic() + timeout
    async with ClientSession(timeout=ClientTimeout(total=2)) as http:
        for url in urls:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"spawned server exited: {log.read_text()[-2000:]}")
                try:
                    async with http.get(f"{url}/readyz") as resp:
                        if resp.status == 200:
                            break
                except Exception:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} not ready: {log.read_text()[-2000:]}")
                await asyncio.sleep(0.2)


def server_pid(url: str) -> int | None:
    """The pid listening on the server's port (for RSS sampling)."""
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    for conn in psutil.net_connections(kind="tcp"):
        if (
            conn.status == psutil.CONN_LISTEN
            and conn.laddr
            and conn.laddr.port == port
            and conn.pid
        ):
            return int(conn.pid)
    return None


# ---------------------------------------------------------------- the probes


async def probe_1_binary(ctx: Ctx) -> None:
    """A player socket announces 1,000,000 attachments and pushes 64 KiB frames."""
    pid = ctx.args.pid or server_pid(ctx.url)
    user = await new_user(ctx)
    game = await new_game(ctx, user)
    proc = psutil.Process(pid) if pid else None
    before = proc.memory_info().rss if proc else 0
    peak = before
    ws_url = ctx.url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    pushed = 0
    closed_after = None
    frame = os.urandom(63 * 1024)  # under the 64 KiB message limit, as the audit sent
    async with ctx.http.ws_connect(ws_url, headers={"X-Forwarded-For": ctx.address()}) as ws:
        await ws.receive()  # Engine.IO open
        await ws.send_str("40" + json.dumps({"pin": game["pin"], "nickname": "Binary"}))
        while True:
            msg = await ws.receive(timeout=5)
            if msg.type == WSMsgType.TEXT and msg.data.startswith("40"):
                break
        await ws.send_str('51000000-["submit_answer",{"_placeholder":true,"num":0}]')
        start = time.monotonic()
        closed = asyncio.Event()

        async def read() -> None:
            # The server's close: a WebSocket close frame (the Engine.IO "1" before it
            # only asks; a hostile client would ignore it, so it is not counted).
            while True:
                msg = await ws.receive()
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR):
                    closed.set()
                    return

        async def sample() -> None:
            nonlocal peak
            while proc and not closed.is_set():
                peak = max(peak, proc.memory_info().rss)
                await asyncio.sleep(0.02)

        reader = asyncio.ensure_future(read())
        sampler = asyncio.ensure_future(sample())
        while time.monotonic() - start < 3 and not closed.is_set():
            try:
                await ws.send_bytes(frame)
                pushed += len(frame)
            except Exception:
                closed.set()
                break
            await asyncio.sleep(0)
        closed_after = time.monotonic() - start if closed.is_set() else None
        reader.cancel()
        sampler.cancel()
    await asyncio.sleep(0.5)
    after = proc.memory_info().rss if proc else 0
    growth = (max(peak, after) - before) / MiB
    ok = closed_after is not None and closed_after < 1.0 and (proc is None or growth < 16)
    ctx.report(
        "1",
        "binary header + 64 KiB frames",
        ok,
        f"pushed {pushed / MiB:.1f} MiB, closed after "
        f"{'never' if closed_after is None else f'{closed_after:.2f} s'}, RSS "
        + (
            f"{before / MiB:.0f} -> peak {peak / MiB:.0f} -> {after / MiB:.0f} MiB (+{growth:.1f})"
            if proc
            else "not sampled (no pid)"
        ),
    )


async def probe_2_limits(ctx: Ctx) -> None:
    """60 concurrent wrong logins, 200 concurrent PIN guesses, 30 forged host tokens, IPv6 /64."""
    target = await new_user(ctx)
    address = ctx.address()
    results = await asyncio.gather(
        *(
            call(
                ctx.http,
                "POST",
                f"{ctx.url}/api/v1/users/login",
                address,
                json={"login": target.name, "password": "wrong password"},
            )
            for _ in range(60)
        )
    )
    n401 = sum(1 for s, _, _ in results if s == 401)
    n429 = [h for s, _, h in results if s == 429]
    retry = all("Retry-After" in h for h in n429)
    ctx.report(
        "2",
        "60 concurrent wrong logins",
        n401 <= ctx.args.login_limit and len(n429) == 60 - n401 and retry,
        f"{n401} x 401, {len(n429)} x 429 (Retry-After on "
        f"all: {retry}; limit {ctx.args.login_limit})",
    )

    address = ctx.address()
    pins = [f"{random.randrange(10**5, 10**6)}" for _ in range(200)]
    results = await asyncio.gather(
        *(call(ctx.http, "GET", f"{ctx.url}/api/v1/games/{p}", address) for p in pins)
    )
    n404 = sum(1 for s, _, _ in results if s == 404)
    n429 = [h for s, _, h in results if s == 429]
    retry = all("Retry-After" in h for h in n429)
    ctx.report(
        "2",
        "200 concurrent PIN guesses",
        n404 <= ctx.args.failure_limit and retry,
        f"{n404} x 404, {len(n429)} x 429 (Retry-After on "
        f"all: {retry}; limit {ctx.args.failure_limit})",
    )

    owner = await new_user(ctx)
    game = await new_game(ctx, owner)
    address = ctx.address()
    forged = (
        game["host_token"][:-6]
        + ("A" if game["host_token"][-6] != "A" else "B")
        + game["host_token"][-5:]
    )
    clients = [Client(ctx.url, address) for _ in range(30)]
    codes = await asyncio.gather(*(c.connect({"host_token": forged}) for c in clients))
    await asyncio.gather(*(c.close() for c in clients))
    invalid = sum(1 for c in codes if isinstance(c, dict) and c.get("code") == "invalid_token")
    limited = sum(1 for c in codes if isinstance(c, dict) and c.get("code") == "rate_limited")
    real = Client(ctx.url, address)
    real_refused = await real.connect({"host_token": game["host_token"]})
    await real.close()
    ctx.report(
        "2",
        "30 forged host tokens",
        invalid <= ctx.args.failure_limit and limited > 0 and real_refused is None,
        f"{invalid} x invalid_token, {limited} x rate_limited; "
        "real host token from the same address "
        f"{'admitted' if real_refused is None else real_refused}",
    )

    block = f"2001:db8:{random.randrange(1, 0xFFFF):x}:{random.randrange(1, 0xFFFF):x}"
    statuses = []
    for k in range(ctx.args.failure_limit + 3):
        s, _, _ = await call(
            ctx.http,
            "GET",
            f"{ctx.url}/api/v1/games/{random.randrange(10**5, 10**6)}",
            f"{block}::{k + 1:x}",
        )
        statuses.append(s)
    ctx.report(
        "2",
        "PIN guesses spread over one IPv6 /64",
        statuses[-1] == 429,
        f"{statuses.count(404)} x 404 then {statuses.count(429)} "
        f"x 429 over {len(statuses)} addresses",
    )


async def probe_3_register(ctx: Ctx) -> None:
    """40 concurrent registrations from one address; 40 from 40 addresses while a login is timed."""
    victim = await new_user(ctx)

    async def register(address: str) -> tuple[int, float]:
        name = f"r{uuid.uuid4().hex[:10]}"
        body = {"email": f"{name}@example.org", "username": name, "password": PASSWORD}
        s, _, h = await call(
            ctx.http, "POST", f"{ctx.url}/api/v1/users/register", address, json=body
        )
        return (s if s != 429 or "Retry-After" in h else -429), time.monotonic()

    async def login(delay: float) -> tuple[float, float]:
        await asyncio.sleep(delay)
        start = time.monotonic()
        s, _, _ = await call(
            ctx.http,
            "POST",
            f"{ctx.url}/api/v1/users/login",
            victim.address,
            json={"login": victim.name, "password": PASSWORD},
        )
        assert s == 200, s
        return time.monotonic() - start, time.monotonic()

    address = ctx.address()
    outcomes = await asyncio.gather(*(register(address) for _ in range(40)))
    statuses = [s for s, _ in outcomes]
    created = statuses.count(201)
    ctx.report(
        "3",
        "40 concurrent registrations from one address",
        created <= ctx.args.register_limit and statuses.count(429) == 40 - created,
        f"{created} x 201, {statuses.count(429)} x 429 with Retry-After "
        f"({statuses.count(-429)} without; limit {ctx.args.register_limit})",
    )

    baseline = sorted([(await login(0))[0] for _ in range(3)])[1]
    addresses = [ctx.address() for _ in range(40)]
    *flood, (took, login_done) = await asyncio.gather(*(register(a) for a in addresses), login(0.3))
    done_before = sum(1 for s, at in flood if s == 201 and at < login_done)
    ok = all(s == 201 for s, _ in flood) and done_before <= 20
    ctx.report(
        "3",
        "a login during 40 registrations from 40 addresses",
        ok,
        f"login took {took:.2f} s (alone {baseline:.2f} s), after {done_before} of "
        f"{sum(1 for s, _ in flood if s == 201)} registrations had finished",
    )


async def ttl_problems(ctx: Ctx, pin: str, cap: int) -> tuple[int, list[str]]:
    keys = [
        k async for k in ctx.redis.scan_iter(match=f"{ctx.redis_prefix}:game:{{{pin}}}*", count=500)
    ]
    keys += [k async for k in ctx.redis.scan_iter(match=f"{ctx.redis_prefix}:*{pin}*", count=500)]
    keys = sorted(set(keys))
    bad = []
    for key in keys:
        ttl = await ctx.redis.ttl(key)
        if ttl == -2:  # gone since the scan (a short-lived mark expired): not a leak
            continue
        if ttl < 0 or ttl > cap:
            bad.append(f"{key.decode() if isinstance(key, bytes) else key}={ttl}")
    return len(keys), bad


async def probe_4_ttl(ctx: Ctx) -> None:
    """Every key of a game has a TTL in the lobby, mid-question and after the game."""
    owner = await new_user(ctx)
    game = await new_game(ctx, owner, questions=[quiz()["questions"][0], TEXT_QUESTION])
    host, players = await host_and_players(ctx, game, ["Ann", "Bob", "Cid"])
    phases = []
    try:
        await host.wait("welcome")
        phases.append(("lobby", *await ttl_problems(ctx, game["pin"], 6 * 3600 + 60)))
        assert (await host.call("start_game"))["ok"]
        await asyncio.gather(*(p.wait("question_started") for p in players))
        for k, p in enumerate(players):
            await p.call("submit_answer", {"question_index": 0, "answer": k % 3})
        phases.append(("question", *await ttl_problems(ctx, game["pin"], 6 * 3600 + 60)))
        await host.wait("question_ended")
        assert (await host.call("next_question"))["ok"]
        await players[0].wait("question_started", count=2)
        await players[0].call("submit_answer", {"question_index": 1, "answer": "Paris"})
        await host.call("end_question")
        await host.wait("question_ended", count=2)
        await host.call("end_game")
        await host.wait("game_finished")
        await asyncio.sleep(0.5)
        phases.append(("after the game", *await ttl_problems(ctx, game["pin"], 3600)))
    finally:
        await asyncio.gather(host.close(), *(p.close() for p in players))
    bad = [b for _, _, problems in phases for b in problems]
    ctx.report(
        "4",
        "key TTL scan (lobby, question, after the game)",
        not bad,
        "; ".join(f"{name}: {n} keys, {len(p)} without a TTL in bounds" for name, n, p in phases)
        + (f" ({bad[:4]})" if bad else ""),
    )


async def probe_5_old_host(ctx: Ctx) -> None:
    """A host socket kept open after its game ends: commands, and how long it stays."""
    owner = await new_user(ctx)
    game = await new_game(ctx, owner)
    host, players = await host_and_players(ctx, game, ["Ann"])
    try:
        await host.wait("welcome")
        assert (await host.call("start_game"))["ok"]
        await host.call("end_game")
        ended = time.monotonic()
        await host.wait("game_finished")
        late = await host.call("start_game")
        while host.sio.connected and time.monotonic() - ended < 15:
            await asyncio.sleep(0.05)
        stayed = time.monotonic() - ended
        again = Client(ctx.url, host.address)
        refusal = await again.connect({"host_token": game["host_token"]})
        await again.close()
        # The PIN's keys vanish (expiry, or another game taking the PIN): an old host
        # socket of a game still running must be cut at once.
        game2 = await new_game(ctx, owner)
        host2, _ = await host_and_players(ctx, game2, [])
        await host2.wait("welcome")
        async for key in ctx.redis.scan_iter(match=f"{ctx.redis_prefix}:game:{{{game2['pin']}}}*"):
            await ctx.redis.delete(key)
        gone = time.monotonic()
        while host2.sio.connected and time.monotonic() - gone < 10:
            await asyncio.sleep(0.05)
        cut = time.monotonic() - gone
        await host2.close()
    finally:
        await asyncio.gather(host.close(), *(p.close() for p in players))
    code = (late or {}).get("error", {}).get("code") if isinstance(late, dict) else late
    ok = stayed < 5 + 2.5 and refusal is not None and code == "wrong_state" and cut < 2.5
    ctx.report(
        "5",
        "old host socket after its game",
        ok,
        f"late start_game -> {code}; socket closed {stayed:.1f} s after end_game (grace 5 s); "
        f"old host token again -> {(refusal or {}).get('code')}; socket of an expired game closed "
        f"after {cut:.1f} s",
    )


async def move_game(ctx: Ctx, from_pin: str, to_pin: str) -> None:
    """Put the game of `from_pin` on `to_pin`, as if it had drawn that PIN."""
    old = f"{ctx.redis_prefix}:game:{{{from_pin}}}".encode()
    new = f"{ctx.redis_prefix}:game:{{{to_pin}}}".encode()
    async for key in ctx.redis.scan_iter(match=old.decode() + "*"):
        await ctx.redis.rename(key, new + key[len(old) :])
    await ctx.redis.hset(new.decode(), "pin", to_pin)


async def probe_5_next_game(ctx: Ctx) -> None:
    """The old host socket commands the next game that draws the same PIN."""
    owner = await new_user(ctx)
    old = await new_game(ctx, owner)
    host, _ = await host_and_players(ctx, old, [])
    acks: dict[str, Any] = {}
    try:
        await host.wait("welcome")
        assert (await host.call("start_game"))["ok"]
        await host.call("end_game")
        await host.wait("game_finished")
        # The old game's keys expire and the next game draws its PIN; the old host
        # fires its commands at once (before the once-a-second sweep closes it).
        nxt = await new_game(ctx, owner)
        async for key in ctx.redis.scan_iter(match=f"{ctx.redis_prefix}:game:{{{old['pin']}}}*"):
            await ctx.redis.delete(key)
        await move_game(ctx, nxt["pin"], old["pin"])
        moved = time.monotonic()

        async def command(event: str, payload: dict[str, Any]) -> None:
            try:
                ack = await host.call(event, payload, timeout=3)
                acks[event] = ack.get("error", {}).get("code") if not ack.get("ok") else "ok"
            except Exception:  # the socket was closed first: refused too
                acks[event] = "closed"

        await asyncio.gather(
            command("lock_game", {"locked": True}),
            command("start_game", {}),
            command("end_game", {}),
        )
        while host.sio.connected and time.monotonic() - moved < 5:
            await asyncio.sleep(0.05)
        closed_after = time.monotonic() - moved
        state = await ctx.redis.hmget(
            f"{ctx.redis_prefix}:game:{{{old['pin']}}}", ["status", "locked", "id"]
        )
    finally:
        await host.close()
    status, locked, gid = (v.decode() if v else None for v in state)
    ok = (
        all(v in ("game_not_found", "closed") for v in acks.values())
        and status == "lobby"
        and locked in (None, "0")
        and gid == nxt["game_id"]
        and closed_after < 2.5
    )
    ctx.report(
        "5",
        "old host socket vs the next game on its PIN",
        ok,
        f"acks {acks}; next game {status}, locked {locked}; old socket closed after "
        f"{closed_after:.1f} s",
    )


async def probe_6_quota(ctx: Ctx) -> None:
    """40 live games at once from one account."""
    owner = await new_user(ctx)
    _status, created, _ = await call(
        ctx.http, "POST", f"{ctx.url}/api/v1/quizzes", owner.address, owner.token, json=quiz()
    )
    results = await asyncio.gather(
        *(
            call(
                ctx.http,
                "POST",
                f"{ctx.url}/api/v1/games",
                owner.address,
                owner.token,
                json={"quiz_id": created["id"]},
            )
            for _ in range(40)
        )
    )
    made = sum(1 for s, _, _ in results if s == 201)
    refused = sum(1 for s, b, _ in results if s == 409 and error_code(b) == "too_many_live_games")
    compose = (ROOT / "docker-compose.yml").read_text()
    capped = "--maxmemory" in compose and "noeviction" in compose
    ctx.report(
        "6",
        "40 live games from one account",
        made <= ctx.args.games_limit and refused == 40 - made and capped,
        f"{made} x 201, {refused} x 409 too_many_live_games; "
        f"compose maxmemory+noeviction: {capped}",
    )


async def stored(ctx: Ctx, base: str, owner: User, game_id: str, timeout: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        s, _, _ = await call(
            ctx.http, "GET", f"{base}/api/v1/results/{game_id}", owner.address, owner.token
        )
        if s == 200:
            return time.monotonic() - start
        await asyncio.sleep(0.25)
    return None


async def probe_7_abandoned(ctx: Ctx) -> None:
    """The host walks away after the last reveal; a crash between finish and parking."""
    prefix = f"audit7{uuid.uuid4().hex[:6]}"
    server = await spawn(ctx, SPAWNED["7"], prefix)
    try:
        owner = await new_user(ctx, server.url)
        game = await new_game(ctx, owner, base=server.url)
        host, players = await host_and_players(ctx, game, ["Ann"], server.url)
        await host.wait("welcome")
        await host.call("start_game")
        await players[0].wait("question_started")
        await players[0].call("submit_answer", {"question_index": 0, "answer": 1})
        await host.wait("question_ended")
        await host.close()  # the teacher closes the tab at the last reveal
        took = await stored(ctx, server.url, owner, game["game_id"], 30)
        await players[0].close()
        # Two questions; the host's tab dies while the first is still open.
        two = [quiz()["questions"][0], quiz()["questions"][0]]
        game2 = await new_game(ctx, owner, questions=two, base=server.url)
        host2, players2 = await host_and_players(ctx, game2, ["Bea"], server.url)
        await host2.wait("welcome")
        await host2.call("start_game")
        await players2[0].wait("question_started")
        await host2.close()
        took2 = await stored(ctx, server.url, owner, game2["game_id"], 30)
        await players2[0].close()
    finally:
        server.stop()
    ctx.report(
        "7",
        "host walks away after the last reveal (auto-finish 2 s)",
        took is not None,
        f"results stored {took:.1f} s after the host left"
        if took is not None
        else "not stored in 30 s",
    )
    ctx.report(
        "7",
        "host walks away mid-game (auto-finish without host 2 s)",
        took2 is not None,
        f"results stored {took2:.1f} s after the host left"
        if took2 is not None
        else "not stored in 30 s",
    )

    prefix = f"audit7c{uuid.uuid4().hex[:6]}"
    crashing = await spawn(ctx, SPAWNED["7-crash"], prefix)
    survivor = None
    try:
        owner = await new_user(ctx, crashing.url)
        game = await new_game(ctx, owner, base=crashing.url)
        host, players = await host_and_players(ctx, game, ["Ann"], crashing.url)
        await host.wait("welcome")
        await host.call("start_game")
        await players[0].wait("question_started")
        await players[0].call("submit_answer", {"question_index": 0, "answer": 1})
        try:
            await host.call("end_game", timeout=3)
        except Exception:
            pass
        crashing.proc.wait(timeout=10)
        code = crashing.proc.returncode
        await asyncio.gather(host.close(), players[0].close(), return_exceptions=True)
        survivor = await spawn(ctx, {}, prefix)
        took = await stored(ctx, survivor.url, owner, game["game_id"], 40)
    finally:
        crashing.stop()
        if survivor:
            survivor.stop()
    ctx.report(
        "7",
        "process killed between finish_game.lua and parking",
        took is not None,
        f"exit {code}; next process stored the results after {took:.1f} s"
        if took is not None
        else f"exit {code}; not stored in 40 s",
    )


async def probe_8_churn(ctx: Ctx) -> None:
    """100 join/leave cycles with max_players 2, then two players play; stored players."""
    owner = await new_user(ctx)
    game = await new_game(ctx, owner, settings={"max_players": 2})
    host, keep = await host_and_players(ctx, game, ["Keeper"])
    refused = 0
    try:
        await host.wait("welcome")
        for k in range(100):
            c = Client(ctx.url, host.address)
            if await c.connect({"pin": game["pin"], "nickname": f"Churn{k}"}) is not None:
                refused += 1
                continue
            await c.wait("welcome")
            await c.call("leave")
            await c.close()
        second = Client(ctx.url, host.address)
        refusal = await second.connect({"pin": game["pin"], "nickname": "Second"})
        keep.append(second)
        size = await ctx.redis.hlen(f"{ctx.redis_prefix}:game:{{{game['pin']}}}:players")
        await host.call("start_game")
        await keep[0].wait("question_started")
        await host.call("end_game")
        took = await stored(ctx, ctx.url, owner, game["game_id"], 20)
        _s, out, _ = await call(
            ctx.http,
            "GET",
            f"{ctx.url}/api/v1/results/{game['game_id']}/players",
            owner.address,
            owner.token,
        )
        rows = (
            len(out)
            if isinstance(out, list)
            else len(out.get("items", out.get("players", [])))
            if isinstance(out, dict)
            else -1
        )
    finally:
        await asyncio.gather(host.close(), *(p.close() for p in keep))
    ok = refused == 0 and refusal is None and size <= 2 and rows == 2
    ctx.report(
        "8",
        "100 join/leave cycles, max_players 2",
        ok,
        f"{refused} churn joins refused, last seat {'taken' if refusal is None else refusal}, "
        "players hash "
        f"{size}, stored players {rows} (stored: {took is not None})",
    )


async def probe_9_totp(ctx: Ctx) -> None:
    """TOTP replay, /totp/disable brute force, secret at rest, backup codes."""
    user = await new_user(ctx)
    base = f"{ctx.url}/api/v1/users"
    _, setup, _ = await call(ctx.http, "POST", f"{base}/totp/setup", user.address, user.token)
    totp = pyotp.TOTP(setup["secret"])
    _s, enabled, _ = await call(
        ctx.http, "POST", f"{base}/totp/enable", user.address, user.token, json={"code": totp.now()}
    )
    backups = enabled.get("backup_codes", []) if isinstance(enabled, dict) else []
    # The code that enabled TOTP is spent for its time step: log in with the next one.
    await asyncio.sleep(30 - time.time() % 30 + 0.5)
    code = totp.now()
    login = {"login": user.name, "password": PASSWORD, "totp": code}
    first, _, _ = await call(ctx.http, "POST", f"{base}/login", user.address, json=login)
    replay, _, _ = await call(ctx.http, "POST", f"{base}/login", user.address, json=login)
    ctx.report(
        "9",
        "TOTP code replayed in its window",
        first == 200 and replay == 401,
        f"first login {first}, replay {replay}",
    )

    wrong = [f"{(int(code) + k) % 10**6:06d}" for k in range(3, 63)]
    start = time.monotonic()
    results = await asyncio.gather(
        *(
            call(
                ctx.http, "POST", f"{base}/totp/disable", user.address, user.token, json={"code": c}
            )
            for c in wrong
        )
    )
    rate = len(wrong) / (time.monotonic() - start)
    judged = sum(1 for s, _, _ in results if s in (400, 401, 422))
    limited = [h for s, _, h in results if s == 429]
    ok_disable = (
        judged <= ctx.args.totp_limit
        and len(limited) == 60 - judged
        and all("Retry-After" in h for h in limited)
    )
    ctx.report(
        "9",
        "60 concurrent /totp/disable guesses",
        ok_disable,
        f"{judged} judged, {len(limited)} x 429 ({rate:.0f} tries/s; limit {ctx.args.totp_limit})",
    )

    sealed = None
    if ctx.args.database_url:
        import asyncpg

        conn = await asyncpg.connect(ctx.args.database_url)
        try:
            stored_secret = await conn.fetchval(
                "SELECT totp_secret FROM users WHERE username = $1", user.name
            )
            n_codes = await conn.fetchval(
                "SELECT count(*) FROM totp_backup_codes b JOIN users "
                "u ON u.id = b.user_id WHERE u.username = $1",
                user.name,
            )
        finally:
            await conn.close()
        sealed = stored_secret is not None and setup["secret"] not in stored_secret
    ctx.report(
        "9",
        "secret at rest and backup codes",
        sealed is not False and len(backups) == 10,
        f"stored secret sealed: {'not checked' if sealed is None else sealed}, "
        f"{len(backups)} backup codes shown"
        + (f", {n_codes} rows" if ctx.args.database_url else ""),
    )


async def probe_10_csrf(ctx: Ctx) -> None:
    """text/plain + cookie + a sibling subdomain's Origin."""
    user = await new_user(ctx)
    s, out, _headers = await call(
        ctx.http,
        "POST",
        f"{ctx.url}/api/v1/users/login",
        user.address,
        json={"login": user.name, "password": PASSWORD},
    )
    cookie = f"access_token={out['access_token']}"
    body = json.dumps(quiz()).encode()
    results = {}
    for label, ctype, origin in [
        ("text/plain + evil origin", "text/plain", "https://evil.school.example"),
        ("json + evil origin", "application/json", "https://evil.school.example"),
        ("text/plain + own origin", "text/plain", ctx.url),
        ("json + own origin", "application/json", ctx.url),
    ]:
        s, _, _ = await call(
            ctx.http,
            "POST",
            f"{ctx.url}/api/v1/quizzes",
            user.address,
            data=body,
            headers={"Content-Type": ctype, "Origin": origin, "Cookie": cookie},
        )
        results[label] = s
    ok = (
        results["text/plain + evil origin"] in (403, 415)
        and results["json + evil origin"] == 403
        and results["text/plain + own origin"] == 415
        and results["json + own origin"] == 201
    )
    ctx.report(
        "10",
        "cookie writes from a foreign origin",
        ok,
        ", ".join(f"{k} -> {v}" for k, v in results.items()),
    )


def big_quiz() -> dict[str, Any]:
    question = {
        "type": "single",
        "text": "Which of these is right? " + "é" * 470,
        "time_limit_s": 20,
        "choices": [{"text": f"{n} " + "ü" * 140, "correct": n == 0} for n in range(6)],
    }
    return quiz([question] * 200)


async def probe_11_pieces(ctx: Ctx) -> None:
    """A valid ~450 kB quiz whose body arrives in two writes 100 ms apart."""
    user = await new_user(ctx)
    body = json.dumps(big_quiz(), ensure_ascii=False).encode()
    host, port = ctx.url.split("//", 1)[1].split(":")
    statuses = []
    for _ in range(3):
        reader, writer = await asyncio.open_connection(host, int(port))
        head = (
            f"POST /api/v1/quizzes HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: "
            "application/json\r\n"
            f"Authorization: Bearer {user.token}\r\nX-Forwarded-For: {user.address}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        writer.write(head + body[: len(body) // 2])
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.write(body[len(body) // 2 :])
        await writer.drain()
        line = await reader.readline()
        statuses.append(int(line.split()[1]))
        writer.close()
    ctx.report(
        "11",
        f"a {len(body) // 1000} kB quiz in two writes",
        statuses == [201] * 3,
        f"statuses {statuses}",
    )


async def probe_12_inputs(ctx: Ctx) -> None:
    """NUL characters and 10^30 in every kind of input: never a 5xx."""
    user = await new_user(ctx)
    a, t, u = user.address, user.token, ctx.url
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        (
            "login NUL",
            "POST",
            f"{u}/api/v1/users/login",
            {"json": {"login": "a\u0000b", "password": "x\u0000"}},
        ),
        (
            "register NUL",
            "POST",
            f"{u}/api/v1/users/register",
            {
                "json": {
                    "email": "n\u0000@example.org",
                    "username": "n\u0000x",
                    "password": PASSWORD,
                }
            },
        ),
        ("quiz title NUL", "POST", f"{u}/api/v1/quizzes", {"json": quiz(title="T\u0000itle")}),
        ("quiz tag NUL", "POST", f"{u}/api/v1/quizzes", {"json": {**quiz(), "tags": ["a\u0000"]}}),
        ("api key name NUL", "POST", f"{u}/api/v1/users/api-keys", {"json": {"name": "k\u0000"}}),
        ("offset 10^30", "GET", f"{u}/api/v1/quizzes?offset={10**30}", {}),
        ("limit 10^30", "GET", f"{u}/api/v1/quizzes?limit={10**30}", {}),
        ("results offset 10^30", "GET", f"{u}/api/v1/results?offset={10**30}", {}),
        (
            "time limit 10^30",
            "POST",
            f"{u}/api/v1/quizzes",
            {"json": quiz([{**quiz()["questions"][0], "time_limit_s": 10**30}])},
        ),
        (
            "points 10^30",
            "POST",
            f"{u}/api/v1/quizzes",
            {"json": quiz([{**quiz()["questions"][0], "points": 10**30}])},
        ),
        (
            "game max_players 10^30",
            "POST",
            f"{u}/api/v1/games",
            {"json": {"quiz_id": str(uuid.uuid4()), "settings": {"max_players": 10**30}}},
        ),
        ("PIN NUL", "GET", f"{u}/api/v1/games/12%0034", {}),
        ("quiz id NUL", "GET", f"{u}/api/v1/quizzes/ab%00cd", {}),
    ]
    log = Path(ctx.args.server_log) if ctx.args.server_log else None
    start = log.stat().st_size if log else 0
    bad = []
    for label, method, url, kw in cases:
        s, _, _ = await call(ctx.http, method, url, a, t, **kw)
        if s >= 500:
            bad.append(f"{label}={s}")
    leaks: str | list[str] = "not read (no --server-log)"
    if log:
        await asyncio.sleep(0.5)
        with open(log, "rb") as f:
            f.seek(start)
            written = f.read().decode(errors="replace")
        needles = ["Traceback", "[parameters", PASSWORD, user.token, "\\u0000"]
        leaks = [n[:12] for n in needles if n in written]
    ctx.report(
        "12",
        f"{len(cases)} NUL / 10^30 inputs",
        not bad and not (isinstance(leaks, list) and leaks),
        f"5xx: {bad or 'none'}; tracebacks, SQL parameters or secrets in the server log: "
        f"{leaks if not isinstance(leaks, list) else leaks or 'none'}",
    )


async def probe_13_nfkc(ctx: Ctx) -> None:
    """Roster entries that NFKC-expand past the stored length."""
    user = await new_user(ctx)
    statuses = {}
    for label, entry in [
        ("40 x U+FDFA", "\ufdfa" * 40),
        ("3 x U+FDFA", "\ufdfa" * 3),
        ("zero-width", "\u200b\u200b"),
    ]:
        s, created, _ = await call(
            ctx.http, "POST", f"{ctx.url}/api/v1/quizzes", user.address, user.token, json=quiz()
        )
        s, _out, _ = await call(
            ctx.http,
            "POST",
            f"{ctx.url}/api/v1/games",
            user.address,
            user.token,
            json={
                "quiz_id": created["id"],
                "settings": {"nicknames": {"mode": "roster", "roster": [entry, "Ann"]}},
            },
        )
        statuses[label] = s
    dead = await ctx.redis.hlen(f"{ctx.redis_prefix}:results:dead")
    ctx.report(
        "13",
        "roster names that NFKC-expand",
        all(s == 422 for s in statuses.values()),
        ", ".join(f"{k} -> {v}" for k, v in statuses.items())
        + f"; results set aside so far: {dead}",
    )


async def probe_14_answers(ctx: Ctx) -> None:
    """Bidi overrides, zero-width characters and NUL in text answers."""
    owner = await new_user(ctx)
    game = await new_game(ctx, owner, questions=[TEXT_QUESTION])
    host, players = await host_and_players(ctx, game, ["Ann", "Bob"])
    codes = []
    try:
        await host.wait("welcome")
        await host.call("start_game")
        await players[0].wait("question_started")
        for answer in ["Pa\u202eris", "\u200bParis", "Par\u0000is", "Paris\u2066", "\ufeffLyon"]:
            ack = await players[0].call("submit_answer", {"question_index": 0, "answer": answer})
            codes.append(ack.get("error", {}).get("code") if not ack.get("ok") else "ok")
        await players[0].call("submit_answer", {"question_index": 0, "answer": "Paris"})
        await players[1].call("submit_answer", {"question_index": 0, "answer": "Lyon"})
        ended = await players[1].wait("question_ended")
    finally:
        await asyncio.gather(host.close(), *(p.close() for p in players))
    dist = ended.get("distribution", {})
    hidden = re.compile("[\u0000-\u001f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
    leaked = [k for k in (dist if isinstance(dist, dict) else {}) if hidden.search(str(k))]
    ok = all(c == "invalid_answer" for c in codes) and not leaked
    ctx.report("14", "hidden characters in text answers", ok, f"acks {codes}; distribution {dist}")


async def probe_15_headers(ctx: Ctx) -> None:
    """Security headers on every kind of response; /metrics."""
    missing = []
    for path in ["/healthz", "/api/v1/quizzes", "/api/openapi.json", "/api/docs", "/nope", "/"]:
        async with ctx.http.get(ctx.url + path) as resp:
            h = resp.headers
            csp = h.get("Content-Security-Policy", "")
            for name, good in [
                ("CSP frame-ancestors", "frame-ancestors" in csp),
                ("nosniff", h.get("X-Content-Type-Options") == "nosniff"),
                ("Referrer-Policy", "Referrer-Policy" in h),
                ("Server without version", not re.search(r"\d", h.get("Server", ""))),
            ]:
                if not good:
                    missing.append(f"{path}: {name}")
    async with ctx.http.get(ctx.url + "/metrics") as resp:
        metrics = resp.status
    caddy = (ROOT / "Caddyfile").read_text()
    hsts = "Strict-Transport-Security" in caddy
    ctx.report(
        "15",
        "security headers and /metrics",
        not missing and metrics in (401, 404) and hsts,
        f"missing: {missing or 'none'}; /metrics without "
        f"token -> {metrics}; HSTS in Caddyfile: {hsts}",
    )


async def probe_16_blocklist(ctx: Ctx) -> None:
    """A blocklisted word inside a name."""
    owner = await new_user(ctx)
    game = await new_game(ctx, owner, settings={"nicknames": {"blocklist": ["badword"]}})
    verdicts = {}
    for name in [
        "xxBadWordxx",
        "the b4d w0rd",
        "\uff22\uff21\uff24\uff37\uff2f\uff32\uff24",
        "Badger",
    ]:
        c = Client(ctx.url, owner.address)
        refusal = await c.connect({"pin": game["pin"], "nickname": name})
        verdicts[name] = "admitted" if refusal is None else refusal.get("code")
        await c.close()
    ok = (
        all(v == "nickname_not_allowed" for k, v in verdicts.items() if k != "Badger")
        and verdicts["Badger"] == "admitted"
    )
    ctx.report("16", "blocked word inside a name", ok, str(verdicts))


def operations(spec: dict[str, Any]) -> int:
    verbs = {"get", "post", "put", "patch", "delete"}
    return sum(1 for item in spec["paths"].values() for verb in item if verb in verbs)


def dangling_refs(spec: dict[str, Any]) -> list[str]:
    names = set(spec.get("components", {}).get("schemas", {}))
    refs: list[str] = []
    stack: list[Any] = [spec]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                if ref.rsplit("/", 1)[1] not in names:
                    refs.append(ref)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return sorted(set(refs))


async def probe_17_docs(ctx: Ctx) -> None:
    """/api/docs in Chromium; dangling $refs; the spec validator."""
    from openapi_spec_validator import validate
    from playwright.async_api import async_playwright

    async with ctx.http.get(ctx.url + "/api/openapi.json") as resp:
        spec = await resp.json()
    dangling = dangling_refs(spec)
    try:
        validate(spec)
        valid = "valid"
    except Exception as exc:
        valid = f"invalid: {str(exc)[:120]}"
    expected = operations(spec)
    problems: list[str] = []
    blocks = -1
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = await browser.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            await page.goto(f"{ctx.url}/api/docs", wait_until="networkidle")
            try:
                await page.wait_for_function(
                    "n => document.querySelectorAll('.opblock').length >= n",
                    arg=expected,
                    timeout=15000,
                )
            except Exception:
                pass
            blocks = await page.locator(".opblock").count()
            text = await page.locator("body").inner_text()
        finally:
            await browser.close()
    unable = bool(re.search(r"unable to render|resolver error", text, re.I))
    ok = blocks == expected and not unable and not problems and not dangling and valid == "valid"
    ctx.report(
        "17",
        "/api/docs in Chromium, $refs, validator",
        ok,
        f"{blocks}/{expected} operations rendered, errors {problems[:3] or 'none'}, "
        f"'unable to render': {unable}, dangling refs {dangling or 'none'}, spec {valid}",
    )


def busiest_second(instants: list[float]) -> int:
    return max(
        (sum(1 for t in instants[i:] if t - s < 1.0) for i, s in enumerate(instants)), default=0
    )


def gaps(instants: list[float]) -> list[int]:
    """Milliseconds between consecutive arrivals (how close the sends came)."""
    return [round((b - a) * 1000) for a, b in itertools.pairwise(instants)]


async def probe_18_answer_count(ctx: Ctx) -> None:
    """answer_count reaching the host behind two workers, 60 players answering over 3 s."""
    prefix = f"audit18{uuid.uuid4().hex[:6]}"
    server = await spawn(ctx, SPAWNED["18"], prefix, workers=2)
    urls = [server.url, f"http://127.0.0.1:{server.port + 1}"]
    clients: list[Client] = []
    try:
        owner = await new_user(ctx, urls[0])
        game = await new_game(
            ctx, owner, settings={"nicknames": {"filter_profanity": False}}, base=urls[0]
        )
        host = Client(urls[0], owner.address)
        clients.append(host)
        assert await host.connect({"host_token": game["host_token"]}) is None
        counts: list[tuple[float, int]] = []

        @host.sio.on("answer_count")
        async def on_count(data: dict[str, Any]) -> None:
            counts.append((time.monotonic(), data.get("answered", -1)))

        players = []
        for k in range(60):
            p = Client(urls[k % 2], owner.address)
            clients.append(p)
            assert await p.connect({"pin": game["pin"], "nickname": f"Seat{k}"}) is None
            players.append(p)
        await host.call("start_game")
        await asyncio.gather(*(p.wait("question_started") for p in players))

        async def answer(k: int, p: Client) -> None:
            await asyncio.sleep(k * 3.0 / 60)
            await p.call("submit_answer", {"question_index": 0, "answer": k % 3})

        await asyncio.gather(*(answer(k, p) for k, p in enumerate(players)))
        await host.wait("question_ended", timeout=15)
        await asyncio.sleep(0.5)
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        server.stop()
    instants = [t for t, _ in counts]
    busiest = busiest_second(instants)
    last = counts[-1][1] if counts else None
    ctx.report(
        "18",
        "answer_count behind two workers",
        busiest <= 10 and last == 60,
        f"{len(counts)} answer_count in {instants[-1] - instants[0]:.2f} "
        f"s, busiest second {busiest}, "
        f"last count {last}, gaps in ms {gaps(instants)}"
        if counts
        else "no answer_count",
    )


# The limiter probes last: they block their addresses (and the server's, without
# TRUSTED_PROXIES), which would refuse the probes after them.
PROBES: list[tuple[str, Callable[[Ctx], Awaitable[None]]]] = [
    ("1", probe_1_binary),
    ("4", probe_4_ttl),
    ("5", probe_5_old_host),
    ("5", probe_5_next_game),
    ("6", probe_6_quota),
    ("7", probe_7_abandoned),
    ("8", probe_8_churn),
    ("10", probe_10_csrf),
    ("11", probe_11_pieces),
    ("12", probe_12_inputs),
    ("13", probe_13_nfkc),
    ("14", probe_14_answers),
    ("15", probe_15_headers),
    ("16", probe_16_blocklist),
    ("17", probe_17_docs),
    ("18", probe_18_answer_count),
    ("9", probe_9_totp),
    ("3", probe_3_register),
    ("2", probe_2_limits),
]


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--only", default="", help="comma-separated finding numbers")
    parser.add_argument(
        "--pid", type=int, default=None, help="server pid for RSS (found from the port if unset)"
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--redis-prefix", default=os.environ.get("REDIS_PREFIX", "cq"))
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--login-limit", type=int, default=20)
    parser.add_argument("--failure-limit", type=int, default=20)
    parser.add_argument("--register-limit", type=int, default=10)
    parser.add_argument("--games-limit", type=int, default=5)
    parser.add_argument("--totp-limit", type=int, default=5)
    parser.add_argument("--log-dir", default="/tmp", help="where spawned servers log")
    parser.add_argument("--server-log", default=None, help="the --url server's log (probe 12)")
    args = parser.parse_args()
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    redis = Redis.from_url(args.redis_url)
    async with ClientSession(timeout=ClientTimeout(total=120)) as http:
        ctx = Ctx(args.url.rstrip("/"), redis, args.redis_prefix, args, http)
        for finding, probe in PROBES:
            if only and finding not in only:
                continue
            try:
                await probe(ctx)
            except Exception as exc:
                ctx.report(
                    finding,
                    probe.__doc__.splitlines()[0] if probe.__doc__ else probe.__name__,
                    False,
                    f"probe error {type(exc).__name__}: {str(exc)[:300]}",
                )
    await redis.aclose()
    fails = sum(1 for r in ctx.results if not r.ok)
    print(f"\n{len(ctx.results) - fails} PASS, {fails} FAIL")
    return fails


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
