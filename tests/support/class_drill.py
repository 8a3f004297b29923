"""One game of a 100-player class behind Caddy, with a worker struck by a signal mid-question.

The two worker drills (`kill -9`, tests/test_drill_workers.py; SIGTERM,
tests/test_drill_sigterm.py) play the same game and hold it to the same promises;
only the signal and what the test checks afterwards differ:

- question 0: everyone answers (score and streak 1 to keep);
- question 1: 40 % answer and are acknowledged; then 50 % answer at once while the
  worker holding the class gets the signal (clients send the PIN in the query, so
  Caddy puts the whole game on one worker, and the whole class must move); 10 % never answer, so the
  deadline (not the last answer) ends the question;
- the struck worker's people come back through Caddy with their token, as
  themselves, with their score and streak; those whose answer got no ack and was
  not taken answer again;
- the question ends at its deadline; every `your_result` matches what was taken;
- question 2: everyone answers; the game ends; the stored results have each
  acknowledged answer exactly once, and nothing else.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg2
from aiohttp import ClientSession

from tests.support.caddy import CaddyFront
from tests.support.drill import (
    DrillClient,
    join_class,
    percentile,
    pid_exited,
    socket_count,
    workers_by_port,
)
from tests.support.live import create_game, stored_results
from tests.support.quizzes import single_choice
from tests.support.users import ApiUser, register_user

PLAYERS = 100
# Every 5th player long-polls (no WebSocket), as behind a proxy that blocks WebSockets:
# the PIN in the query keeps all of its requests on one worker without cookies.
POLLING_EVERY = 5
STRUCK_QUESTION_S = 12
# The deadline lease lapses 1.5 s after a dead holder's last renewal and is taken on the
# next 100 ms tick (docs/architecture.md): a deadline may fire that much late, plus delivery.
LEASE_HANDOVER_MS = 1600 + 1400

Answered = set[tuple[str, int]]


@dataclass
class Strike:
    """What happened to the struck worker and its people, for the test to check and print."""

    signum: int
    victim_url: str
    survivor_url: str
    victim_port: int
    victim_pid: int
    struck_at: float
    exited_after_s: float | None = None
    on_victim: list[DrillClient] = field(default_factory=list)
    burst: int = 0
    unacked: int = 0
    stored_without_ack: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    question_end_late_ms: float = 0.0

    def outages(self, transport: str | None = None) -> list[float]:
        return [
            o.seconds
            for c in self.on_victim
            if transport in (None, c.transport)
            for o in c.outages
            if o.seconds is not None
        ]

    def summary(self, name: str) -> str:
        gaps = self.outages()
        exited = "n/a" if self.exited_after_s is None else f"{self.exited_after_s:.2f}"
        return (
            f"DRILL {name}: players={PLAYERS} on_struck_worker={len(self.on_victim)} "
            f"back={len(gaps)} outage_s p50={percentile(gaps, 50):.2f} "
            f"p95={percentile(gaps, 95):.2f} max={max(gaps, default=0):.2f} "
            f"polling_max={max(self.outages('polling'), default=0):.2f} "
            f"answers_in_burst={self.burst} unacked={self.unacked} "
            f"stored_without_ack={self.stored_without_ack} refused={len(self.refused)} "
            f"worker_exit_s={exited} question_end_late_ms={self.question_end_late_ms:.0f}"
        )


def game_url(url: str, pin: str) -> str:
    """The address a client of game `pin` connects to: with the PIN in the query, as
    docs/protocol.md asks, so that Caddy sends the whole game to one worker."""
    return f"{url}/?pin={pin}"


def correct_choice(question: dict[str, Any]) -> int:
    """single_choice() makes the choice "A" the right one."""
    return next(int(c["id"]) for c in question["choices"] if c["text"] == "A")


def stored_answers(database_url: str, game_id: str) -> list[tuple[str, int]]:
    """(player id, question index) of every row of the game in game_answers."""
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT player_id, question_index FROM game_answers WHERE game_id = %s",
                (game_id,),
            )
            return [(str(row[0]), int(row[1])) for row in cur.fetchall()]
    finally:
        conn.close()


async def answer_all(
    players: list[DrillClient], qi: int, choice: int
) -> list[dict[str, Any] | None]:
    return list(
        await asyncio.gather(
            *(p.call("submit_answer", {"question_index": qi, "answer": choice}) for p in players)
        )
    )


async def play_question(
    host: DrillClient, players: list[DrillClient], qi: int
) -> dict[str, dict[str, Any]]:
    """Everyone answers question `qi` correctly; returns each player's `your_result`."""
    started = await players[0].wait_for("question_started", {"question_index": qi})
    for p in players[1:]:
        await p.wait_for("question_started", {"question_index": qi})
    acks = await answer_all(players, qi, correct_choice(started["question"]))
    assert all(ack is not None and ack["ok"] for ack in acks), acks
    await host.wait_for("question_ended", {"question_index": qi})
    return {p.name: await p.wait_for("your_result", {"question_index": qi}) for p in players}


