"""The live store's read projections: each read shaped for one screen or message
(a welcome, a reveal, the leaderboard, per-player results, the final record),
pipelined into one round trip where it needs several keys."""

from __future__ import annotations

from typing import Any

import orjson

from classquiz.game.keys import owner_games_key
from classquiz.game.records import (
    STATE_FIELDS,
    AnswerRecord,
    FinalState,
    GameState,
    PlayerRecord,
    Standing,
    gone_reason,
)
from classquiz.game.store_base import StoreBase, async_reply, text


class Projections(StoreBase):
    # -- the game hash ---------------------------------------------------------------------

    async def meta(self, pin: str) -> dict[str, str] | None:
        raw = await async_reply(self.redis.hgetall(self.keys(pin).game))
        return {text(k): text(v) for k, v in raw.items()} if raw else None

    async def live_games_of(self, owner_id: str) -> list[tuple[str, str]]:
        """(PIN, game id) of each game `owner_id` hosts that has not finished yet.

        Read from the owner's games index (the live-games quota, create_game.lua) with
        the same rule: a member is live while its PIN's game hash still belongs to
        that game and is not finished. Not atomic: a game created meanwhile is missed.
        """
        members = [
            text(m)
            for m in await async_reply(
                self.redis.zrange(owner_games_key(self.prefix, owner_id, self.buckets), 0, -1)
            )
        ]
        live = []
        for member in members:
            pin, _, game_id = member.partition(":")
            owner, current, status = await async_reply(
                self.redis.hmget(self.keys(pin).game, ["owner_id", "id", "status"])
            )
            if (text(owner), text(current)) == (owner_id, game_id) and text(status) != "finished":
                live.append((pin, game_id))
        return live

    async def state(self, pin: str) -> GameState | None:
        """Where the game on `pin` is now (what joins, welcomes and the sweeper need, cheaper
        than `meta`, which also carries the settings); None when there is no game."""
        return GameState.decode(
            await async_reply(self.redis.hmget(self.keys(pin).game, list(STATE_FIELDS)))
        )

    async def quiz_snapshot(self, pin: str) -> bytes | None:
        """The quiz snapshot as stored (JSON): callers parse it and may weigh it."""
        raw: bytes | None = await self.redis.get(self.keys(pin).quiz)
        return raw or None

    # -- one player, the host's roster ---------------------------------------------------------

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
        record = AnswerRecord.decode(answer[0]) if answer and answer[0] else None
        state: dict[str, Any] = {
            "score": int(score or 0),
            "streak": int(streak or 0),
            "answered": record is not None,
        }
        if record is not None:
            state["open_score"] = state["score"] - record.points
            state["open_streak"] = record.streak_before
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
        gone_ids = {text(k) for k in gone}
        online_ids = {text(k) for k in online}
        score_of = {text(pid): int(score) for pid, score in scores}
        out: list[dict[str, Any]] = []
        for pid_raw, raw in players.items():
            pid = text(pid_raw)
            if pid in gone_ids:
                continue
            out.append(
                {
                    "player_id": pid,
                    "nickname": PlayerRecord.decode(raw).nickname,
                    "connected": pid in online_ids,
                    "score": score_of.get(pid, 0),
                }
            )
        out.sort(key=lambda p: p["nickname"].casefold())
        return out

    # -- the open question ---------------------------------------------------------------------

    async def answered_count(self, pin: str, question_index: int) -> tuple[int, int]:
        """(answers to the question, active players)."""
        keys = self.keys(pin)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hlen(keys.answers(question_index))
            pipe.hget(keys.game, "active")
            answered, active = await pipe.execute()
        return int(answered), int(active or 0)

    async def all_online_answered(self, pin: str, qi: int) -> bool:
        """True when someone is online and every online player answered question `qi`."""
        k = self.keys(pin)
        online = await async_reply(self.redis.hkeys(k.online))
        if not online:
            return False
        async with self.redis.pipeline(transaction=False) as pipe:
            for pid in online:
                pipe.hexists(k.answers(qi), pid)
            return all(await pipe.execute())

    # -- reveals and standings -----------------------------------------------------------------

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
            "distribution": {text(key): int(v) for key, v in dist.items()},
            "answered": int(answered),
            "players_count": int(active or 0),
            "top": await self.ranked(pin, [(text(p), int(s)) for p, s in leaders]),
        }

    async def kept_reveal(self, pin: str, qi: int) -> dict[str, Any] | None:
        """The stored `question_ended` of question `qi`, or None (not stored yet, or an
        older question's: the reveal step writes it just after the close)."""
        raw = await self.redis.get(self.keys(pin).revealed)
        if raw is None:
            return None
        payload: dict[str, Any] = orjson.loads(raw)
        return payload if payload.get("question_index") == qi else None

    async def standing(self, pin: str, player_id: str, qi: int) -> Standing:
        """One player's standing after question `qi`: what a reconnecting player's welcome
        needs in a reveal. Two small round trips, O(log N) each, instead of reading the
        whole leaderboard."""
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
        return Standing(
            player_id=player_id,
            answer=AnswerRecord.decode(answer) if answer else None,
            streak=int(streak or 0),
            score=score,
            rank=int(higher) + 1,
            gap_to_next=int(next_up[0][1]) - score if next_up else None,
        )

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
            nickname = PlayerRecord.decode(raw).nickname if raw else "?"
            out.append(
                {"rank": int(above) + 1, "player_id": pid, "nickname": nickname, "score": score}
            )
        return out

    async def leaderboard(
        self, pin: str, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of the leaderboard, and how many players it has."""
        k = self.keys(pin)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrevrange(k.scores, offset, offset + limit - 1, withscores=True)
            pipe.zcard(k.scores)
            rows, total = await pipe.execute()
        return await self.ranked(pin, [(text(p), int(s)) for p, s in rows]), int(total)

    async def results_for(self, pin: str, qi: int | None, player_ids: list[str]) -> list[Standing]:
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
        score_of = {text(pid): int(score) for pid, score in board}
        place_of_score = places_by_score([int(score) for _, score in board])
        per_answer = answers[0] if answers else [None] * len(player_ids)
        out = []
        for pid, answer, streak, right in zip(
            player_ids, per_answer, streaks, correct, strict=True
        ):
            score = score_of.get(pid, 0)
            rank, gap = place_of_score.get(score, (len(score_of) + 1, None))
            out.append(
                Standing(
                    player_id=pid,
                    answer=AnswerRecord.decode(answer) if answer else None,
                    streak=int(streak or 0),
                    correct_count=int(right or 0),
                    score=score,
                    rank=rank,
                    gap_to_next=gap,
                )
            )
        return out

    async def final_state(self, pin: str, question_count: int) -> FinalState:
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
        return FinalState(
            players={text(p): PlayerRecord.decode(v) for p, v in players.items()},
            gone={text(p): gone_reason(text(v)) for p, v in gone.items()},
            correct={text(p): int(v) for p, v in correct.items()},
            answers=[
                {text(p): AnswerRecord.decode(v) for p, v in per_question[2 * i].items()}
                for i in range(question_count)
            ],
            distributions=[
                {text(b): int(v) for b, v in per_question[2 * i + 1].items()}
                for i in range(question_count)
            ],
        )


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
