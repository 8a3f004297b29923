"""Who may enter a live room, and who a socket is once admitted.

`Gate` judges a handshake's `auth`: a host token, a player token (a player coming
back: the room's reconnect step), or a PIN with a nickname (a new player, who is
admitted to the roster here, the nickname claimed atomically). The answer is a
`HostAdmission` or a `PlayerAdmission`, each holding exactly what is known of
that kind of connection, or a `Refusal` with the protocol's code.
"""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from classquiz.errors import Refusal, as_code
from classquiz.game.nicknames import accept_nickname, nickname_key
from classquiz.game.records import PlayerRecord
from classquiz.game.store import GameStore
from classquiz.services.captcha import CaptchaVerifier
from classquiz.services.live import LiveGame, LiveGames
from classquiz.services.ratelimit import FailureLimiter
from classquiz.services.tokens import HOST, PLAYER, TokenInvalid, TokenSigner

PIN_LENGTH = 6
GENERATED_ATTEMPTS = 8  # generated nicknames drawn before a join gives up
# captcha_failed counts: a script that cannot solve captchas is what they are for.
COUNTED_FAILURES = frozenset(
    {"game_not_found", "wrong_password", "invalid_token", "captcha_failed"}
)


@dataclass
class HostAdmission:
    """The host's connection: the game its token names."""

    pin: str
    game_id: str
    sid: str = ""  # set when the connection joins the room
    role: ClassVar[Literal["host"]] = "host"


@dataclass
class PlayerAdmission:
    """A player's connection: who they are in the game, and the token to come back with."""

    pin: str
    game_id: str
    player_id: str
    nickname: str
    nickname_key: str
    player_token: str
    is_new: bool = False  # joined with this handshake (not coming back)
    sid: str = ""  # set when the connection joins the room
    role: ClassVar[Literal["player"]] = "player"


Admission = HostAdmission | PlayerAdmission


