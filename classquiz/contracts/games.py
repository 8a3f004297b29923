"""Contracts of games over REST: settings (SPEC §3), creation and PIN look-up."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from classquiz.contracts.common import GameStatus
from classquiz.errors import Refusal
from classquiz.game.nicknames import normalize_nickname

NAME_MAX = 40
NameText = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX)]


def _roster_name(entry: str) -> str:
    """A roster entry is measured as players will be stored: after normalisation.

    NFKC can turn one character into eighteen (U+FDFA), so a 40-character entry
    could become a stored nickname of 720 characters, past the results column.
    """
    try:
        display = normalize_nickname(entry)  # refuses invisible and control characters
    except Refusal as exc:
        # Inside a model a refusal is a field error: the body gets 422 validation_error.
        raise ValueError(exc.message) from None
    if not display:
        raise ValueError("a roster name must have a visible character")
    if len(display) > NAME_MAX:
        raise ValueError(
            f"a roster name may have at most {NAME_MAX} characters after normalisation"
        )
    return entry


RosterName = Annotated[NameText, AfterValidator(_roster_name)]


class NicknameSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["free", "generated", "roster"] = "free"
    min_length: int = Field(default=1, ge=1, le=40)
    max_length: int = Field(default=20, ge=1, le=40)
    charset: Literal["any", "letters_digits", "letters_digits_space"] = "any"
    filter_profanity: bool = True
    blocklist: list[NameText] = Field(default_factory=list, max_length=500)
    roster: list[RosterName] = Field(default_factory=list, max_length=10_000)
    # In roster mode, GET /games/{pin} lists the names still free so a phone can offer a
    # picker instead of a text field (to those who may join: docs/security.md). Off for a
    # teacher who would rather not show the class list before anyone has joined.
    roster_picker: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> NicknameSettings:
        if self.min_length > self.max_length:
            raise ValueError("min_length must not exceed max_length")
        if self.mode == "roster" and not self.roster:
            raise ValueError("roster mode needs a roster")
        return self


class GameSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nicknames: NicknameSettings = Field(default_factory=NicknameSettings)
    password: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    max_players: int = Field(default=2000, ge=1)
    lock_on_start: bool = False
    randomize_questions: bool = False
    randomize_choices: bool = False
    streak_bonus: bool = True
    auto_end_question: bool = True
    # New players solve a captcha before they join (needs a provider configured on the
    # server: docs/operations.md; CAPTCHA_EVERY_GAME asks in every game anyway).
    captcha: bool = False


class GameCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quiz_id: uuid.UUID
    settings: GameSettings = Field(default_factory=GameSettings)


class GameCreatedOut(BaseModel):
    game_id: uuid.UUID
    pin: str
    host_token: str
    join_url: str


class NicknameRulesOut(BaseModel):
    mode: str
    min_length: int
    max_length: int
    charset: str
    roster_available: list[str] | None = Field(
        default=None,
        description=(
            "roster mode with the game's `roster_picker` on, while new players are"
            " accepted: the class list's names nobody has taken yet, sorted; for a game"
            " with a password only when the request's `password` is right. null otherwise"
        ),
    )


class GameInfoQuery(BaseModel):
    """Query parameters are lenient: unknown ones (cache busters) are ignored."""

    password: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None,
        description=(
            "the join password, to see `nicknames.roster_available` of a game that has"
            " one; a wrong one is 403 `wrong_password` and counts as a failed attempt"
        ),
    )


class CaptchaOut(BaseModel):
    """The widget a new player must solve before joining; the site key is public."""

    provider: Literal["hcaptcha", "recaptcha", "turnstile"]
    site_key: str


class GameInfoOut(BaseModel):
    pin: str
    title: str
    status: GameStatus
    accepting_players: bool
    requires_password: bool
    nicknames: NicknameRulesOut
    captcha: CaptchaOut | None = Field(
        default=None,
        description=(
            "when new players must solve a captcha: the provider and its public site key;"
            " the widget's token goes in the handshake's `auth.captcha`. null otherwise"
        ),
    )
