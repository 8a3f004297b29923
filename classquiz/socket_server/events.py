"""Pydantic models of everything the server sends over Socket.IO (SPEC §4).

The mirror image of `payloads.py`: there the client → server payloads, here
the server → client side of the contract: the handshake `auth` a client may
send and the `connect_error` it may get back, every server event, and the
acknowledgement of every client event. The models are strict and forbid
unknown fields, so validating a recorded payload against them fails on any
undocumented field or loosely typed value; `classquiz.socket_server.schema`
turns them into the machine-readable document `docs/asyncapi.json`.

A field that the server leaves out (rather than sending `null`) is declared
with `absent()`: its default is `None` only on the Python side and the JSON
schema shows it as optional, never as nullable.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    create_model,
    model_validator,
)

from classquiz.errors import HandshakeRefusalCode

# -- building blocks ----------------------------------------------------------------------------

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

Uuid = Annotated[StrictStr, Field(pattern=UUID_PATTERN, description="a UUID (lower-case text)")]
Pin = Annotated[StrictStr, Field(pattern=r"^[0-9]{6}$", description="the game's 6-digit PIN")]
Count = Annotated[StrictInt, Field(ge=0)]
Rank = Annotated[StrictInt, Field(ge=1, description="1 = best; equal scores share a rank")]
Score = Annotated[StrictInt, Field(ge=0)]
QuestionIndex = Annotated[StrictInt, Field(ge=0, description="0-based, in play order")]
ChoiceId = Annotated[
    StrictInt, Field(ge=0, description="the choice's position in the authored quiz")
]
InstantMs = Annotated[StrictInt, Field(ge=0, description="an instant, server epoch milliseconds")]
DurationMs = Annotated[StrictInt, Field(ge=0, description="a duration in milliseconds")]
# A number on the wire: JSON integers and decimals alike (strict: no strings, no booleans).
Number = StrictFloat
Nickname = Annotated[StrictStr, Field(min_length=1)]

QuestionType = Literal["single", "multiple", "true_false", "text", "slider", "order", "poll"]
GameStatus = Literal["lobby", "question", "reveal", "finished"]


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def absent(description: str) -> Any:
    """A field the server omits when it does not apply (never sent as `null`)."""
    return Field(default=None, description=description, json_schema_extra=_drop_default)


class ServerModel(BaseModel):
    """Base of every model here: strict types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


# -- handshake -----------------------------------------------------------------------------------


class HostAuth(ServerModel):
    """The host's presenter screen, with the `host_token` from `POST /api/v1/games`."""

    host_token: Annotated[StrictStr, Field(min_length=1)]


class NewPlayerAuth(ServerModel):
    """A new player joining by PIN (no `nickname` when the game generates nicknames)."""

    pin: Pin
    nickname: StrictStr = absent("required unless the game's nickname mode is `generated`")
    password: StrictStr = absent("the join password, when the game has one")


class ReturningPlayerAuth(ServerModel):
    """A player coming back with the `player_token` of its `welcome`.

    The token wins: a `pin`, `nickname` or `password` sent along is ignored.
    """

    player_token: Annotated[StrictStr, Field(min_length=1)]
    pin: Pin = absent("ignored when a player_token is given")
    nickname: StrictStr = absent("ignored when a player_token is given")
    password: StrictStr = absent("ignored when a player_token is given")


class HandshakeAuth(RootModel[HostAuth | ReturningPlayerAuth | NewPlayerAuth]):
    """The `auth` object of the Socket.IO handshake; it decides the connection's role."""

    model_config = ConfigDict(strict=True)


RefusalCode = HandshakeRefusalCode
REFUSAL_CODES: tuple[str, ...] = RefusalCode.__args__  # type: ignore[attr-defined]


class ConnectErrorData(ServerModel):
    """Why the handshake was refused: what a client reads as the error's `data`."""

    code: RefusalCode
    message: StrictStr


class ConnectErrorPacket(ServerModel):
    """The body of the Socket.IO CONNECT_ERROR packet of a refused handshake.

    `code` and `message` at the top, and again as `data`: socket.io-client turns
    the packet into `Error(message)` whose `.data` is `{code, message}`, while
    python-socketio hands the whole object to the `connect_error` handler.
    """

    code: RefusalCode
    message: StrictStr
    data: ConnectErrorData

    @model_validator(mode="after")
    def _data_repeats_the_reason(self) -> ConnectErrorPacket:
        if (self.data.code, self.data.message) != (self.code, self.message):
            raise ValueError("`data` repeats the packet's code and message")
        return self


# -- shared shapes --------------------------------------------------------------------------------


