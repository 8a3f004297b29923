"""Socket.IO contracts, server → client: the payload of every event the server emits.

SPEC §4; who receives each one is declared in `socket_events`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    ConfigDict,
    Field,
    RootModel,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from classquiz.contracts.common import GameStatus, QuestionType
from classquiz.contracts.wire import (
    ChoiceId,
    Count,
    DurationMs,
    InstantMs,
    Nickname,
    Number,
    Pin,
    QuestionIndex,
    Rank,
    Score,
    ServerModel,
    Uuid,
    absent,
)

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
    image: StrictStr | None = Field(
        description="an image URL, or null: an absolute http(s) URL, or a picture uploaded "
        "to this server as a path (/media/<id>.<ext>) to resolve against the server's address"
    )
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
