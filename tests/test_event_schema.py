"""The Socket.IO contract, machine-checked.

(a) docs/asyncapi.json is exactly what the generator produces from the models,
so the committed schema cannot drift from the code; (b) a real game over real
sockets, in which every server → client event and every acknowledgement the
clients receive is validated against the strict models of
classquiz.contracts: an undocumented field, a missing one or a
loosely typed value fails.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from pydantic import BaseModel, RootModel, ValidationError

from classquiz.contracts.acks import COMMON_ACK_ERRORS
from classquiz.contracts.handshake import HANDSHAKE
from classquiz.contracts.socket_events import CLIENT_EVENTS, SERVER_EVENTS
from classquiz.contracts.wire import ServerModel
from classquiz.socket_server.schema import build_asyncapi, render_asyncapi
from tests.support.live import SocketGroup, create_game
from tests.support.quizzes import sample_quiz
from tests.support.sockets import Recorder
from tests.support.users import ApiUser

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "asyncapi.json"
REGENERATE = "python -m classquiz schema > docs/asyncapi.json"

# -- (a) the committed document --------------------------------------------------------------------


def test_committed_asyncapi_is_generated() -> None:
    assert SCHEMA_FILE.exists(), f"docs/asyncapi.json is missing; run `{REGENERATE}`"
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == build_asyncapi(), (
        f"docs/asyncapi.json is out of date with the socket models; run `{REGENERATE}`"
    )


def test_schema_command_prints_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    from classquiz.__main__ import main

    assert main(["schema"]) == 0
    assert capsys.readouterr().out == render_asyncapi()


async def test_asyncapi_is_served(http: ClientSession) -> None:
    async with http.get("/api/asyncapi.json") as resp:
        assert resp.status == 200 and resp.content_type == "application/json"
        assert await resp.json() == build_asyncapi()


def test_asyncapi_document_is_complete() -> None:
    doc = json.loads(render_asyncapi())
    assert doc["asyncapi"] == "3.0.0"
    messages = doc["components"]["messages"]
    schemas = doc["components"]["schemas"]
    for event in CLIENT_EVENTS:
        assert f"receive_{event}" in doc["operations"]
        ack_ref = messages[f"{event}_ack"]["payload"]["$ref"]
        assert ack_ref.endswith(CLIENT_EVENTS[event].ack.__name__)
    for event in SERVER_EVENTS:
        assert f"send_{event}" in doc["operations"]
    assert {"connect", "connect_error"} <= set(messages)
    # every reference resolves inside the document
    text = json.dumps(doc)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "')[1:]}:
        node: Any = doc
        for key in ref.removeprefix("#/").split("/"):
            assert key in node, f"dangling reference {ref}"
            node = node[key]
    assert all("$defs" not in json.dumps(schema) for schema in schemas.values())


def _all_server_models() -> list[type[ServerModel]]:
    found: list[type[ServerModel]] = []
    pending = list(ServerModel.__subclasses__())
    while pending:
        model = pending.pop()
        found.append(model)
        pending.extend(model.__subclasses__())
    return found


def test_models_are_strict_and_closed() -> None:
    for model in _all_server_models():
        assert model.model_config.get("extra") == "forbid", model
        assert model.model_config.get("strict") is True, model
    every = [*(e.model for e in SERVER_EVENTS.values()), *(e.ack for e in CLIENT_EVENTS.values())]
    for model in [*every, *HANDSHAKE.values()]:
        assert issubclass(model, BaseModel)
    assert all(name == e.name for name, e in {**CLIENT_EVENTS, **SERVER_EVENTS}.items())
    started = {
        "question_index": 0,
        "question_count": 1,
        "question": {
            "type": "single",
            "text": "?",
            "image": None,
            "choices": [{"id": 0, "text": "a"}],
            "time_limit_ms": 5000,
            "points": 1,
        },
        "opens_at_ms": 1,
        "deadline_at_ms": 2,
        "server_time_ms": 1,
    }
    SERVER_EVENTS["question_started"].model.model_validate(started)
    for broken in (
        {**started, "surprise": 1},  # an undocumented field
        {**started, "question_index": "0"},  # a loosely typed value
        {**started, "question": {**started["question"], "correct": [0]}},  # a leaked answer
    ):
        with pytest.raises(ValidationError):
            SERVER_EVENTS["question_started"].model.model_validate(broken)
    ack = CLIENT_EVENTS["submit_answer"].ack
    ack.model_validate({"ok": False, "error": {"code": "too_late", "message": "late"}})
    with pytest.raises(ValidationError):
        ack.model_validate({"ok": False, "error": {"code": "player_not_found", "message": "?"}})


# -- (b) a real game over real sockets -------------------------------------------------------------


class Session:
    """The clients of one game: every ack is kept with its event, calls are paced."""

    def __init__(self, base_url: str) -> None:
        self.sockets = SocketGroup(base_url)
        self.acks: list[tuple[str, Any]] = []
        self._calls: dict[int, list[float]] = {}

    @property
    def recorders(self) -> list[Recorder]:
        return self.sockets.clients

    async def connect(self, auth: dict[str, Any], polling: bool = False) -> Recorder:
        return await self.sockets.connect(auth, polling=polling)

    async def call(self, rec: Recorder, event: str, data: Any = None) -> Any:
        # Stay well below the per-socket event rate limit (10 a second).
        times = [t for t in self._calls.get(id(rec), []) if time.monotonic() - t < 1.1]
        if len(times) >= 6:
            await asyncio.sleep(1.1 - (time.monotonic() - times[0]))
        times.append(time.monotonic())
        self._calls[id(rec)] = times
        ack = await rec.call(event, data)
        self.acks.append((event, ack))
        return ack

    async def refused(self, rec: Recorder, event: str, data: Any, code: str) -> Any:
        ack = await self.call(rec, event, data)
        assert ack.get("ok") is False and ack["error"]["code"] == code, (event, data, ack)
        return ack

    async def close(self) -> None:
        await self.sockets.close()

    def validation_failures(self) -> list[str]:
        failures = []
        for index, rec in enumerate(self.recorders):
            for event, payloads in rec.events.items():
                sent = SERVER_EVENTS.get(event)
                if sent is None:
                    failures.append(f"client {index}: undocumented event {event!r}")
                    continue
                for payload in payloads:
                    try:
                        sent.model.model_validate(payload)
                    except ValidationError as exc:
                        failures.append(f"client {index}: {event} {payload!r}\n{exc}")
        for event, ack in self.acks:
            try:
                CLIENT_EVENTS[event].ack.model_validate(ack)
            except ValidationError as exc:
                failures.append(f"ack of {event}: {ack!r}\n{exc}")
        return failures


async def test_every_event_and_ack_of_a_real_game_matches_the_models(
    http: ClientSession, user: ApiUser, base_url: str
) -> None:
    quiz = sample_quiz()
    kinds = [q["type"] for q in quiz["questions"]]
    assert kinds == ["single", "multiple", "true_false", "text", "slider", "order", "poll"]
    game = await create_game(user, quiz["questions"], settings={})
    pin = game["pin"]
    s = Session(base_url)
    try:
        # -- lobby ------------------------------------------------------------------------
        host = await s.connect({"host_token": game["host_token"]})
        a = await s.connect({"pin": pin, "nickname": "Ada"})
        b = await s.connect({"pin": pin, "nickname": "Bob"})
        c = await s.connect({"pin": pin, "nickname": "Cy"})
        d = await s.connect({"pin": pin, "nickname": "Di"})
        await host.wait("player_joined", count=4)
        b_token = b.events["welcome"][0]["player"]["player_token"]
        c_id = c.events["welcome"][0]["player"]["player_id"]

        assert await s.call(host, "lock_game", {"locked": True}) == {"ok": True, "locked": True}
        assert await s.call(host, "lock_game", {"locked": False}) == {"ok": True, "locked": False}
        ack = await s.refused(host, "lock_game", {"locked": "yes"}, "invalid_payload")
        assert ack["error"]["field"] == "locked"
        await s.refused(a, "reroll_nickname", {}, "wrong_state")
        await s.refused(a, "start_game", {}, "forbidden")
        await s.refused(host, "submit_answer", {"question_index": 0, "answer": 0}, "forbidden")
        await s.refused(host, "kick_player", {"player_id": "nobody"}, "player_not_found")
        assert await s.call(host, "kick_player", {"player_id": c_id, "ban": True}) == {"ok": True}
        assert (await c.wait("kicked")) == {"reason": "banned"}
        assert await s.call(d, "leave") == {"ok": True}
        await host.wait("player_left", count=2)
        await s.refused(host, "next_question", {}, "wrong_state")
        await s.refused(host, "end_question", {}, "wrong_state")
        board = await s.call(host, "get_leaderboard", {})
        assert board["ok"] and board["total"] == 2
        assert await s.call(host, "start_game") == {"ok": True, "question_index": 0}

        # -- q0 single: answer errors, then both answer (auto-end) ----------------------------
        await a.wait("question_started", count=1)
        await s.refused(b, "submit_answer", {"question_index": 0, "answer": 99}, "invalid_answer")
        await s.refused(b, "submit_answer", {"question_index": 3, "answer": "x"}, "wrong_question")
        ack = await s.refused(
            b, "submit_answer", {"question_index": 0, "answer": "x" * 201}, "invalid_payload"
        )
        assert ack["error"]["field"] == "answer"
        assert (await s.call(a, "submit_answer", {"question_index": 0, "answer": 1}))["ok"]
        await s.refused(a, "submit_answer", {"question_index": 0, "answer": 0}, "already_answered")
        await host.wait("answer_count")
        assert (await s.call(b, "submit_answer", {"question_index": 0, "answer": 0}))["ok"]
        ended = await a.wait("question_ended", count=1)
        assert ended["correct"] == [1] and ended["distribution"] == {"0": 1, "1": 1}
        assert (await b.wait("your_result"))["correct"] is False
        assert await s.call(host, "next_question") == {"ok": True, "question_index": 1}

        # -- q1 multiple: Bob drops and returns mid-question (polling, upgraded) ------
        await a.wait("question_started", count=2)
        await b.close()
        assert await host.wait("player_status", count=1) == {
            "player_id": b.events["welcome"][0]["player"]["player_id"],
            "connected": False,
        }
        b2 = await s.connect({"player_token": b_token}, polling=True)
        welcome = b2.events["welcome"][0]
        assert welcome["game"]["status"] == "question" and welcome["answered"] is False
        assert (await host.wait("player_status", count=2))["connected"] is True
        assert (await s.call(b2, "submit_answer", {"question_index": 1, "answer": [1]}))["ok"]
        assert (await s.call(a, "submit_answer", {"question_index": 1, "answer": [0, 1]}))["ok"]
        await a.wait("question_ended", count=2)
        await b2.wait("your_result")
        # a second connection with the same token takes over (the pin/nickname are ignored)
        b3 = await s.connect({"player_token": b_token, "pin": pin, "nickname": "Other"})
        assert await b2.wait("replaced") == {}
        assert b3.events["welcome"][0]["game"]["status"] == "reveal"
        assert b3.events["welcome"][0]["player"]["nickname"] == "Bob"
        assert await s.call(host, "next_question") == {"ok": True, "question_index": 2}

        # -- q2 true_false; then the host's screen reconnects during the reveal ---------------
        await a.wait("question_started", count=3)
        assert (await s.call(a, "submit_answer", {"question_index": 2, "answer": 0}))["ok"]
        assert (await s.call(b3, "submit_answer", {"question_index": 2, "answer": 0}))["ok"]
        await a.wait("question_ended", count=3)
        await host.close()
        assert await a.wait("host_status", count=1) == {"connected": False}
        host = await s.connect({"host_token": game["host_token"]})
        state = host.events["welcome"][0]["game"]
        assert state["status"] == "reveal" and len(state["players"]) == 2
        assert await a.wait("host_status", count=2) == {"connected": True}
        board = await s.call(host, "get_leaderboard", {"offset": 0, "limit": 1})
        assert len(board["entries"]) == 1 and board["total"] == 2

        # -- q3 text, q4 slider, q5 order -------------------------------------------------------
        answers = {3: (" PARIS ", "London"), 4: (91.5, 10), 5: ([0, 1, 2], [2, 1, 0])}
        for qi, (mine, theirs) in answers.items():
            assert await s.call(host, "next_question") == {"ok": True, "question_index": qi}
            await a.wait("question_started", count=qi + 1)
            assert (await s.call(a, "submit_answer", {"question_index": qi, "answer": mine}))["ok"]
            ack = await s.call(b3, "submit_answer", {"question_index": qi, "answer": theirs})
            assert ack["ok"], ack
            ended = await a.wait("question_ended", count=qi + 1)
            assert (await a.wait("your_result", count=qi + 1))["correct"] is True
        assert ended["correct"] == [0, 1, 2] and ended["distribution"] == {"0,1,2": 1, "2,1,0": 1}
        assert a.events["question_ended"][3]["distribution"] == {"paris": 1, "london": 1}
        assert a.events["question_ended"][4]["correct"] == {"correct": 90, "tolerance": 2}

        # -- q6 poll: only Ada votes, the host ends it; next_question finishes the game --------
        assert await s.call(host, "next_question") == {"ok": True, "question_index": 6}
        await a.wait("question_started", count=7)
        assert (await s.call(a, "submit_answer", {"question_index": 6, "answer": 1}))["ok"]
        assert await s.call(host, "end_question") == {"ok": True}
        poll = await a.wait("question_ended", count=7)
        assert poll["correct"] is None and poll["answered"] == 1
        assert (await a.wait("your_result", count=7))["correct"] is None
        assert await s.call(host, "next_question") == {"ok": True, "finished": True}
        finished = await host.wait("game_finished")
        assert finished["game_id"] == game["game_id"] and finished["players_count"] == 2
        assert (await a.wait("final_result"))["rank"] == 1
        assert (await b3.wait("final_result"))["question_count"] == 7
        await s.refused(host, "end_game", {}, "wrong_state")
        await s.refused(host, "lock_game", {"locked": True}, "wrong_state")
        await s.refused(a, "submit_answer", {"question_index": 6, "answer": 0}, "wrong_state")

        # -- a second game with generated nicknames, ended from the lobby -----------------------
        other = await create_game(user, settings={"nicknames": {"mode": "generated"}})
        host2 = await s.connect({"host_token": other["host_token"]})
        e = await s.connect({"pin": other["pin"]})
        await host2.wait("player_joined")
        rerolled = await s.call(e, "reroll_nickname")
        assert rerolled["ok"] and rerolled["nickname"]
        renamed = await host2.wait("player_renamed")
        assert renamed["player"]["nickname"] == rerolled["nickname"]
        assert await s.call(host2, "end_game") == {"ok": True, "game_id": other["game_id"]}
        await host2.wait("game_finished")
        await s.refused(host2, "start_game", {}, "wrong_state")
        await asyncio.sleep(0.2)  # let late answer_count flushes arrive before validating
    finally:
        await s.close()

    failures = s.validation_failures()
    assert not failures, "\n\n".join(failures)
    seen = {event for rec in s.recorders for event in rec.events}
    assert seen == set(SERVER_EVENTS), f"events never exercised: {set(SERVER_EVENTS) - seen}"
    acked = {event for event, _ in s.acks}
    assert acked == set(CLIENT_EVENTS), f"acks never exercised: {set(CLIENT_EVENTS) - acked}"
    codes = {ack["error"]["code"] for _, ack in s.acks if not ack["ok"]}
    assert codes <= set(COMMON_ACK_ERRORS).union(*(e.errors for e in CLIENT_EVENTS.values()))


async def test_connect_error_data_matches_the_model(base_url: str) -> None:
    """A refused handshake's CONNECT_ERROR packet: `{code, message, data: {code, message}}`."""
    for auth, code in (
        ({"pin": "000000", "nickname": "Ada"}, "game_not_found"),
        (None, "invalid_token"),
    ):
        packet = await Recorder(base_url).try_connect(auth)
        assert packet is not None, "the handshake was accepted"
        parsed = HANDSHAKE["connect_error"].model_validate(packet)
        assert parsed.code == parsed.data.code == code, packet


def test_root_models_do_not_hide_extra_fields() -> None:
    """RootModel unions are only as strict as their variants: probe each registry entry."""
    for name, model in {
        **{name: e.model for name, e in SERVER_EVENTS.items()},
        **{name: e.ack for name, e in CLIENT_EVENTS.items()},
        **HANDSHAKE,
    }.items():
        if not issubclass(model, RootModel):
            assert model.model_config.get("extra") == "forbid", name
            continue
        variants = model.model_fields["root"].annotation
        args = getattr(variants, "__args__", ())
        inner = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if not inner and args:  # Annotated[Union[...], discriminator]
            inner = [a for a in getattr(args[0], "__args__", ()) if isinstance(a, type)]
        assert inner, name
        assert all(v.model_config.get("extra") == "forbid" for v in inner), name
