"""Socket.IO contracts of the handshake: the `auth` a client sends, the refusal it may get."""

from __future__ import annotations

from typing import Annotated, get_args

from pydantic import BaseModel, ConfigDict, Field, RootModel, StrictStr, model_validator

from classquiz.contracts.wire import Pin, ServerModel, absent
from classquiz.errors import HandshakeRefusalCode


class HostAuth(ServerModel):
    """The host's presenter screen, with the `host_token` from `POST /api/v1/games`."""

    host_token: Annotated[StrictStr, Field(min_length=1)]


class NewPlayerAuth(ServerModel):
    """A new player joining by PIN (no `nickname` when the game generates nicknames)."""

    pin: Pin
    nickname: StrictStr = absent("required unless the game's nickname mode is `generated`")
    password: StrictStr = absent("the join password, when the game has one")
    captcha: StrictStr = absent(
        "the captcha widget's token, when the game info's `captcha` is set"
        " (`captcha_required` without it)"
    )


class ReturningPlayerAuth(ServerModel):
    """A player coming back with the `player_token` of its `welcome`.

    The token wins: a `pin`, `nickname` or `password` sent along is ignored.
    """

    player_token: Annotated[StrictStr, Field(min_length=1)]
    pin: Pin = absent("ignored when a player_token is given")
    nickname: StrictStr = absent("ignored when a player_token is given")
    password: StrictStr = absent("ignored when a player_token is given")
    captcha: StrictStr = absent("ignored: a returning player is not asked again")


class HandshakeAuth(RootModel[HostAuth | ReturningPlayerAuth | NewPlayerAuth]):
    """The `auth` object of the Socket.IO handshake; it decides the connection's role."""

    model_config = ConfigDict(strict=True)


RefusalCode = HandshakeRefusalCode
REFUSAL_CODES: tuple[str, ...] = get_args(RefusalCode)


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


HANDSHAKE: dict[str, type[BaseModel]] = {
    "auth": HandshakeAuth,
    "connect_error": ConnectErrorPacket,
}
"""The two sides of the handshake: what the client sends, what a refusal carries."""