async def watch_exit(pid: int, since: float, timeout: float = 30) -> float | None:
    """Seconds from `since` until `pid` is gone; None if it outlived `timeout`."""
    while time.monotonic() - since < timeout:
        if pid_exited(pid):
            return time.monotonic() - since
        await asyncio.sleep(0.01)
    return None


async def dropped(clients: list[DrillClient], count: int, timeout: float = 12) -> list[DrillClient]:
    """The clients that lost their connection (they have an outage), once `count` have."""
    deadline = time.monotonic() + timeout
    while True:
        lost = [c for c in clients if c.outages]
        if len(lost) >= count or time.monotonic() > deadline:
            return lost
        await asyncio.sleep(0.02)


AfterQuestion = Callable[[Strike, list[DrillClient], dict[str, dict[str, Any]]], Awaitable[None]]


async def struck_game(
    front: CaddyFront,
    database_url: str,
    signum: int,
    after_question: AfterQuestion | None = None,
) -> Strike:
    """Play the drill's game, sending `signum` to a worker mid-question (see the module)."""
    supervisor_pid = front.supervisor.proc.pid
    async with ClientSession(front.url) as http:
        owner = await register_user(http)
        questions = [
            single_choice("Warm-up", time_limit_s=30),
            single_choice("The one with the fault", time_limit_s=STRUCK_QUESTION_S),
            single_choice("After", time_limit_s=30),
        ]
        game = await create_game(owner, questions)
        entry = [game_url(front.url, game["pin"])]
        host = await DrillClient("host", entry, {"host_token": game["host_token"]}).connect()
        players = await join_class(entry, game["pin"], PLAYERS, polling_every=POLLING_EVERY)
        everyone = [host, *players]
        try:
            await host.wait_for("player_joined", {"players_count": PLAYERS})
            assert (await host.call("start_game", {}) or {}).get("ok"), "start refused"
            q0 = await play_question(host, players, 0)
            assert all(r["streak"] == 1 and r["correct"] for r in q0.values()), q0
            assert (await host.call("next_question", {}) or {}).get("ok")
            strike, taken = await _struck_question(front, supervisor_pid, signum, host, players, q0)
            results1 = {
                p.name: await p.wait_for("your_result", {"question_index": 1}) for p in players
            }
            for p in players:
                r = results1[p.name]
                assert r["answered"] is ((p.player["player_id"], 1) in taken), (p.name, r)
                assert r["streak"] == (2 if r["answered"] else 0), (p.name, r)
            if after_question is not None:
                await after_question(strike, players, results1)
            assert (await host.call("next_question", {}) or {}).get("ok")
            q2 = await play_question(host, players, 2)
            done = await host.call("next_question", {})
            assert done == {"ok": True, "finished": True}, done
            await host.wait_for("game_finished")
        finally:
            await asyncio.gather(*(c.close() for c in everyone))
        await _check_stored(owner, database_url, game["game_id"], players, taken, q2)
    return strike