class Gate:
    """The authorize step's checks (the room calls them; nothing else admits)."""

    def __init__(
        self,
        store: GameStore,
        live: LiveGames,
        signer: TokenSigner,
        limiter: FailureLimiter,
        *,
        token_ttl_s: int,
        max_players_per_game: int,
        captcha: CaptchaVerifier | None = None,
    ) -> None:
        self.store = store
        self.captcha = captcha  # None: no captcha provider is configured
        self.live = live
        self.signer = signer
        self.limiter = limiter
        self.token_ttl_s = token_ttl_s
        self.max_players_per_game = max_players_per_game

    async def admit(self, auth: Any, address: str) -> Admission:
        """The admission for a handshake's `auth`, or a Refusal.

        A token with a genuine signature cannot be guessed, so it is never limited
        (SPEC §5: returning players and hosts always get in). Everything else
        (a PIN, a forged or malformed token, no usable auth) reserves an attempt
        of `address` first; failures that smell of guessing (unknown PIN, wrong
        password, bad token) keep it, so a burst is judged at most `limit` times.
        """
        if self._carries_genuine_token(auth):
            return await self._admit(auth, address)

        def failed(exc: BaseException | None) -> bool:
            return isinstance(exc, Refusal) and exc.code in COUNTED_FAILURES

        async with self.limiter.attempt(address, failed, refused=lambda _: Refusal("rate_limited")):
            return await self._admit(auth, address)

    def _carries_genuine_token(self, auth: Any) -> bool:
        """True when the token `_admit` will use is signed by us (the game may be gone)."""
        if not isinstance(auth, dict):
            return False
        for field_name, kind in (("host_token", HOST), ("player_token", PLAYER)):
            if auth.get(field_name) is not None:
                try:
                    self.signer.verify(auth[field_name], kind)
                except TokenInvalid:
                    return False
                return True
        return False

    async def _admit(self, auth: Any, address: str) -> Admission:
        if not isinstance(auth, dict):
            raise Refusal("invalid_token", "the handshake carries no usable auth object")
        if auth.get("host_token") is not None:
            return await self.host(auth["host_token"])
        if auth.get("player_token") is not None:
            return await self.returning_player(auth["player_token"])
        if auth.get("pin") is not None:
            pin, nickname, password = auth.get("pin"), auth.get("nickname"), auth.get("password")
            return await self.new_player(
                pin, nickname, password, captcha=auth.get("captcha"), address=address
            )
        raise Refusal("invalid_token", "the handshake carries no usable auth object")

    async def _game_for_token(self, token: Any, kind: str) -> tuple[Any, LiveGame]:
        try:
            claims = self.signer.verify(token, kind)
        except TokenInvalid:
            raise Refusal("invalid_token") from None
        if not claims.pin or not claims.game_id:
            raise Refusal("invalid_token")
        state = await self.store.state(claims.pin)
        if state is None:
            raise Refusal("game_over")  # a valid token whose game is gone: it ended
        if state.game_id != claims.game_id:
            raise Refusal("invalid_token")  # the PIN now belongs to another game
        if state.status == "finished":
            raise Refusal("game_over")
        return claims, await self.live.get(claims.pin, game_id=state.game_id)

    async def host(self, token: Any) -> HostAdmission:
        _, game = await self._game_for_token(token, HOST)
        return HostAdmission(pin=game.pin, game_id=game.game_id)

    async def returning_player(self, token: Any) -> PlayerAdmission:
        """A player coming back with their token: still in the game, never removed."""
        claims, game = await self._game_for_token(token, PLAYER)
        record, gone = await self.store.player(game.pin, claims.subject)
        if gone == "banned":  # before the record: a ban in the lobby keeps only this mark
            raise Refusal("banned")
        if record is None:
            raise Refusal("invalid_token")
        if gone is not None:
            raise Refusal("invalid_token", "you left or were removed from this game; join again")
        return PlayerAdmission(
            pin=game.pin,
            game_id=game.game_id,
            player_id=claims.subject,
            nickname=record.nickname,
            nickname_key=record.nickname_key,
            player_token=token,
        )

    async def new_player(
        self, pin: Any, nickname: Any, password: Any, *, captcha: Any = None, address: str = ""
    ) -> PlayerAdmission:
        """Admit a new player to the roster of game `pin` under an accepted nickname.

        The captcha (when the server or the game asks for one) is checked once the game
        is known to take players and before the password: a script must solve one per
        guess, and a class that cannot get in anyway never spends a token."""
        if not isinstance(pin, str | int) or not str(pin).isdigit() or len(str(pin)) != PIN_LENGTH:
            raise Refusal("game_not_found")
        pin = str(pin)
        state = await self.store.state(pin)
        if state is None:
            raise Refusal("game_not_found")
        if state.status == "finished":
            raise Refusal("game_over")
        if state.locked:
            raise Refusal("game_locked")
        game = await self.live.get(pin, game_id=state.game_id)
        if self.captcha is not None and self.captcha.required_for(game.settings):
            await self.captcha.check(captcha, address)
        if not password_admits(game.password, password):
            raise Refusal("wrong_password")
        policy = game.nickname_policy
        display = accept_nickname(nickname, policy)
        key = nickname_key(display)
        player_id = str(uuid.uuid4())
        max_players = min(int(game.settings["max_players"]), self.max_players_per_game)
        for attempt in range(GENERATED_ATTEMPTS):
            record = PlayerRecord(display, key, joined_at_ms=int(time.time() * 1000))
            result = await self.store.join(pin, player_id, record, max_players)
            if result.ok:
                break
            if result.code == "nickname_taken" and policy.mode == "generated":
                display = accept_nickname(None, policy, attempt + 1)
                key = nickname_key(display)
                continue
            raise Refusal(as_code(result.code))
        token, _ = self.signer.issue(player_id, PLAYER, self.token_ttl_s, gid=game.game_id, pin=pin)
        return PlayerAdmission(
            pin=pin,
            game_id=game.game_id,
            player_id=player_id,
            nickname=display,
            nickname_key=key,
            player_token=token,
            is_new=True,
        )


def password_admits(expected: str | None, given: Any) -> bool:
    """Whether `given` opens a game whose join password is `expected` (None: no password).
    Compared in constant time; the handshake and the roster look-up share this rule."""
    if expected is None:
        return True
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())
