"""Every Socket.IO event, declared once: one record per event with all its facts.

A client event's record names who may send it, the model its payload must
pass, the successful acknowledgements, the error codes its ack may carry and
its one-line summary; the ack model is built from those. A server event's
record names its payload model, who receives it and its summary. The handlers
dispatch through `CLIENT_EVENTS` (python-socketio's `trigger_event` hook) and
`classquiz.socket_server.schema` writes docs/asyncapi.json from both tables, so
adding an event is one entry here plus its `ev_<name>` handler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from classquiz.contracts.acks import (
    COMMON_ACK_ERRORS,
    EndGameOk,
    LeaderboardOk,
    LockGameOk,
    NextQuestionFinished,
    NextQuestionOk,
    Ok,
    RerollNicknameOk,
    StartGameOk,
    SubmitAnswerOk,
    ack_model,
)
from classquiz.contracts.client_events import (
    Empty,
    EventPayload,
    KickPlayerIn,
    LeaderboardIn,
    LockGameIn,
    SubmitAnswerIn,
)
from classquiz.contracts.server_events import (
    AnswerCount,
    FinalResult,
    GameFinished,
    HostStatus,
    Kicked,
    PlayerJoined,
    PlayerLeft,
    PlayerRenamed,
    PlayerStatus,
    QuestionEnded,
    QuestionStarted,
    Replaced,
    Welcome,
    YourResult,
)
from classquiz.contracts.wire import ServerModel
from classquiz.errors import AckErrorCode

Role = Literal["host", "player"]


@dataclass(frozen=True)
class ClientEvent:
    """Everything known about one client → server event."""

    name: str
    role: Role
    payload: type[EventPayload]
    success: tuple[type[ServerModel], ...]
    errors: tuple[AckErrorCode, ...]
    """The codes its ack may carry besides COMMON_ACK_ERRORS."""
    summary: str
    ack: type[BaseModel] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ack", ack_model(self.name, self.success, self.error_codes))

    @property
    def error_codes(self) -> tuple[str, ...]:
        """Every code its ack may carry: its own first, then the common ones."""
        return tuple(dict.fromkeys(self.errors + COMMON_ACK_ERRORS))


@dataclass(frozen=True)
class ServerEvent:
    """Everything known about one server → client event."""

    name: str
    model: type[BaseModel]
    audience: str
    summary: str


_CLIENT_EVENTS = (
    ClientEvent(
        "start_game",
        "host",
        Empty,
        (StartGameOk,),
        ("wrong_state", "game_not_found"),
        "Open the first question (from the lobby).",
    ),
    ClientEvent(
        "end_question",
        "host",
        Empty,
        (Ok,),
        ("wrong_state", "game_not_found"),
        "Close the open question now.",
    ),
    ClientEvent(
        "next_question",
        "host",
        Empty,
        (NextQuestionOk, NextQuestionFinished),
        ("wrong_state", "game_not_found"),
        "Open the next question (in reveal); after the last one, finish the game.",
    ),
    ClientEvent(
        "end_game",
        "host",
        Empty,
        (EndGameOk,),
        ("wrong_state", "game_not_found"),
        "Finish the game from any state; answers already given count.",
    ),
    ClientEvent(
        "kick_player",
        "host",
        KickPlayerIn,
        (Ok,),
        ("player_not_found", "game_not_found"),
        "Remove a player (with `ban`, its token and nickname stay refused).",
    ),
    ClientEvent(
        "lock_game",
        "host",
        LockGameIn,
        (LockGameOk,),
        ("wrong_state", "game_not_found"),
        "Stop (or resume) accepting new players.",
    ),
    ClientEvent(
        "get_leaderboard",
        "host",
        LeaderboardIn,
        (LeaderboardOk,),
        ("game_not_found",),
        "A page of the current leaderboard.",
    ),
    ClientEvent(
        "submit_answer",
        "player",
        SubmitAnswerIn,
        (SubmitAnswerOk,),
        (
            "wrong_state",
            "wrong_question",
            "already_answered",
            "too_late",
            "invalid_answer",
            "game_not_found",
        ),
        "Answer the open question; the first answer counts.",
    ),
    ClientEvent(
        "reroll_nickname",
        "player",
        Empty,
        (RerollNicknameOk,),
        ("wrong_state", "limit_reached", "nickname_taken", "player_not_found", "game_not_found"),
        "Draw another generated nickname (lobby, generated mode, 3 times).",
    ),
    ClientEvent(
        "leave",
        "player",
        Empty,
        (Ok,),
        (),
        "Leave the game for good; the nickname is freed and the socket disconnected.",
    ),
)
CLIENT_EVENTS: dict[str, ClientEvent] = {event.name: event for event in _CLIENT_EVENTS}

_SERVER_EVENTS = (
    ServerEvent(
        "welcome",
        Welcome,
        "the connecting socket",
        "Snapshot of the game (and of the player) for a newly accepted connection.",
    ),
    ServerEvent("player_joined", PlayerJoined, "host", "A new player joined."),
    ServerEvent("player_left", PlayerLeft, "host", "A player left, or was kicked or banned."),
    ServerEvent(
        "player_renamed", PlayerRenamed, "host", "A player drew another generated nickname."
    ),
    ServerEvent(
        "player_status", PlayerStatus, "host", "A player's connection dropped or returned."
    ),
    ServerEvent("question_started", QuestionStarted, "everyone", "A question opened."),
    ServerEvent(
        "answer_count",
        AnswerCount,
        "host",
        "Answers so far to the open question (at most 10 a second).",
    ),
    ServerEvent(
        "question_ended",
        QuestionEnded,
        "everyone",
        "The question closed: the right answer, the distribution, the top 5.",
    ),
    ServerEvent(
        "your_result",
        YourResult,
        "each player",
        "This player's outcome of the question that just ended.",
    ),
    ServerEvent("game_finished", GameFinished, "everyone", "The game is over: the podium."),
    ServerEvent("final_result", FinalResult, "each player", "This player's final standing."),
    ServerEvent(
        "kicked",
        Kicked,
        "the removed player",
        "This player was removed; the server disconnects it next.",
    ),
    ServerEvent("host_status", HostStatus, "players", "The host's connection dropped or returned."),
    ServerEvent(
        "replaced",
        Replaced,
        "the older socket",
        "Another connection took over this token; the server disconnects this one.",
    ),
)
SERVER_EVENTS: dict[str, ServerEvent] = {event.name: event for event in _SERVER_EVENTS}
