"""RoomService: who may enter a game, and the connection lifecycle around it.

The named steps, in order: `authorize` (the handshake's `auth` → an Admission
or a refusal code), `attach` (mark the socket online, take over an older
socket), `welcome` (the snapshot for the new socket), `drop` (the connection
went away; the player or host may come back with their token), `leave` (the
player is gone for good; its nickname is freed).
"""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from classquiz.errors import Refusal, as_code
from classquiz.game.nicknames import accept_nickname, nickname_key
from classquiz.game.records import PlayerRecord
from classquiz.game.rules import public_question
from classquiz.game.store import GameStore
from classquiz.services.delivery import your_result
from classquiz.services.live import LiveGame, LiveGames
from classquiz.services.notifier import Notifier
from classquiz.services.ratelimit import FailureLimiter
from classquiz.services.tokens import HOST, PLAYER, TokenInvalid, TokenSigner

log = logging.getLogger(__name__)
PIN_LENGTH = 6


GENERATED_ATTEMPTS = 8
MAX_REROLLS = 3
COUNTED_FAILURES = frozenset({"game_not_found", "wrong_password", "invalid_token"})


@dataclass
class Admission:
    """Who a socket is, once admitted."""

    role: str  # "host" | "player"
    pin: str
    game_id: str
    player_id: str | None = None
    nickname: str | None = None
    nickname_key: str | None = None
    player_token: str | None = None
    is_new: bool = False
    sid: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class RoomService:
    def __init__(
        self,
        store: GameStore,
        live: LiveGames,
        signer: TokenSigner,
        token_ttl_s: int,
        max_players_per_game: int,
        limiter: FailureLimiter,
    ) -> None:
        self.limiter = limiter
        self.store = store
        self.live = live
        self.signer = signer
        self.token_ttl_s = token_ttl_s
        self.max_players_per_game = max_players_per_game
        self.notifier: Notifier | None = None
        # pin -> player_id -> sid, for the players whose sockets this process holds
        self.local_players: dict[str, dict[str, str]] = {}

    # -- authorize ---------------------------------------------------------------------

    async def authorize(self, auth: Any, address: str) -> Admission:
        """The Admission for a handshake's `auth`, or a Refusal.

        A token with a genuine signature cannot be guessed, so it is never limited
        (SPEC §5: returning players and hosts always get in). Everything else
        (a PIN, a forged or malformed token, no usable auth) reserves an attempt
        of `address` first; failures that smell of guessing (unknown PIN, wrong
        password, bad token) keep it, so a burst is judged at most `limit` times.
        """
        if self._carries_genuine_token(auth):
            return await self._authorize(auth, address)

        def failed(exc: BaseException | None) -> bool:
            return isinstance(exc, Refusal) and exc.code in COUNTED_FAILURES

        async with self.limiter.attempt(address, failed, refused=lambda _: Refusal("rate_limited")):
            return await self._authorize(auth, address)

    def _carries_genuine_token(self, auth: Any) -> bool:
        """True when the token `_authorize` will use is signed by us (the game may be gone)."""
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

    async def _authorize(self, auth: Any, address: str) -> Admission:
        if not isinstance(auth, dict):
            raise Refusal("invalid_token", "the handshake carries no usable auth object")
        if auth.get("host_token") is not None:
            return await self._authorize_host(auth["host_token"])
        if auth.get("player_token") is not None:
            return await self._authorize_returning(auth["player_token"])
        if auth.get("pin") is not None:
            return await self._authorize_new(
                auth.get("pin"), auth.get("nickname"), auth.get("password")
            )
        raise Refusal("invalid_token", "the handshake carries no usable auth object")

    async def _game_for_token(self, token: Any, kind: str) -> tuple[Any, LiveGame]:
        try:
            claims = self.signer.verify(token, kind)
        except TokenInvalid:
            raise Refusal("invalid_token") from None
        if not claims.pin or not claims.game_id:
            raise Refusal("invalid_token")
        meta = await self.store.state(claims.pin)
        if meta is None:
            raise Refusal("game_over")  # a valid token whose game is gone: it ended
        if meta.get("id") != claims.game_id:
            raise Refusal("invalid_token")  # the PIN now belongs to another game
        if meta.get("status") == "finished":
            raise Refusal("game_over")
        return claims, await self.live.get(claims.pin, game_id=meta["id"])

    async def _authorize_host(self, token: Any) -> Admission:
        _, game = await self._game_for_token(token, HOST)
        return Admission(role="host", pin=game.pin, game_id=game.game_id)

    async def _authorize_returning(self, token: Any) -> Admission:
        claims, game = await self._game_for_token(token, PLAYER)
        record, gone = await self.store.player(game.pin, claims.subject)
        if gone == "banned":  # before the record: a ban in the lobby keeps only this mark
            raise Refusal("banned")
        if record is None:
            raise Refusal("invalid_token")
        if gone is not None:
            raise Refusal("invalid_token", "you left or were removed from this game; join again")
        return Admission(
            role="player",
            pin=game.pin,
            game_id=game.game_id,
            player_id=claims.subject,
            nickname=record.nickname,
            nickname_key=record.nickname_key,
            player_token=token,
        )

    async def _authorize_new(self, pin: Any, nickname: Any, password: Any) -> Admission:
        if not isinstance(pin, str | int) or not str(pin).isdigit() or len(str(pin)) != PIN_LENGTH:
            raise Refusal("game_not_found")
        pin = str(pin)
        meta = await self.store.state(pin)
        if meta is None:
            raise Refusal("game_not_found")
        if meta.get("status") == "finished":
            raise Refusal("game_over")
        if meta.get("locked") == "1":
            raise Refusal("game_locked")
        game = await self.live.get(pin, game_id=meta["id"])
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
        return Admission(
            role="player",
            pin=pin,
            game_id=game.game_id,
            player_id=player_id,
            nickname=display,
            nickname_key=key,
            player_token=token,
            is_new=True,
        )

    # -- attach / drop / leave ---------------------------------------------------------------

    async def attach(self, admission: Admission, sid: str) -> None:
        """Mark `sid` as the live socket of this host or player; replace an older one."""
        notifier = self._notifier()
        admission.sid = sid
        if admission.role == "host":
            old = await self.store.set_host(admission.pin, admission.game_id, sid)
            if old:
                await notifier.to_socket(old, "replaced", {})
                await notifier.disconnect(old)
            await notifier.to_players(admission.pin, "host_status", {"connected": True})
            return
        assert admission.player_id is not None
        self.local_players.setdefault(admission.pin, {})[admission.player_id] = sid
        old, active = await self.store.set_online(admission.pin, admission.player_id, sid)
        if old:
            await notifier.to_socket(old, "replaced", {})
            await notifier.disconnect(old)
        if admission.is_new:
            await notifier.to_host(
                admission.pin,
                "player_joined",
                {
                    "player": {"player_id": admission.player_id, "nickname": admission.nickname},
                    "players_count": active,
                },
            )
        elif not old:
            await notifier.to_host(
                admission.pin,
                "player_status",
                {"player_id": admission.player_id, "connected": True},
            )

    async def drop(self, admission: Admission) -> bool:
        """The socket went away. True when it was the current one (not replaced)."""
        if admission.role == "host":
            if await self.store.set_host(
                admission.pin, admission.game_id, None, expected=admission.sid
            ):
                await self._notifier().to_players(
                    admission.pin, "host_status", {"connected": False}
                )
                return True
            return False
        assert admission.player_id is not None
        local = self.local_players.get(admission.pin, {})
        if local.get(admission.player_id) == admission.sid:
            del local[admission.player_id]
            if not local:
                self.local_players.pop(admission.pin, None)
        if await self.store.set_offline(admission.pin, admission.player_id, admission.sid):
            await self._notifier().to_host(
                admission.pin,
                "player_status",
                {"player_id": admission.player_id, "connected": False},
            )
            return True
        return False

    async def remove_player(self, pin: str, player_id: str, reason: str) -> dict[str, Any] | None:
        """Take a player out of the game (leave, kick, ban); None if there is no such player.

        Returns the player's record and the socket it was online on (on any process).
        In the lobby the player never played and is forgotten (not counted, not
        stored with the results); afterwards it stays in the results as `reason`.
        """
        record, gone = await self.store.player(pin, player_id)
        if record is None or gone is not None:
            return None
        result, sid = await self.store.remove(pin, player_id, record.nickname_key, reason)
        if not result.ok:
            return None
        self.local_players.get(pin, {}).pop(player_id, None)
        await self._notifier().to_host(
            pin,
            "player_left",
            {
                "player": {"player_id": player_id, "nickname": record.nickname},
                "players_count": result.values[0],
            },
        )
        return {"record": record, "sid": sid}

    async def reroll_nickname(self, admission: Admission) -> str:
        """A new generated nickname for a player in the lobby (at most MAX_REROLLS times)."""
        game = await self.live.get(admission.pin)
        policy = game.nickname_policy
        if policy.mode != "generated":
            raise Refusal("wrong_state", "nicknames are not generated in this game")
        assert admission.player_id is not None
        for attempt in range(GENERATED_ATTEMPTS):
            display = accept_nickname(None, policy, attempt)
            key = nickname_key(display)
            result = await self.store.reroll(
                admission.pin, admission.player_id, key, display, MAX_REROLLS
            )
            if result.ok:
                admission.nickname, admission.nickname_key = display, key
                await self._notifier().to_host(
                    admission.pin,
                    "player_renamed",
                    {"player": {"player_id": admission.player_id, "nickname": display}},
                )
                return display
            if result.code != "nickname_taken":
                code = as_code(result.code)
                # The one text that differs from the answer's: this is about renaming.
                lobby_only = "nicknames can only be changed in the lobby"
                raise Refusal(code, lobby_only if code == "wrong_state" else None)
        raise Refusal("nickname_taken", "no free nickname found; try again")

    # -- welcome ----------------------------------------------------------------------------

    async def welcome(self, admission: Admission) -> dict[str, Any]:
        meta = await self.store.state(admission.pin) or {}
        game = await self.live.get(admission.pin, game_id=meta.get("id", admission.game_id))
        state = game_state(game, meta)
        payload: dict[str, Any] = {"role": admission.role, "game": state}
        qi = int(meta.get("qi", -1))
        status = meta.get("status")
        if admission.role == "host":
            # Everything the presenter draws after a reload: the lock, the open question's
            # count and the reveal's payload come from the server, never from guesses.
            state["players"] = await self.store.roster(admission.pin)
            payload["locked"] = meta.get("locked") == "1"
            if status == "question":
                payload["answered"], _ = await self.store.answered_count(admission.pin, qi)
            elif status == "reveal":
                ended = await self.store.kept_reveal(admission.pin, qi)
                if ended is not None:
                    payload["question_ended"] = ended
            return payload
        assert admission.player_id is not None
        if admission.is_new:  # just joined: nothing scored or answered yet
            mine: dict[str, Any] = {"score": 0, "streak": 0, "answered": False}
        else:
            mine = await self.store.player_state(admission.pin, admission.player_id, qi)
        question_open = meta.get("status") == "question"
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
            standing = await self.store.standing(admission.pin, admission.player_id, qi)
            is_poll = game.questions[qi]["type"] == "poll"
            payload["your_result"] = your_result(qi, is_poll, standing)
        return payload

    def _notifier(self) -> Notifier:
        assert self.notifier is not None, "the transport did not register a notifier"
        return self.notifier


def password_admits(expected: str | None, given: Any) -> bool:
    """Whether `given` opens a game whose join password is `expected` (None: no password).
    Compared in constant time; the handshake and the roster look-up share this rule."""
    if expected is None:
        return True
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def game_state(game: LiveGame, meta: dict[str, str]) -> dict[str, Any]:
    """The `<state>` object of SPEC §4 (without the host-only player list)."""
    status = meta.get("status", "lobby")
    qi = int(meta.get("qi", -1))
    state: dict[str, Any] = {
        "game_id": game.game_id,
        "pin": game.pin,
        "title": game.title,
        "status": status,
        "question_index": qi,
        "question_count": game.question_count,
        "players_count": int(meta.get("active", 0)),
        "server_time_ms": int(time.time() * 1000),
    }
    if status in ("question", "reveal") and 0 <= qi < game.question_count:
        question = game.questions[qi]
        state["question"] = public_question(question, question["shown"])
        state["opens_at_ms"] = int(meta["opens_at"])
        state["deadline_at_ms"] = int(meta["deadline_at"])
    return state
