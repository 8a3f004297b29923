"""ResultService: store each finished game exactly once, and read the results back.

`finish` first parks the snapshot in a Redis hash (`{prefix}:results:pending`),
then writes it to PostgreSQL in one idempotent transaction, then drops it from
the hash. If the database is unreachable the snapshot simply stays parked; a
retry loop, run by whichever process holds a short Redis lease, writes parked
snapshots later. A snapshot is removed from Redis only after its game row is
committed, and the write is a no-op when the row exists: so a game is never
lost and never stored twice, whatever crashes in between.

Before parking there is one more gap: a process can die after `finish_game.lua`
and before the snapshot is parked. The script therefore marks the game in
`{prefix}:results:unparked` in the same step, parking clears the mark, and the
same leased pass sweeps marks older than a few seconds: it rebuilds the
snapshot from the game's live state (still in Redis) and finishes it.

Only an outage is worth retrying. A snapshot the database refuses for any other
reason (a value too long for its column, a broken constraint, unreadable JSON)
would fail the same way every 5 s forever; it is set aside instead, into the
dead-letter hash `{prefix}:results:dead`, with an ERROR log line and the counter
`classquiz_results_set_aside_total`, for a human to look at (docs/results.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from ormar.databases.connection import DatabaseConnection
from prometheus_client import Counter
from redis.asyncio import Redis

from classquiz.contracts.common import Page
from classquiz.contracts.results import (
    FinishedGameOut,
    GameStatsOut,
    PlayerAnswerOut,
    PlayerResultOut,
    QuestionStatsOut,
)
from classquiz.db.engine import database as shared_database
from classquiz.db.models import User
from classquiz.errors import Refusal
from classquiz.game.final import FinishedGame
from classquiz.game.keys import all_buckets, bucket_of, unparked_key, unparked_member
from classquiz.game.store_base import async_reply
from classquiz.services import results_export as export
from classquiz.services import results_rows as shape
from classquiz.services import results_store as store
from classquiz.services.lease import Lease
from classquiz.services.results_export import XLSX
from classquiz.services.tasks import cancel_and_wait
from classquiz.services.tokens import PLAYER, TokenInvalid, TokenSigner

log = logging.getLogger(__name__)
# A finished game not parked after this long was dropped by a dying process: sweep it.
# (Before that, the finishing process is still on its way: sweeping would only repeat it.)
SWEEP_AFTER_MS = 5_000
# (pin, game id) -> the record of that finished game, or None when its live state is gone.
RecordSource = Callable[[str, str], Awaitable[FinishedGame | None]]
RESULTS_EXPIRED = Counter(
    "classquiz_results_expired_total",
    "Stored games whose results were deleted at the end of RESULTS_RETENTION_DAYS",
)
# How often each process, if it gets the purge lease, looks for expired results; one
# pass deletes batches of PURGE_BATCH games until none is left or PURGE_PASS_S is up.
PURGE_EVERY_S = 3600.0
PURGE_BATCH = 200
PURGE_PASS_S = 60.0

RESULTS_SET_ASIDE = Counter(
    "classquiz_results_set_aside_total",
    "Finished games whose results can never be stored, set aside in the dead-letter hash",
)


def _finished_before(snapshot: dict[str, Any], cutoff: datetime) -> bool:
    """Whether a set-aside snapshot's game finished before `cutoff` (False when it
    does not say when, readably: such a snapshot stays for a human)."""
    try:
        finished_at = datetime.fromisoformat(str(snapshot["finished_at"]))
    except (KeyError, ValueError):
        return False
    return store.aware(finished_at) < cutoff


class ResultService:
    def __init__(
        self,
        redis: Redis,
        key_prefix: str,
        signer: TokenSigner,
        database: DatabaseConnection | None = None,
        lease_ms: int = 30_000,
        *,
        finished_record: RecordSource | None = None,
        buckets: int = 1,
        retention_days: int = 0,
    ) -> None:
        self.redis = redis
        # Stored results older than this (by the game's end) are deleted; 0: never.
        self.retention_days = retention_days
        self._purged_at: float | None = None  # loop time of the last purge pass
        # On a Redis Cluster (buckets > 1) the unparked marks live in each game's bucket
        # (keys.py) and the pending and dead-letter hashes in other slots, so the steps
        # below that are one MULTI on a single Redis run one by one there, in an order
        # that always leaves the snapshot in at least one place.
        self.buckets = buckets
        self.signer = signer
        self.db = database or shared_database
        self.pending_key = f"{key_prefix}:results:pending"
        self.lease_key = f"{key_prefix}:results:retry-lease"
        self.key_prefix = key_prefix
        self.dead_letter_key = f"{key_prefix}:results:dead"
        self.lease = Lease(redis, self.lease_key, lease_ms)
        # The retention purge has a lease of its own: a long purge must not hold up
        # the retries of parked results, nor can one release the other's lease.
        self.purge_lease = Lease(redis, f"{key_prefix}:results:purge-lease", lease_ms)
        # How the sweeper rebuilds the record of a game finished but never parked
        # (FinalRecords.of_finished); without it that sweep is off.
        self.finished_record = finished_record
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ storing

    async def finish(self, final: FinishedGame) -> bool:
        """Store a finished game; True if settled now (stored now, stored before, or
        dropped because its host deleted their account: see `store.write_game`), False
        if it stays parked in Redis (an outage) or was set aside (refused for good, see
        `_set_aside`).

        Never raises for a database error (the retry loop takes over an outage).
        If Redis refuses the parking as well, the database write is still tried,
        and only when both fail does the error reach the caller: then nothing
        holds the results any more, and the caller must know.
        """
        game_id = str(final.game_id)
        mark = unparked_member(final.pin, game_id)
        parked = True
        try:
            if self.buckets == 1:
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.hset(self.pending_key, game_id, final.model_dump_json())
                    pipe.zrem(self._unparked_of(mark), mark)
                    await pipe.execute()
            else:
                await async_reply(
                    self.redis.hset(self.pending_key, game_id, final.model_dump_json())
                )
                await async_reply(self.redis.zrem(self._unparked_of(mark), mark))
        except Exception:
            parked = False
            log.exception("could not park the results of game %s in Redis", game_id)
        try:
            await self._store(final)
        except Exception as exc:
            if store.is_unreachable(exc):
                if not parked:
                    raise
                log.warning("database unreachable; results of game %s stay pending", game_id)
                return False
            try:
                await self._set_aside(game_id, final.model_dump_json(), exc, mark)
            except Exception:
                if not parked:
                    raise exc from None
                log.exception("could not set game %s aside; it stays pending", game_id)
            return False
        with contextlib.suppress(Exception):  # else the retry pass will find it stored
            if parked:
                await async_reply(self.redis.hdel(self.pending_key, game_id))
            else:
                await async_reply(self.redis.zrem(self._unparked_of(mark), mark))
        return True

    async def _store(self, final: FinishedGame) -> None:
        if await store.write_game(self.db, final):
            log.info(
                "stored game %s: %d players, %d answers",
                final.game_id,
                len(final.players),
                len(final.answers),
            )

    async def _set_aside(
        self, game_id: str, raw: str | bytes, why: BaseException | str, mark: str | None = None
    ) -> None:
        """Move a snapshot that can never be stored out of the retry path, loudly.

        Kept as it was (bytes for bytes) in the dead-letter hash, which has no TTL on
        purpose: these are a class's results and only a human may drop them. It grows
        by one entry per game the database refuses, and each such game is an ERROR
        line and a counter step, so it cannot grow unnoticed.
        """
        async with self.redis.pipeline(transaction=self.buckets == 1) as pipe:
            # redis-py annotates the value as str, but any encodable value (bytes too) is stored
            # as given; the snapshot is kept byte for byte.
            pipe.hset(self.dead_letter_key, game_id, raw)  # type: ignore[arg-type]
            if self.buckets == 1:
                pipe.hdel(self.pending_key, game_id)
                if mark is not None:
                    pipe.zrem(self._unparked_of(mark), mark)
            await pipe.execute()
        if self.buckets > 1:  # a Cluster: set aside first, then out of the retry path
            await async_reply(self.redis.hdel(self.pending_key, game_id))
            if mark is not None:
                await async_reply(self.redis.zrem(self._unparked_of(mark), mark))
        RESULTS_SET_ASIDE.inc()
        # The error's class and first line only: no traceback that could carry row values.
        reason = why if isinstance(why, str) else f"{type(why).__name__}: {_first_line(why)}"
        log.error(
            "the results of game %s can never be stored (%s); set aside in %s, not retried",
            game_id,
            reason,
            self.dead_letter_key,
        )

    async def forget_owner(self, owner_id: uuid.UUID) -> int:
        """Drop the set-aside snapshots of games `owner_id` hosted (their account was
        deleted); how many. Only set-aside ones: a parked snapshot of theirs is dropped
        by the next retry pass (`write_game` finds the host gone). One set aside while
        this runs stays, as does one too broken to name its host: both for a human."""
        return await self._drop_set_aside(
            lambda snapshot: snapshot.get("owner_id") == str(owner_id)
        )

    async def _drop_set_aside(self, matches: Callable[[dict[str, Any]], bool]) -> int:
        """Drop the set-aside snapshots that `matches` (a snapshot's JSON object); how many.
        A snapshot that is no JSON object matches nothing: it stays for a human."""
        dropped = 0
        async for game_id, raw in self.redis.hscan_iter(self.dead_letter_key):
            try:
                snapshot = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if isinstance(snapshot, dict) and matches(snapshot):
                dropped += int(await async_reply(self.redis.hdel(self.dead_letter_key, game_id)))
        return dropped

    async def pending_ids(self) -> list[str]:
        return [
            k.decode() if isinstance(k, bytes) else k
            for k in await async_reply(self.redis.hkeys(self.pending_key))
        ]

    async def retry_pending(self) -> int:
        """One pass over parked snapshots, under the lease; how many were written now.

        The lease only saves work: two processes writing the same snapshot at
        once are still safe (the second finds the game row and does nothing).
        """
        if not await self.lease.hold():
            return 0
        stored = 0
        try:
            stored += await self._sweep_unparked()
            for game_id in await self.pending_ids():
                raw = await async_reply(self.redis.hget(self.pending_key, game_id))
                if raw is None:
                    continue  # finished by someone else meanwhile
                try:
                    final = FinishedGame.model_validate_json(raw)
                except ValueError:
                    await self._set_aside(game_id, raw, "unreadable snapshot")
                    continue
                try:
                    written = await store.write_game(self.db, final)
                except Exception as exc:
                    if store.is_unreachable(exc):
                        log.warning("database unreachable; results stay pending")
                        break  # no use trying the others now
                    await self._set_aside(game_id, raw, exc)
                    continue
                await async_reply(self.redis.hdel(self.pending_key, game_id))
                stored += int(written)
                await self.lease.hold()  # one more lifetime for the rest of the pass
        finally:
            with contextlib.suppress(Exception):
                await self.lease.release()
        if stored:
            log.info("stored %d pending game result(s)", stored)
        return stored

    async def _sweep_unparked(self) -> int:
        """Finish the games a dying process marked finished but never parked; how many
        were stored now. Run under the retry lease, so one process sweeps at a time."""
        if self.finished_record is None:
            return 0
        now_ms = await self._now_ms()
        stored = 0
        marks = [
            raw
            for bucket in all_buckets(self.buckets)
            for raw in await self.redis.zrangebyscore(
                unparked_key(self.key_prefix, bucket),
                "-inf",
                now_ms - SWEEP_AFTER_MS,
                start=0,
                num=20,
            )
        ]
        for raw in marks:
            mark = raw.decode() if isinstance(raw, bytes) else str(raw)
            pin, _, game_id = mark.partition(":")
            try:
                final = await self.finished_record(pin, game_id)
            except Exception:
                # Left marked: tried again next pass, until the live state expires (below).
                log.exception("could not rebuild the results of game %s", game_id)
                continue
            if final is None:
                log.error(
                    "game %s was finished but its live state is gone: its results are lost",
                    game_id,
                )
                await async_reply(self.redis.zrem(self._unparked_of(mark), mark))
                continue
            log.warning(
                "the results of game %s were never parked (a process died finishing it); "
                "storing them now",
                game_id,
            )
            stored += int(await self.finish(final))
        return stored

    def _unparked_of(self, mark: str) -> str:
        """The unparked index holding `mark` (`pin:game_id`): its game's bucket's."""
        pin = mark.partition(":")[0]
        return unparked_key(self.key_prefix, bucket_of(pin, self.buckets))

    async def _now_ms(self) -> int:
        seconds, micros = await self.redis.time()
        return int(seconds) * 1000 + int(micros) // 1000

    async def run_retry_loop(self, interval_s: float = 5.0) -> None:
        """Retry parked snapshots every `interval_s`, and with a retention period purge
        expired results at least PURGE_EVERY_S apart, until cancelled; never dies of an
        error. A purge this process could not run (another held its lease) is tried
        again on the next turn, not an hour later; a failed one waits its hour."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.retry_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("results retry pass failed")
            due = self._purged_at is None or loop.time() - self._purged_at >= PURGE_EVERY_S
            if self.retention_days and due:
                try:
                    if await self.purge_expired() is not None:
                        self._purged_at = loop.time()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # Not again in 5 s (a database outage would log this every turn):
                    # a failed pass waits its hour, like one that ran.
                    self._purged_at = loop.time()
                    log.exception("results retention pass failed")
            await asyncio.sleep(interval_s)

    async def purge_expired(self, now: datetime | None = None) -> int | None:
        """Delete the stored results of every game that finished more than
        `retention_days` before `now`, as their host's deletion would (the tombstone
        stays: see `store.delete_game`), and set-aside snapshots as old; how many stored
        games went, or None when another process holds the purge lease.

        Batches of PURGE_BATCH games, oldest first, until none is left, the pass has
        run PURGE_PASS_S, or the lease is lost (another process then goes on)."""
        if not self.retention_days or not await self.purge_lease.hold():
            return None
        cutoff = shape.retention_cutoff(store.aware(now or datetime.now(UTC)), self.retention_days)
        loop = asyncio.get_running_loop()
        ends = loop.time() + PURGE_PASS_S
        purged = 0
        try:
            more = True
            while more:
                batch = await store.games_finished_before(self.db, cutoff, PURGE_BATCH)
                for game_id, host_id in batch:
                    purged += int(await store.delete_game(self.db, game_id, host_id))
                    # Time is up, or the lease lapsed (another process goes on from here).
                    if loop.time() >= ends or not await self.purge_lease.hold():
                        more = False
                        break
                else:
                    more = len(batch) == PURGE_BATCH
            set_aside = await self._drop_set_aside(
                lambda snapshot: _finished_before(snapshot, cutoff)
            )
        finally:
            with contextlib.suppress(Exception):
                await self.purge_lease.release()
        if purged or set_aside:
            RESULTS_EXPIRED.inc(purged)
            log.info(
                "deleted the results of %d games (and %d set-aside snapshots) that finished "
                "before %s (RESULTS_RETENTION_DAYS=%d)",
                purged,
                set_aside,
                cutoff.isoformat(timespec="seconds"),
                self.retention_days,
            )
        return purged

    def start(self, interval_s: float = 5.0) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run_retry_loop(interval_s), name="results-retry")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and not await cancel_and_wait(task):
            log.warning("the results retry loop did not stop in time")

    # ------------------------------------------------------------ reading

    async def list_finished(
        self, owner_id: uuid.UUID, limit: int, offset: int
    ) -> Page[FinishedGameOut]:
        rows, total = await store.list_games(self.db, owner_id, limit, offset)
        return Page[FinishedGameOut](
            items=[shape.game_info(r, retention_days=self.retention_days) for r in rows],
            total=total,
            limit=limit,
            offset=offset,
        )

    async def _hosted_game(self, game_id: uuid.UUID, viewer: User) -> Any:
        """The game row if `viewer` hosted it; 404 for everyone else (existence stays hidden)."""
        row = await store.fetch_game(self.db, game_id)
        if row is None or str(row.owner_id) != str(viewer.id):
            raise Refusal("game_not_found", "no such game")
        return row

    async def _still_stored(self, game_id: uuid.UUID) -> None:
        """Called after reading a game's players or answers: the reads are separate
        statements, and a deletion that committed between them must read as 404, not
        as a game without players."""
        if not await store.is_stored(self.db, game_id):
            raise Refusal("game_not_found", "no such game (its results were just deleted)")

    async def game_results(self, game_id: uuid.UUID, viewer: User) -> GameStatsOut:
        game = await self._hosted_game(game_id, viewer)
        players = await store.game_players(self.db, game_id)
        aggregates = await store.question_aggregates(self.db, game_id)
        await self._still_stored(game_id)
        questions: list[QuestionStatsOut] = []
        for q in game.questions or []:
            answered, correct, avg = aggregates.get(int(q["index"]), (0, 0, None))
            graded = q["type"] != "poll"
            questions.append(
                QuestionStatsOut(
                    index=q["index"],
                    type=q["type"],
                    text=q["text"],
                    answered=answered,
                    correct_count=correct if graded else 0,
                    accuracy=correct / answered if graded and answered else None,
                    avg_time_ms=avg,
                    distribution=q.get("distribution") or {},
                    correct=q.get("correct"),
                    choices=q.get("choices") or [],
                )
            )
        hardest = shape.hardest_first(questions)
        graded = [q for q in questions if q.type != "poll"]
        graded_answered = sum(q.answered for q in graded)
        answers_count = sum(q.answered for q in questions)
        timed = [(q.avg_time_ms, q.answered) for q in questions if q.avg_time_ms is not None]
        return GameStatsOut(
            game=shape.game_info(game, retention_days=self.retention_days),
            players=[shape.player_stats(p) for p in players],
            questions=questions,
            hardest_question=hardest[0] if hardest else None,
            hardest_questions=hardest,
            answers_count=answers_count,
            accuracy=(
                sum(q.correct_count for q in graded) / graded_answered if graded_answered else None
            ),
            avg_time_ms=await store.mean_elapsed_ms(self.db, game_id) if timed else None,
        )

    async def players_with_answers(
        self, game_id: uuid.UUID, viewer: User, limit: int, offset: int
    ) -> Page[PlayerResultOut]:
        """A page of players by rank, each with every answer they gave (the host's
        Players tab): paged, because a game may have thousands of players."""
        await self._hosted_game(game_id, viewer)
        players, total = await store.game_players_page(self.db, game_id, limit, offset)
        answers = await store.answers_of_players(self.db, game_id, [p.id for p in players])
        await self._still_stored(game_id)
        by_player: dict[str, list[PlayerAnswerOut]] = {}
        for a in answers:
            by_player.setdefault(str(a.player_id), []).append(shape.answer_out(a))
        return Page[PlayerResultOut](
            items=[
                PlayerResultOut(
                    **shape.player_stats(p).model_dump(),
                    game_id=game_id,
                    answers=by_player.get(str(p.id), []),
                )
                for p in players
            ],
            total=total,
            limit=limit,
            offset=offset,
        )

    async def player_results(
        self, player_token: str | None, game_id: uuid.UUID | None = None
    ) -> PlayerResultOut:
        """A player's own line and answers, by the player token of that game.

        The token outlives the live game for exactly this purpose. 401 for a
        bad token or one of another game than `game_id`; 404 while the game is
        not stored yet or when the player is not part of it.
        """
        try:
            claims = self.signer.verify(player_token or "", PLAYER)
            player_id = uuid.UUID(claims.subject)
            token_game = uuid.UUID(str(claims.game_id))
        except (TokenInvalid, ValueError):
            raise Refusal("invalid_token", "missing, invalid or expired player token") from None
        if game_id is not None and game_id != token_game:
            raise Refusal("invalid_token", "the token belongs to another game")
        if await store.fetch_game(self.db, token_game) is None:
            raise Refusal(
                "game_not_found", "the game's results are not stored yet, or the host deleted them"
            )
        player = await store.find_player(self.db, token_game, player_id)
        answers = await store.game_answers(self.db, token_game, player_id)
        await self._still_stored(token_game)
        if player is None:
            raise Refusal("player_not_found", "no such player in this game")
        return PlayerResultOut(
            **shape.player_stats(player).model_dump(),
            game_id=token_game,
            answers=[shape.answer_out(a) for a in answers],
        )

    # ------------------------------------------------------------ deleting

    async def delete(self, game_id: uuid.UUID, viewer: User) -> None:
        """Delete a finished game's results (its host only; 404 for everyone else).

        Players' own result pages (`player_results`) answer 404 from then on, and the
        results can never come back, not even from a snapshot still parked in Redis.
        """
        if not await store.delete_game(self.db, game_id, viewer.id):
            raise Refusal("game_not_found", "no such game")
        log.info("results of game %s deleted by their host", game_id)

    # ------------------------------------------------------------ exporting

    async def export(self, game_id: uuid.UUID, viewer: User, fmt: str) -> tuple[bytes, str, str]:
        """(file bytes, content type, file name) of the game's results as `fmt`."""
        game = await self._hosted_game(game_id, viewer)
        players = await store.game_players(self.db, game_id)
        answers = await store.game_answers(self.db, game_id)
        await self._still_stored(game_id)
        questions = sorted(game.questions or [], key=lambda q: q["index"])
        indexes = [int(q["index"]) for q in questions]
        points = {(str(a.player_id), a.question_index): a.points or 0 for a in answers}
        player_dicts = [shape.player_stats(p).model_dump() for p in players]
        table = export.player_table(player_dicts, indexes, points)
        name = export.export_filename(game.title, store.aware(game.finished_at), fmt)
        if fmt == "csv":
            body = await asyncio.to_thread(export.to_csv, table)
            return body, "text/csv; charset=utf-8", name
        nicknames = {str(p.id): p.nickname for p in players}
        texts = {int(q["index"]): q["text"] for q in questions}
        answer_table = export.answer_table(answers, nicknames, texts)
        body = await asyncio.to_thread(export.to_xlsx, table, answer_table)
        return body, XLSX, name


def _first_line(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:limit] if text else ""
