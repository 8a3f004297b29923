"""The live store's presence: who is in a game, under which nickname, and on which
socket they are online (players and the host).

Joining, leaving and renaming claim or free a nickname in the same atomic step
as the roster entry (`lua/join_player.lua`, `remove_player.lua`,
`reroll_nickname.lua`); online marks are compare-and-clear, so the socket that
went away never clears the mark of the one that took over.
"""

from __future__ import annotations

from redis.asyncio import Redis

from classquiz.game.records import PlayerRecord
from classquiz.game.scripts import game_script, plain_script
from classquiz.game.store_base import ScriptResult, StoreBase, script_result, text


class Presence(StoreBase):
    def __init__(self, redis: Redis, prefix: str, ttl_s: int, buckets: int = 1) -> None:
        super().__init__(redis, prefix, ttl_s, buckets)
        self._join = game_script(redis, "join_player")
        self._remove = game_script(redis, "remove_player")
        self._reroll = game_script(redis, "reroll_nickname")
        self._set_online = game_script(redis, "set_online")
        self._set_offline = plain_script(redis, "set_offline")
        self._set_if_live = plain_script(redis, "set_if_live")
        self._clear_host = plain_script(redis, "clear_host")

    # -- the roster -------------------------------------------------------------------------

    async def player(self, pin: str, player_id: str) -> tuple[PlayerRecord | None, str | None]:
        """(player record, gone reason) for one player."""
        keys = self.keys(pin)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(keys.players, player_id)
            pipe.hget(keys.gone, player_id)
            raw, gone = await pipe.execute()
        return (PlayerRecord.decode(raw) if raw else None), (text(gone) if gone else None)

    async def join(
        self, pin: str, player_id: str, record: PlayerRecord, max_players: int
    ) -> ScriptResult:
        """Admit a new player and claim its nickname, if the room allows it."""
        k = self.keys(pin)
        raw = await self._join(
            keys=[k.game, k.nicks, k.players, k.scores, k.streaks, k.banned],
            args=[player_id, record.nickname_key, record.encode(), max_players],
        )
        return script_result(raw)

    async def remove(
        self, pin: str, player_id: str, nickname_key: str, reason: str
    ) -> tuple[ScriptResult, str | None]:
        """(outcome with the active player count, the socket the player was online on)."""
        k = self.keys(pin)
        raw = await self._remove(
            keys=[k.game, k.nicks, k.gone, k.online, k.banned, k.players, k.scores, k.streaks],
            args=[player_id, nickname_key, reason],
        )
        if text(raw[0]) != "ok":
            return script_result(raw), None
        return script_result(raw[:2]), (text(raw[2]) or None)

    async def reroll(
        self, pin: str, player_id: str, key: str, display: str, max_rerolls: int
    ) -> ScriptResult:
        """Swap a generated nickname for `display` (lobby only, at most `max_rerolls`)."""
        k = self.keys(pin)
        raw = await self._reroll(
            keys=[k.game, k.nicks, k.players], args=[player_id, key, display, max_rerolls]
        )
        return script_result(raw)

    async def taken_nicknames(self, pin: str, nickname_keys: list[str]) -> set[str]:
        """Which of these uniqueness keys cannot be joined with now: a player holds it, or
        it was banned (one round trip)."""
        if not nickname_keys:
            return set()
        k = self.keys(pin)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(k.nicks, nickname_keys)
            pipe.smismember(k.banned, nickname_keys)
            holders, banned = await pipe.execute()
        return {
            key
            for key, holder, ban in zip(nickname_keys, holders, banned, strict=True)
            if holder or ban
        }

    # -- online marks -----------------------------------------------------------------------

    async def set_online(self, pin: str, player_id: str, sid: str) -> tuple[str | None, int]:
        """Mark the player online on `sid`: (the sid it replaces if any, active players now)."""
        keys = self.keys(pin)
        raw = await self._set_online(keys=[keys.game, keys.online], args=[player_id, sid])
        if text(raw[0]) != "ok":
            return None, 0
        old = text(raw[2]) or None
        return (old if old != sid else None), int(raw[1])

    async def set_offline(self, pin: str, player_id: str, sid: str) -> bool:
        """Clear the online mark only if it is still `sid` (a takeover may have replaced it)."""
        return bool(await self._set_offline(keys=[self.keys(pin).online], args=[player_id, sid]))

    async def set_host(
        self, pin: str, game_id: str, sid: str | None, expected: str | None = None
    ) -> str | None:
        """Set the host socket id (or compare-and-clear it with `expected`); returns the old one.

        Only while game `game_id` owns the PIN: the caller checked the token's game
        before, but the PIN may have passed to another game since (audit finding 5)."""
        key = self.keys(pin).game
        if sid is None:
            cleared = await self._clear_host(keys=[key], args=[expected or ""])
            return "cleared" if cleared else None
        done = await self._set_if_live(keys=[key], args=["host_sid", sid, game_id])
        old = text(done[1]) if int(done[0]) else None
        return old if old and old != sid else None

    async def lock(self, pin: str, game_id: str, locked: bool) -> bool:
        """Lock or unlock game `game_id`; False if it no longer owns the PIN."""
        args = ["locked", "1" if locked else "0", game_id]
        return bool(int((await self._set_if_live(keys=[self.keys(pin).game], args=args))[0]))
