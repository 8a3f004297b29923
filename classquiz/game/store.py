"""GameStore: every Redis operation on live games; nothing else touches these keys.

Multi-key changes that must not interleave (join, answer, state moves) are Lua
scripts; reads that need several keys are pipelined into one round trip.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import OutOfMemoryError

from classquiz.game.keys import (
    GameKeys,
    deadlines_key,
    game_member,
    owner_games_key,
    pin_key,
    unparked_key,
)
from classquiz.schemas import MAX_QUESTIONS

LUA_DIR = Path(__file__).parent / "lua"
# Shared by every game script: how a written key takes the game hash's lifetime.
LUA_PRELUDE = (LUA_DIR / "_follow_game.lua").read_text()
STATE_FIELDS = ("id", "status", "qi", "opens_at", "deadline_at", "active", "locked")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def random_pin() -> str:
    """A 6-digit PIN from the operating system's CSPRNG: PINs must not be predictable."""
    return f"{100_000 + secrets.randbelow(900_000)}"


def _script(redis: Redis, name: str) -> Any:
    return redis.register_script(LUA_PRELUDE + (LUA_DIR / f"{name}.lua").read_text())


# Only writes a field while game ARGV[3] owns the hash: a write after the game expired
# would create a hash without a TTL that blocks its PIN forever, and one after another
# game took the PIN would reach that game. Returns {1, old value or ''}, or {0}.
_SET_IF_LIVE = """
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[3] then return {0} end
local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {1, old or ''}
"""

# Keep the last reveal of game ARGV[2] for as long as its game hash lives (the same PTTL),
# unless another game has taken the PIN. KEYS: 1 game, 2 revealed; ARGV: 1 JSON, 2 game id.
_KEEP_REVEAL = """
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[2] then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl)
return 1
"""


@dataclass(frozen=True)
class ScriptResult:
    """`code` is "ok" or an error code; `values` the script's further return values."""

    code: str
    values: tuple[int, ...]

    @property
    def ok(self) -> bool:
        return self.code == "ok"