async def _struck_question(
    front: CaddyFront,
    supervisor_pid: int,
    signum: int,
    host: DrillClient,
    players: list[DrillClient],
    q0: dict[str, dict[str, Any]],
) -> tuple[Strike, Answered]:
    everyone = [host, *players]
    started = await players[0].wait_for("question_started", {"question_index": 1})
    for p in players[1:]:
        await p.wait_for("question_started", {"question_index": 1})
    deadline_ms, choice = started["deadline_at_ms"], correct_choice(started["question"])
    early = [p for i, p in enumerate(players) if i % 10 < 4]
    burst = [p for i, p in enumerate(players) if 4 <= i % 10 < 9]
    idle = [p for i, p in enumerate(players) if i % 10 == 9]
    acked: Answered = set()
    for p, ack in zip(early, await answer_all(early, 1, choice), strict=True):
        assert ack is not None and ack["ok"], ack
        acked.add((p.player["player_id"], 1))

    # The worker holding (most of) the class is struck.
    counts = [await socket_count(url) for url in front.worker_urls]
    assert sum(counts) == PLAYERS + 1, counts
    victim = counts.index(max(counts))
    victim_url, survivor_url = front.worker_urls[victim], front.worker_urls[1 - victim]
    victim_port = int(victim_url.rsplit(":", 1)[1])
    victim_pid = workers_by_port(supervisor_pid)[victim_port]
    sent = asyncio.ensure_future(answer_all(burst, 1, choice))
    await asyncio.sleep(0.005)  # the burst is on the wire when the signal lands
    os.kill(victim_pid, signum)
    strike = Strike(signum, victim_url, survivor_url, victim_port, victim_pid, time.monotonic())
    exit_watch = asyncio.ensure_future(watch_exit(victim_pid, strike.struck_at))
    strike.burst = len(burst)
    unacked: list[DrillClient] = []
    for p, ack in zip(burst, await sent, strict=True):
        if ack is None:
            unacked.append(p)
        elif ack["ok"]:
            acked.add((p.player["player_id"], 1))
        else:
            strike.refused.append(ack)
    strike.on_victim = await dropped(everyone, counts[victim])
    assert len(strike.on_victim) == counts[victim], (len(strike.on_victim), counts)
    assert not strike.refused, strike.refused
    assert all(p in strike.on_victim for p in unacked), "a survivor's answer went unacked"
    strike.unacked = len(unacked)

    # The struck worker's people come back, as themselves, with what they had.
    await asyncio.gather(*(c.back() for c in strike.on_victim))
    stored_unacked: Answered = set()
    for c in strike.on_victim:
        welcome = c.welcomes[-1]
        assert len(c.welcomes) == 2, (c.name, len(c.welcomes))
        if c is host:
            assert welcome["role"] == "host"
            continue
        # Back while the question is still open: a drained class does not end it early.
        assert welcome["game"]["status"] == "question", (c.name, welcome["game"]["status"])
        me, before = welcome["player"], c.player
        assert (me["player_id"], me["nickname"]) == (before["player_id"], before["nickname"])
        # While a question is open the welcome shows score and streak as it opened.
        assert (me["score"], me["streak"]) == (q0[c.name]["score"], 1), (c.name, me)
        key = (me["player_id"], 1)
        if key in acked:
            assert welcome["answered"] is True, c.name
        elif welcome["answered"]:
            stored_unacked.add(key)  # taken before the strike; its ack never left
    strike.stored_without_ack = len(stored_unacked)
    strike.exited_after_s = await exit_watch
    assert strike.exited_after_s is not None, "the struck worker did not exit"

    # Those whose answer was neither acknowledged nor taken answer again.
    again = [p for p in unacked if (p.player["player_id"], 1) not in stored_unacked]
    for p, ack in zip(again, await answer_all(again, 1, choice), strict=True):
        assert ack is not None and ack["ok"], (p.name, ack)
        acked.add((p.player["player_id"], 1))

    # The question ends at its deadline, fired by a live worker.
    ended = [
        await c.wait_for("question_ended", {"question_index": 1}, timeout=STRUCK_QUESTION_S + 10)
        for c in everyone
    ]
    ended_ms = time.time() * 1000
    strike.question_end_late_ms = ended_ms - deadline_ms
    assert 0 <= strike.question_end_late_ms <= LEASE_HANDOVER_MS, strike.question_end_late_ms
    taken = acked | stored_unacked
    assert ended[0]["answered"] == len(taken) == PLAYERS - len(idle), ended[0]
    return strike, taken


async def _check_stored(
    owner: ApiUser,
    database_url: str,
    game_id: str,
    players: list[DrillClient],
    taken: Answered,
    q2: dict[str, dict[str, Any]],
) -> None:
    """Final scores as the players saw them; each taken answer stored once, nothing else."""
    results = await stored_results(owner, game_id)
    assert {p["player_id"]: p["score"] for p in results["players"]} == {
        p.player["player_id"]: q2[p.name]["score"] for p in players
    }
    rows = await asyncio.to_thread(stored_answers, database_url, game_id)
    expected = (
        {(p.player["player_id"], 0) for p in players}
        | taken
        | {(p.player["player_id"], 2) for p in players}
    )
    assert len(rows) == len(set(rows)) == len(expected), (len(rows), len(expected))
    assert set(rows) == expected
