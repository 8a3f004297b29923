"""The `welcome` a connection gets when it joins a room: the snapshot it draws from.

A host (or presenter that reloaded) gets the roster, the lock, the open question's
answer count and the reveal on screen; a player gets their own score and streak
as they may see them, and after a reconnect in a reveal their `your_result`
again. Everything comes from the server's state, nothing from client guesses.
"""

from __future__ import annotations

import time
from typing import Any

from classquiz.game.records import GameState
from classquiz.game.rules import public_question
from classquiz.game.store import GameStore
from classquiz.services.admission import Admission, HostAdmission
from classquiz.services.delivery import your_result
from classquiz.services.live import LiveGame, LiveGames


async def welcome(store: GameStore, live: LiveGames, admission: Admission) -> dict[str, Any]:
    now = await store.state(admission.pin) or GameState(
        game_id=admission.game_id,  # gone meanwhile: drawn as its lobby, the sweeper closes it
        status="lobby",
        question_index=-1,
        opens_at_ms=None,
        deadline_at_ms=None,
        active=0,
        locked=False,
    )
    game = await live.get(admission.pin, game_id=now.game_id)
    state = game_state(game, now)
    payload: dict[str, Any] = {"role": admission.role, "game": state}
    qi = now.question_index
    status = now.status
    if isinstance(admission, HostAdmission):
        # Everything the presenter draws after a reload: the lock, the open question's
        # count and the reveal's payload come from the server, never from guesses.
        state["players"] = await store.roster(admission.pin)
        payload["locked"] = now.locked
        if status == "question":
            payload["answered"], _ = await store.answered_count(admission.pin, qi)
        elif status == "reveal":
            ended = await store.kept_reveal(admission.pin, qi)
            if ended is not None:
                payload["question_ended"] = ended
        return payload
    if admission.is_new:  # just joined: nothing scored or answered yet
        mine: dict[str, Any] = {"score": 0, "streak": 0, "answered": False}
    else:
        mine = await store.player_state(admission.pin, admission.player_id, qi)
    question_open = status == "question"
    payload["player"] = {
        "player_id": admission.player_id,
        "nickname": admission.nickname,
        "player_token": admission.player_token,
        "score": mine.get("open_score", mine["score"]) if question_open else mine["score"],
        "streak": mine.get("open_streak", mine["streak"]) if question_open else mine["streak"],
    }
    if question_open:
        payload["answered"] = mine["answered"]
    elif status == "reveal" and not admission.is_new and 0 <= qi < game.question_count:
        # The reveal's `your_result` is not replayed to a socket that was away: the
        # welcome carries it, so a reload keeps "right/wrong, points, rank" on screen.
        standing = await store.standing(admission.pin, admission.player_id, qi)
        is_poll = game.questions[qi]["type"] == "poll"
        payload["your_result"] = your_result(qi, is_poll, standing)
    return payload


def game_state(game: LiveGame, now: GameState) -> dict[str, Any]:
    """The `<state>` object of SPEC §4 (without the host-only player list)."""
    status = now.status
    qi = now.question_index
    state: dict[str, Any] = {
        "game_id": game.game_id,
        "pin": game.pin,
        "title": game.title,
        "status": status,
        "question_index": qi,
        "question_count": game.question_count,
        "players_count": now.active,
        "server_time_ms": int(time.time() * 1000),
    }
    if status in ("question", "reveal") and 0 <= qi < game.question_count:
        question = game.questions[qi]
        state["question"] = public_question(question, question["shown"])
        state["opens_at_ms"] = now.opens_at_ms
        state["deadline_at_ms"] = now.deadline_at_ms
    return state