class TooManyLiveGames(Exception):
    """The owner already has as many live (not finished) games as allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} live games per account")
        self.limit = limit


class LiveStoreFull(Exception):
    """Redis reached its memory cap (`maxmemory` with `noeviction`): it refuses new
    writes rather than evicting keys of running games."""


def _result(raw: list[Any]) -> ScriptResult:
    return ScriptResult(_text(raw[0]), tuple(int(v) for v in raw[1:]))


class GameStore:
    def __init__(self, redis: Redis, prefix: str, ttl_s: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_s = ttl_s
        # Where PINs come from; a test swaps it to make two games draw the same PIN.
        self.draw_pin: Callable[[], str] = random_pin
        self._submit = _script(redis, "submit_answer")
        self._join = _script(redis, "join_player")
        self._remove = _script(redis, "remove_player")
        self._open = _script(redis, "open_question")
        self._close = _script(redis, "close_question")
        self._finish = _script(redis, "finish_game")
        self._reroll = _script(redis, "reroll_nickname")
        self._create = _script(redis, "create_game")
        self._touch = _script(redis, "touch")
        self._set_online = _script(redis, "set_online")
        self._set_if_live = redis.register_script(_SET_IF_LIVE)
        self._keep_reveal = redis.register_script(_KEEP_REVEAL)

    def keys(self, pin: str) -> GameKeys:
        return GameKeys(self.prefix, pin)

    @property
    def deadlines(self) -> str:
        return deadlines_key(self.prefix)

    # -- creating -------------------------------------------------------------------

    async def create(
        self,
        game_id: str,
        owner_id: str,
        fields: dict[str, Any],
        quiz: list[dict[str, Any]],
        max_live_per_owner: int,
        attempts: int = 50,
    ) -> str:
        """Reserve a random PIN no live game uses and create the game on it, atomically
        (create_game.lua), unless the owner already has `max_live_per_owner` live games
        (TooManyLiveGames), or Redis is full (LiveStoreFull). Leftovers of an older game
        on the PIN are cleared first.
        Returns the PIN; `fields` get its `pin` added."""
        snapshot = orjson.dumps(quiz)
        owner_games = owner_games_key(self.prefix, owner_id)
        for _ in range(attempts):
            pin = self.draw_pin()
            keys = self.keys(pin)
            seen = [_text(m) for m in await self.redis.zrange(owner_games, 0, -1)]
            args: list[Any] = [
                game_id,
                self.ttl_s * 1000,
                snapshot,
                max_live_per_owner,
                game_member(pin, game_id),
                len(seen),
                *seen,
            ]
            for name, value in {**fields, "pin": pin}.items():
                args += [name, _encode(value)]
            try:
                raw = await self._create(
                    keys=[
                        pin_key(self.prefix, pin),
                        keys.game,
                        keys.quiz,
                        owner_games,
                        *(self.keys(member.partition(":")[0]).game for member in seen),
                        *(k for k in keys.all(MAX_QUESTIONS) if k not in (keys.game, keys.quiz)),
                    ],
                    args=args,
                )
            except OutOfMemoryError:
                raise LiveStoreFull from None
            outcome = _result(raw)
            if outcome.code == "too_many_live_games":
                raise TooManyLiveGames(max_live_per_owner)
            if outcome.ok:
                return pin
        raise RuntimeError("no free PIN found; too many live games")

    async def touch(self, pin: str, question_count: int) -> None:
        """Push every key's expiry forward while the game is played (not once finished)."""
        keys = self.keys(pin)
        others = [k for k in keys.all(question_count) if k != keys.game]
        await self._touch(
            keys=[keys.game, pin_key(self.prefix, pin), *others], args=[self.ttl_s * 1000]
        )

    async def keep_for_results(self, pin: str, question_count: int, ttl_s: int) -> None:
        """Shorten a finished game's keys, its PIN reservation included, to `ttl_s`."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in [*self.keys(pin).all(question_count), pin_key(self.prefix, pin)]:
                pipe.expire(key, ttl_s)
            await pipe.execute()

    # -- reading ----------------------------------------------------------------------

    async def meta(self, pin: str) -> dict[str, str] | None:
        raw = await self.redis.hgetall(self.keys(pin).game)
        return {_text(k): _text(v) for k, v in raw.items()} if raw else None

    async def state(self, pin: str) -> dict[str, str] | None:
        """The moving part of the game hash only (what joins and welcomes need, cheaper
        than `meta`, which also carries the settings)."""
        values = await self.redis.hmget(self.keys(pin).game, STATE_FIELDS)
        if values[0] is None:
            return None
        return {
            name: _text(v) for name, v in zip(STATE_FIELDS, values, strict=True) if v is not None
        }

    async def quiz_snapshot(self, pin: str) -> bytes | None:
        """The quiz snapshot as stored (JSON): callers parse it and may weigh it."""
        raw: bytes | None = await self.redis.get(self.keys(pin).quiz)
        return raw or None

    async def player(self, pin: str, player_id: str) -> tuple[dict[str, Any] | None, str | None]:
        """(player record, gone reason) for one player."""
        keys = self.keys(pin)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(keys.players, player_id)
            pipe.hget(keys.gone, player_id)
            raw, gone = await pipe.execute()
        return (orjson.loads(raw) if raw else None), (_text(gone) if gone else None)

    async def player_state(self, pin: str, player_id: str, question_index: int) -> dict[str, Any]:
        """Score and streak as the player may see them: while question `question_index` is
        open, as they stood before it (the answer's effect stays secret until the reveal)."""
        keys = self.keys(pin)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zscore(keys.scores, player_id)
            pipe.hget(keys.streaks, player_id)
            if question_index >= 0:
                pipe.hget(keys.answers(question_index), player_id)
            score, streak, *answer = await pipe.execute()
        record = orjson.loads(answer[0]) if answer and answer[0] else None
        state = {
            "score": int(score or 0),
            "streak": int(streak or 0),
            "answered": record is not None,
        }
        if record is not None:
            state["open_score"] = state["score"] - int(record["p"])
            state["open_streak"] = int(record.get("s", 0))
        return state

    async def roster(self, pin: str) -> list[dict[str, Any]]:
        """Active players with connection state and score (for the host's welcome)."""
        keys = self.keys(pin)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.players)
            pipe.hgetall(keys.gone)
            pipe.hgetall(keys.online)
            pipe.zrange(keys.scores, 0, -1, withscores=True)
            players, gone, online, scores = await pipe.execute()
        gone_ids = {_text(k) for k in gone}
        online_ids = {_text(k) for k in online}
        score_of = {_text(pid): int(score) for pid, score in scores}
        out = []
        for pid_raw, raw in players.items():
            pid = _text(pid_raw)
            if pid in gone_ids:
                continue
            record = orjson.loads(raw)
            out.append(
                {
                    "player_id": pid,
                    "nickname": record["n"],
                    "connected": pid in online_ids,
                    "score": score_of.get(pid, 0),
                }
            )
        out.sort(key=lambda p: p["nickname"].casefold())
        return out

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

    async def answered_count(self, pin: str, question_index: int) -> tuple[int, int]:
        keys = self.keys(pin)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hlen(keys.answers(question_index))
            pipe.hget(keys.game, "active")
            answered, active = await pipe.execute()
        return int(answered), int(active or 0)

    # -- players ----------------------------------------------------------------------

    async def join(
        self, pin: str, player_id: str, normalized: str, record: dict[str, Any], max_players: int
    ) -> ScriptResult:
        k = self.keys(pin)
        raw = await self._join(
            keys=[k.game, k.nicks, k.players, k.scores, k.streaks, k.banned],
            args=[player_id, normalized, orjson.dumps(record), max_players],
        )
        return _result(raw)

    async def remove(
        self, pin: str, player_id: str, normalized: str, reason: str
    ) -> tuple[ScriptResult, str | None]:
        """(outcome with the active player count, the socket the player was online on)."""
        k = self.keys(pin)
        raw = await self._remove(
            keys=[k.game, k.nicks, k.gone, k.online, k.banned, k.players, k.scores, k.streaks],
            args=[player_id, normalized, reason],
        )
        if _text(raw[0]) != "ok":
            return _result(raw), None
        return _result(raw[:2]), (_text(raw[2]) or None)

    async def all_online_answered(self, pin: str, qi: int) -> bool:
        """True when someone is online and every online player answered question `qi`."""
        k = self.keys(pin)
        online = await self.redis.hkeys(k.online)
        if not online:
            return False
        async with self.redis.pipeline(transaction=False) as pipe:
            for pid in online:
                pipe.hexists(k.answers(qi), pid)
            return all(await pipe.execute())

    async def now_ms(self) -> int:
        """Redis' clock: the one deadlines and answers are judged by."""
        seconds, micros = await self.redis.time()
        return int(seconds) * 1000 + int(micros) // 1000

    async def reroll(
        self, pin: str, player_id: str, key: str, display: str, max_rerolls: int
    ) -> ScriptResult:
        k = self.keys(pin)
        raw = await self._reroll(
            keys=[k.game, k.nicks, k.players], args=[player_id, key, display, max_rerolls]
        )
        return _result(raw)

    async def set_online(self, pin: str, player_id: str, sid: str) -> tuple[str | None, int]:
        """Mark the player online on `sid`: (the sid it replaces if any, active players now)."""
        keys = self.keys(pin)
        raw = await self._set_online(keys=[keys.game, keys.online], args=[player_id, sid])
        if _text(raw[0]) != "ok":
            return None, 0
        old = _text(raw[2]) or None
        return (old if old != sid else None), int(raw[1])

    async def set_offline(self, pin: str, player_id: str, sid: str) -> bool:
        """Clear the online mark only if it is still `sid` (a takeover may have replaced it)."""
        script = (
            "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then "
            "return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0"
        )
        return bool(await self.redis.eval(script, 1, self.keys(pin).online, player_id, sid))

    async def set_host(
        self, pin: str, game_id: str, sid: str | None, expected: str | None = None
    ) -> str | None:
        """Set the host socket id (or compare-and-clear it with `expected`); returns the old one.

        Only while game `game_id` owns the PIN: the caller checked the token's game
        before, but the PIN may have passed to another game since (audit finding 5)."""
        key = self.keys(pin).game
        if sid is None:
            script = (
                "if redis.call('HGET', KEYS[1], 'host_sid') == ARGV[1] then "
                "redis.call('HSET', KEYS[1], 'host_sid', '') return 1 end return 0"
            )
            return "cleared" if await self.redis.eval(script, 1, key, expected or "") else None
        done = await self._set_if_live(keys=[key], args=["host_sid", sid, game_id])
        old = _text(done[1]) if int(done[0]) else None
        return old if old and old != sid else None

    async def lock(self, pin: str, game_id: str, locked: bool) -> bool:
        """Lock or unlock game `game_id`; False if it no longer owns the PIN."""
        args = ["locked", "1" if locked else "0", game_id]
        return bool(int((await self._set_if_live(keys=[self.keys(pin).game], args=args))[0]))

    # -- game flow -----------------------------------------------------------------------

    async def open_question(
        self,
        pin: str,
        expected_status: str,
        expected_qi: int,
        new_qi: int,
        time_limit_ms: int,
        grace_ms: int,
        lock: bool,
        game_id: str,
    ) -> ScriptResult:
        """Open `new_qi` if game `game_id` still owns the PIN and is where the caller saw it."""
        k = self.keys(pin)
        raw = await self._open(
            keys=[k.game, self.deadlines],
            args=[
                expected_status,
                expected_qi,
                new_qi,
                time_limit_ms,
                grace_ms,
                f"{pin}:{new_qi}",
                "1" if lock else "0",
                game_id,
            ],
        )
        return _result(raw)

    async def close_question(
        self, pin: str, qi: int, graded: bool, game_id: str = ""
    ) -> ScriptResult:
        """Close question `qi`; with `game_id`, only while that game owns the PIN."""
        k = self.keys(pin)
        raw = await self._close(
            keys=[k.game, self.deadlines, k.answers(qi), k.streaks, k.players, k.gone],
            args=[qi, f"{pin}:{qi}", "1" if graded else "0", game_id],
        )
        return _result(raw)

    async def finish(self, pin: str, game_id: str) -> ScriptResult:
        """Finish game `game_id`; game_not_found if another game has taken its PIN."""
        k = self.keys(pin)
        keys = [k.game, self.deadlines, unparked_key(self.prefix)]
        return _result(await self._finish(keys=keys, args=[pin, 0, game_id]))

    async def submit(
        self,
        pin: str,
        game_id: str,
        player_id: str,
        qi: int,
        correct: bool | None,
        points: int,
        time_limit_ms: int,
        bonus: bool,
        grace_ms: int,
        stored: Any,
        buckets: tuple[str, ...],
    ) -> ScriptResult:
        k = self.keys(pin)
        flag = -1 if correct is None else int(correct)
        raw = await self._submit(
            keys=[
                k.game,
                k.answers(qi),
                k.scores,
                k.streaks,
                k.dist(qi),
                k.correct,
                k.gone,
                k.online,
                k.players,
            ],
            args=[
                player_id,
                qi,
                flag,
                points,
                time_limit_ms,
                "1" if bonus else "0",
                grace_ms,
                orjson.dumps(stored),
                game_id,
                *buckets,
            ],
        )
        return _result(raw)

    async def due_deadlines(self, now_ms: int, limit: int = 20) -> list[tuple[str, int]]:
        raw = await self.redis.zrangebyscore(self.deadlines, "-inf", now_ms, start=0, num=limit)
        out = []
        for member in raw:
            pin, _, qi = _text(member).partition(":")
            out.append((pin, int(qi)))
        return out

    async def drop_deadline(self, pin: str, qi: int) -> None:
        await self.redis.zrem(self.deadlines, f"{pin}:{qi}")

    # -- reveal -------------------------------------------------------------------------

    async def reveal(self, pin: str, qi: int, top: int = 5) -> dict[str, Any]:
        """Everything `question_ended` needs, in one round trip."""
        k = self.keys(pin)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(k.dist(qi))
            pipe.hlen(k.answers(qi))
            pipe.hget(k.game, "active")
            pipe.zrevrange(k.scores, 0, top - 1, withscores=True)
            dist, answered, active, leaders = await pipe.execute()
        return {
            "distribution": {_text(key): int(v) for key, v in dist.items()},
            "answered": int(answered),
            "players_count": int(active or 0),
            "top": await self.ranked(pin, [(_text(p), int(s)) for p, s in leaders]),
        }

    async def keep_reveal(self, pin: str, game_id: str, question_ended: dict[str, Any]) -> None:
        """Store the `question_ended` payload just sent, once per question (never per
        answer), so a presenter that reloads during the reveal can draw it again."""
        k = self.keys(pin)
        await self._keep_reveal(
            keys=[k.game, k.revealed], args=[orjson.dumps(question_ended), game_id]
        )

    async def kept_reveal(self, pin: str, qi: int) -> dict[str, Any] | None:
        """The stored `question_ended` of question `qi`, or None (not stored yet, or an
        older question's: the reveal step writes it just after the close)."""
        raw = await self.redis.get(self.keys(pin).revealed)
        if raw is None:
            return None
        payload: dict[str, Any] = orjson.loads(raw)
        return payload if payload.get("question_index") == qi else None

    async def standing(self, pin: str, player_id: str, qi: int) -> dict[str, Any]:
        """One player's standing after question `qi` (score, streak, answer, rank, gap to
        the next higher score): what a reconnecting player's welcome needs in a reveal.
        Two small round trips, O(log N) each, instead of reading the whole leaderboard."""
        k = self.keys(pin)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zscore(k.scores, player_id)
            pipe.hget(k.streaks, player_id)
            pipe.hget(k.answers(qi), player_id)
            score_raw, streak, answer = await pipe.execute()
        score = int(score_raw or 0)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcount(k.scores, f"({score}", "+inf")
            pipe.zrangebyscore(k.scores, f"({score}", "+inf", start=0, num=1, withscores=True)
            higher, next_up = await pipe.execute()
        return {
            "player_id": player_id,
            "answer": orjson.loads(answer) if answer else None,
            "streak": int(streak or 0),
            "score": score,
            "rank": int(higher) + 1,
            "gap_to_next": int(next_up[0][1]) - score if next_up else None,
        }

    async def ranked(self, pin: str, entries: list[tuple[str, int]]) -> list[dict[str, Any]]:
        """Leaderboard entries with nicknames and shared ranks (rank = 1 + higher scores)."""
        if not entries:
            return []
        k = self.keys(pin)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(k.players, [pid for pid, _ in entries])
            for _, score in entries:
                pipe.zcount(k.scores, f"({score}", "+inf")
            records, *higher = await pipe.execute()
        out = []
        for (pid, score), raw, above in zip(entries, records, higher, strict=True):
            nickname = orjson.loads(raw)["n"] if raw else "?"
            out.append(
                {"rank": int(above) + 1, "player_id": pid, "nickname": nickname, "score": score}
            )
        return out

    async def leaderboard(
        self, pin: str, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        k = self.keys(pin)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrevrange(k.scores, offset, offset + limit - 1, withscores=True)
            pipe.zcard(k.scores)
            rows, total = await pipe.execute()
        return await self.ranked(pin, [(_text(p), int(s)) for p, s in rows]), int(total)

    async def results_for(
        self, pin: str, qi: int | None, player_ids: list[str]
    ) -> list[dict[str, Any]]:
        """Standing of a batch of (local) players, with their answer to question `qi`.

        One round trip: the whole leaderboard is read once and ranks are counted
        in Python, instead of a score and a rank query per player.
        """
        if not player_ids:
            return []
        k = self.keys(pin)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrevrange(k.scores, 0, -1, withscores=True)
            pipe.hmget(k.streaks, player_ids)
            pipe.hmget(k.correct, player_ids)
            if qi is not None:
                pipe.hmget(k.answers(qi), player_ids)
            board, streaks, correct, *answers = await pipe.execute()
        score_of = {_text(pid): int(score) for pid, score in board}
        place_of_score = places_by_score([int(score) for _, score in board])
        per_answer = answers[0] if answers else [None] * len(player_ids)
        out = []
        for pid, answer, streak, right in zip(
            player_ids, per_answer, streaks, correct, strict=True
        ):
            score = score_of.get(pid, 0)
            rank, gap = place_of_score.get(score, (len(score_of) + 1, None))
            out.append(
                {
                    "player_id": pid,
                    "answer": orjson.loads(answer) if answer else None,
                    "streak": int(streak or 0),
                    "correct_count": int(right or 0),
                    "score": score,
                    "rank": rank,
                    "gap_to_next": gap,
                }
            )
        return out

    async def final_state(self, pin: str, question_count: int) -> dict[str, Any]:
        """Every player, answer and distribution of a finished game, in one round trip."""
        k = self.keys(pin)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(k.players)
            pipe.hgetall(k.gone)
            pipe.hgetall(k.correct)
            for i in range(question_count):
                pipe.hgetall(k.answers(i))
                pipe.hgetall(k.dist(i))
            players, gone, correct, *per_question = await pipe.execute()
        return {
            "players": {_text(p): orjson.loads(v) for p, v in players.items()},
            "gone": {_text(p): _text(v) for p, v in gone.items()},
            "correct": {_text(p): int(v) for p, v in correct.items()},
            "answers": [
                {_text(p): orjson.loads(v) for p, v in per_question[2 * i].items()}
                for i in range(question_count)
            ],
            "distributions": [
                {_text(b): int(v) for b, v in per_question[2 * i + 1].items()}
                for i in range(question_count)
            ],
        }


def places_by_score(scores_descending: list[int]) -> dict[int, tuple[int, int | None]]:
    """score → (shared rank, points behind the next higher score), from one leaderboard
    read sorted high to low. Rank is 1 + how many scores are higher; the gap is None at
    rank 1 (nobody is ahead). Equal scores share both: 1700, 875, 875, 0 give ranks 1, 2,
    2, 4 and gaps None, 825, 825, 875."""
    places: dict[int, tuple[int, int | None]] = {}
    above: int | None = None
    for position, score in enumerate(scores_descending, start=1):
        if score in places:
            continue
        places[score] = (position, None if above is None else above - score)
        above = score
    return places


def _encode(value: Any) -> str | int | float:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | str):
        return value
    return orjson.dumps(value).decode()