class PlayerRef(ServerModel):
    player_id: Uuid
    nickname: Nickname


class RosterEntry(ServerModel):
    """A joined player as the host's `welcome` lists it."""

    player_id: Uuid
    nickname: Nickname
    connected: StrictBool
    score: Score


class LeaderboardEntry(ServerModel):
    rank: Rank
    player_id: Uuid
    nickname: Nickname
    score: Score


class PublicChoice(ServerModel):
    id: ChoiceId
    text: StrictStr


class PublicSlider(ServerModel):
    min: Number
    max: Number
    step: Number


class PublicQuestion(ServerModel):
    """A question as clients see it: no correct answers; choices in display order."""

    type: QuestionType
    text: StrictStr
    image: StrictStr | None = Field(description="an image URL, or null")
    choices: list[PublicChoice] = Field(
        description="in display order; ids are the authored positions; empty for text and slider"
    )
    slider: PublicSlider = absent("only for `slider` questions")
    time_limit_ms: DurationMs
    points: Literal[0, 1, 2] = Field(description="multiplier: 0 none, 1 standard, 2 double")

    @model_validator(mode="after")
    def _slider_only_for_sliders(self) -> PublicQuestion:
        if (self.type == "slider") != (self.slider is not None):
            raise ValueError("`slider` is present exactly for slider questions")
        return self


class GameState(ServerModel):
    """The game as a `welcome` describes it."""

    game_id: Uuid
    pin: Pin
    title: StrictStr
    status: GameStatus
    question_index: Annotated[StrictInt, Field(ge=-1, description="-1 in the lobby")]
    question_count: Annotated[StrictInt, Field(ge=1)]
    players_count: Annotated[
        Count, Field(description="joined players who have not left or been kicked")
    ]
    question: PublicQuestion = absent("the current question, in `question` and `reveal`")
    opens_at_ms: InstantMs = absent("when the current question opened, with `question`")
    deadline_at_ms: InstantMs = absent("when the current question closes, with `question`")
    server_time_ms: InstantMs

    @model_validator(mode="after")
    def _question_fields_together(self) -> GameState:
        present = [self.question is not None, self.opens_at_ms is not None]
        present.append(self.deadline_at_ms is not None)
        if len(set(present)) != 1:
            raise ValueError("question, opens_at_ms and deadline_at_ms come together")
        if present[0] != (self.status in ("question", "reveal")):
            raise ValueError("a question is described exactly in the question and reveal states")
        return self


class HostGameState(GameState):
    """The host's `welcome` state: also lists the players."""

    players: list[RosterEntry]


# -- server → client events ------------------------------------------------------------------------


class WelcomePlayer(ServerModel):
    player_id: Uuid
    nickname: Nickname
    player_token: Annotated[
        StrictStr, Field(min_length=1, description="keep it: it brings this player back")
    ]
    score: Score
    streak: Count


class HostWelcome(ServerModel):
    role: Literal["host"]
    game: HostGameState
    locked: StrictBool = Field(
        description="whether new players are refused (`lock_game`, or `lock_on_start`)"
    )
    answered: Count = absent("while a question is open: how many players answered it so far")
    question_ended: QuestionEnded = absent(
        "in the `reveal` state: the `question_ended` payload of that question, so a reloaded"
        " presenter can draw the distribution and the top 5 again"
    )

    @model_validator(mode="after")
    def _state_extras(self) -> HostWelcome:
        if (self.game.status == "question") != (self.answered is not None):
            raise ValueError("`answered` is present exactly while a question is open")
        if self.question_ended is not None and (
            self.game.status != "reveal"
            or self.question_ended.question_index != self.game.question_index
        ):
            raise ValueError("`question_ended` comes only in the reveal of that question")
        return self


class PlayerWelcome(ServerModel):
    role: Literal["player"]
    player: WelcomePlayer
    game: GameState
    answered: StrictBool = absent(
        "while a question is open: whether this player already answered it"
    )
    your_result: YourResult = absent(
        "in the `reveal` state, for a returning player: this player's `your_result` of that"
        " question, since events sent while a socket was away are not replayed"
    )

    @model_validator(mode="after")
    def _answered_while_open(self) -> PlayerWelcome:
        if (self.game.status == "question") != (self.answered is not None):
            raise ValueError("`answered` is present exactly while a question is open")
        if self.your_result is not None and (
            self.game.status != "reveal"
            or self.your_result.question_index != self.game.question_index
        ):
            raise ValueError("`your_result` comes only in the reveal of that question")
        return self


class Welcome(RootModel[Annotated[HostWelcome | PlayerWelcome, Field(discriminator="role")]]):
    """Sent to every accepted connection, right after the handshake: a snapshot to render from."""

    model_config = ConfigDict(strict=True)


class PlayerJoined(ServerModel):
    """To the host: a new player joined."""

    player: PlayerRef
    players_count: Count


class PlayerLeft(ServerModel):
    """To the host: a player left (`leave`) or was kicked or banned."""

    player: PlayerRef
    players_count: Count


class PlayerRenamed(ServerModel):
    """To the host: a player drew another generated nickname (`reroll_nickname`)."""

    player: PlayerRef


class PlayerStatus(ServerModel):
    """To the host: a player's connection dropped or came back."""

    player_id: Uuid
    connected: StrictBool


class QuestionStarted(ServerModel):
    """To everyone: a question opened."""

    question_index: QuestionIndex
    question_count: Annotated[StrictInt, Field(ge=1)]
    question: PublicQuestion
    opens_at_ms: InstantMs
    deadline_at_ms: InstantMs
    server_time_ms: InstantMs


class AnswerCount(ServerModel):
    """To the host: how many answered so far (coalesced, at most 10 a second)."""

    question_index: QuestionIndex
    answered: Count
    players_count: Count


class SliderCorrect(ServerModel):
    correct: Number
    tolerance: Number


class QuestionEnded(ServerModel):
    """To everyone: the question closed; the right answer and how the room answered."""

    question_index: QuestionIndex
    correct: list[ChoiceId] | list[StrictStr] | SliderCorrect | None = Field(
        description=(
            "choice ids (single, multiple, true_false), the id sequence (order), "
            "the accepted answers (text), {correct, tolerance} (slider), null (poll)"
        )
    )
    distribution: dict[str, Count] = Field(
        description=(
            "answers per key: a choice id (single, true_false, poll; multiple counts each "
            "selected id), ids joined by commas (order), the normalised text (text), "
            "the value (slider)"
        )
    )
    answered: Count
    players_count: Count
    top: Annotated[list[LeaderboardEntry], Field(max_length=5, description="the top 5")]


class YourResult(ServerModel):
    """To each player: its own outcome of the question that just ended."""

    question_index: QuestionIndex
    answered: StrictBool
    correct: StrictBool | None = Field(description="null only for polls; unanswered is false")
    points: Score
    streak: Count
    score: Score
    rank: Rank
    gap_to_next: Annotated[StrictInt, Field(ge=1)] = absent(
        "points behind the player(s) ranked just above; absent at rank 1"
    )


class GameFinished(ServerModel):
    """To everyone: the game is over."""

    game_id: Uuid
    podium: Annotated[list[LeaderboardEntry], Field(max_length=3, description="the top 3")]
    players_count: Count


class FinalResult(ServerModel):
    """To each player, after `game_finished`: its own final standing."""

    rank: Rank
    score: Score
    correct_count: Count
    question_count: Annotated[StrictInt, Field(ge=1)]


class Kicked(ServerModel):
    """To a removed player, just before the server disconnects it."""

    reason: Literal["kicked", "banned"]


class HostStatus(ServerModel):
    """To the players: the host's screen disconnected or came back."""

    connected: StrictBool


class Replaced(ServerModel):
    """To the older socket when the same token connected again; then it is disconnected."""


SERVER_EVENTS: dict[str, type[BaseModel]] = {
    "welcome": Welcome,
    "player_joined": PlayerJoined,
    "player_left": PlayerLeft,
    "player_renamed": PlayerRenamed,
    "player_status": PlayerStatus,
    "question_started": QuestionStarted,
    "answer_count": AnswerCount,
    "question_ended": QuestionEnded,
    "your_result": YourResult,
    "game_finished": GameFinished,
    "final_result": FinalResult,
    "kicked": Kicked,
    "host_status": HostStatus,
    "replaced": Replaced,
}

SERVER_EVENT_AUDIENCE: dict[str, str] = {
    "welcome": "the connecting socket",
    "player_joined": "host",
    "player_left": "host",
    "player_renamed": "host",
    "player_status": "host",
    "question_started": "everyone",
    "answer_count": "host",
    "question_ended": "everyone",
    "your_result": "each player",
    "game_finished": "everyone",
    "final_result": "each player",
    "kicked": "the removed player",
    "host_status": "players",
    "replaced": "the older socket",
}

# -- acknowledgements of client events ----------------------------------------------------------

CLIENT_EVENT_ROLE: dict[str, Literal["host", "player"]] = {
    "start_game": "host",
    "end_question": "host",
    "next_question": "host",
    "end_game": "host",
    "kick_player": "host",
    "lock_game": "host",
    "get_leaderboard": "host",
    "submit_answer": "player",
    "reroll_nickname": "player",
    "leave": "player",
}

COMMON_ACK_ERRORS: tuple[str, ...] = (
    "forbidden",
    "invalid_payload",
    "rate_limited",
    "internal_error",
)
"""Any event: another role's event or no session (`forbidden`), a payload that fails
validation (`invalid_payload`, naming the `field`), too many events (`rate_limited`),
an unexpected failure of the server (`internal_error`)."""

ACK_ERRORS: dict[str, tuple[str, ...]] = {
    "start_game": ("wrong_state", "game_not_found"),
    "end_question": ("wrong_state", "game_not_found"),
    "next_question": ("wrong_state", "game_not_found"),
    "end_game": ("wrong_state", "game_not_found"),
    "kick_player": ("player_not_found", "game_not_found"),
    "lock_game": ("wrong_state", "game_not_found"),
    "get_leaderboard": ("game_not_found",),
    "submit_answer": (
        "wrong_state",
        "wrong_question",
        "already_answered",
        "too_late",
        "invalid_answer",
        "game_not_found",
    ),
    "reroll_nickname": (
        "wrong_state",
        "limit_reached",
        "nickname_taken",
        "player_not_found",
        "game_not_found",
    ),
    "leave": (),
}
"""The error codes each event's ack may carry besides COMMON_ACK_ERRORS."""


class Ok(ServerModel):
    """Success without further data."""

    ok: Literal[True]


class StartGameOk(ServerModel):
    ok: Literal[True]
    question_index: Literal[0]


class NextQuestionOk(ServerModel):
    ok: Literal[True]
    question_index: Annotated[StrictInt, Field(ge=1)]


class NextQuestionFinished(ServerModel):
    """`next_question` after the last question: the game finished."""

    ok: Literal[True]
    finished: Literal[True]


class EndGameOk(ServerModel):
    ok: Literal[True]
    game_id: Uuid


class LockGameOk(ServerModel):
    ok: Literal[True]
    locked: StrictBool


class LeaderboardOk(ServerModel):
    ok: Literal[True]
    entries: list[LeaderboardEntry]
    total: Count


class SubmitAnswerOk(ServerModel):
    """The answer is recorded; correctness is revealed only when the question ends."""

    ok: Literal[True]
    received_at_ms: InstantMs


class RerollNicknameOk(ServerModel):
    ok: Literal[True]
    nickname: Nickname


def _camel(event: str) -> str:
    return "".join(part.capitalize() for part in event.split("_"))


def _error_ack(event: str) -> type[ServerModel]:
    """`{ok: false, error: {code, message, field?}}` with this event's codes."""
    codes = tuple(dict.fromkeys(ACK_ERRORS[event] + COMMON_ACK_ERRORS))
    name = _camel(event)
    detail = create_model(
        f"{name}ErrorDetail",
        __base__=ServerModel,
        __doc__=f"Why `{event}` was refused.",
        code=(Literal[codes], ...),  # type: ignore[valid-type]
        message=(StrictStr, Field(description="human text, for logs and fallbacks")),
        field=(StrictStr, absent("with `invalid_payload`: the payload field that is wrong")),
    )
    return create_model(
        f"{name}Refused",
        __base__=ServerModel,
        __doc__=f"`{event}` was refused.",
        ok=(Literal[False], ...),
        error=(detail, ...),
    )


def _ack(event: str, *success: type[ServerModel]) -> type[RootModel[Any]]:
    variants = (*success, _error_ack(event))
    union = variants[0]
    for variant in variants[1:]:
        union = union | variant  # type: ignore[assignment]
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{_camel(event)}Ack",
        __base__=RootModel[union],  # type: ignore[valid-type]
        __doc__=f"The acknowledgement of `{event}`.",
    )


CLIENT_ACKS: dict[str, type[BaseModel]] = {
    "start_game": _ack("start_game", StartGameOk),
    "end_question": _ack("end_question", Ok),
    "next_question": _ack("next_question", NextQuestionOk, NextQuestionFinished),
    "end_game": _ack("end_game", EndGameOk),
    "kick_player": _ack("kick_player", Ok),
    "lock_game": _ack("lock_game", LockGameOk),
    "get_leaderboard": _ack("get_leaderboard", LeaderboardOk),
    "submit_answer": _ack("submit_answer", SubmitAnswerOk),
    "reroll_nickname": _ack("reroll_nickname", RerollNicknameOk),
    "leave": _ack("leave", Ok),
}

HANDSHAKE: dict[str, type[BaseModel]] = {
    "auth": HandshakeAuth,
    "connect_error": ConnectErrorPacket,
}
"""The two sides of the handshake: what the client sends, what a refusal carries."""
