"""GameService: creating games and moving them through SPEC §5's state machine.

lobby → question → reveal → question → … → reveal → finished. Every move is a
compare-and-set in Redis, so two processes (or the host and a deadline firing
at once) can never move a game twice. Per-player messages of a reveal or of
the end are sent by each process to the sockets it holds (fan-out through one
Redis pub/sub message), never by publishing one message per player.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter

from classquiz.contracts.games import GameCreatedOut, GameCreateIn, GameInfoOut, NicknameRulesOut
from classquiz.db.models import User
from classquiz.errors import Refusal, as_code
from classquiz.faults import fault_point
from classquiz.game.autofinish import (
    EXPIRING,
    HOST_GONE,
    IDLE_AFTER_LAST,
    AutoFinishTimers,
    Timer,
    before_expiry,
    still_abandoned,
)
from classquiz.game.final import FinishedGame, finished_game
from classquiz.game.nicknames import normalize_nickname
from classquiz.game.rules import (
    GRACE_MS,
    InvalidAnswer,
    correct_answer,
    display_order,
    grade,
    public_question,
)
from classquiz.game.store import GameStore, LiveStoreFull, TooManyLiveGames
from classquiz.services.answer_counts import AnswerCountPacer
from classquiz.services.delivery import ResultDelivery
from classquiz.services.live import LiveGame, LiveGames
from classquiz.services.notifier import Notifier
from classquiz.services.quizzes import QuizService
from classquiz.services.rooms import RoomService, password_admits
from classquiz.services.tokens import HOST, TokenSigner

log = logging.getLogger(__name__)
# Sends of answer_count are paced 110 ms apart per game: "at most 10 a second" must
# hold at the host's end too, where delivery jitter can bring 100 ms slots closer.
ANSWER_COUNT_INTERVAL_S = 0.11
FINISHED_TTL_S = 3600
ResultSink = Callable[[FinishedGame], Awaitable[Any]]
GAMES_AUTO_FINISHED = Counter(
    "classquiz_games_auto_finished_total",
    "Games the server finished on its own because they were abandoned",
    ["reason"],
)


def now_ms() -> int:
    return int(time.time() * 1000)


class GameService:
    def __init__(
        self,
        store: GameStore,
        live: LiveGames,
        rooms: RoomService,
        quizzes: QuizService,
        signer: TokenSigner,
        *,
        token_ttl_s: int,
        public_url: str,
        max_players_per_game: int,
        max_live_games_per_user: int = 5,
        auto_finish_without_host_s: float = 0,
        auto_finish_after_last_reveal_s: float = 0,
    ) -> None:
        self.store = store
        self.live = live
        self.rooms = rooms
        self.delivery = ResultDelivery(store, live, rooms.local_players)
        self.quizzes = quizzes
        self.signer = signer
        self.token_ttl_s = token_ttl_s
        self.public_url = public_url.rstrip("/")
        self.max_players_per_game = max_players_per_game
        self.max_live_games_per_user = max_live_games_per_user
        # Abandoned games (audit finding 7); 0 turns a timer off.
        self.auto_finish = AutoFinishTimers(store.redis, store.prefix)
        self.auto_finish_without_host_ms = int(auto_finish_without_host_s * 1000)
        self.auto_finish_after_last_reveal_ms = int(auto_finish_after_last_reveal_s * 1000)
        self.notifier: Notifier | None = None
        self.result_sink: ResultSink | None = None
        self.publish_fanout: Callable[[dict[str, Any]], Awaitable[None]] | None = None
        # answer_count at most once per interval per game, whatever the number of processes
        self.answer_counts = AnswerCountPacer(
            store.redis, store.prefix, ANSWER_COUNT_INTERVAL_S, self._send_answer_count
        )
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- REST: create and look up ----------------------------------------------------------

    async def create_game(self, user: User, body: GameCreateIn) -> GameCreatedOut:
        settings = body.settings
        if "max_players" not in settings.model_fields_set:
            settings = settings.model_copy(
                update={"max_players": min(settings.max_players, self.max_players_per_game)}
            )
        elif settings.max_players > self.max_players_per_game:
            raise Refusal(
                "validation_error",
                f"max_players may not exceed {self.max_players_per_game}",
                [
                    {
                        "field": "settings.max_players",
                        "code": "too_large",
                        "message": f"at most {self.max_players_per_game}",
                    }
                ],
            )
        quiz = await self.quizzes.get_readable(body.quiz_id, user)
        rng = random.SystemRandom()
        questions = [dict(q) for q in quiz.questions]
        if settings.randomize_questions:
            rng.shuffle(questions)
        for question in questions:
            question["shown"] = display_order(question, settings.randomize_choices, rng)
        game_id = str(uuid.uuid4())
        public_settings = settings.model_dump(mode="json", exclude={"password"})
        fields = {
            "id": game_id,
            "quiz_id": str(quiz.id),
            "owner_id": str(user.id),
            "title": quiz.title,
            "status": "lobby",
            "qi": -1,
            "qcount": len(questions),
            "active": 0,
            "locked": "0",
            "settings": public_settings,
            "password": settings.password or "",
            "created_at": now_ms(),
            "host_sid": "",
        }
        try:
            pin = await self.store.create(
                game_id, str(user.id), fields, questions, self.max_live_games_per_user
            )
        except TooManyLiveGames as exc:
            raise Refusal(
                "too_many_live_games",
                f"you already have {exc.limit} live games; end one before starting another",
            ) from None
        except LiveStoreFull:
            log.error("Redis is at its memory cap: a new game was refused (see maxmemory)")
            raise Refusal(
                "live_storage_full",
                "the server has no room for another live game right now; try again later",
            ) from None
        token, _ = self.signer.issue(str(user.id), HOST, self.token_ttl_s, gid=game_id, pin=pin)
        return GameCreatedOut(
            game_id=uuid.UUID(game_id),
            pin=pin,
            host_token=token,
            join_url=f"{self.public_url}/play?pin={pin}",
        )

    async def describe(self, pin: str, password: str | None = None) -> GameInfoOut:
        """What a client needs to join; in roster mode (picker on) the free names too, for
        whoever may join: a game with a password shows them only to the right password,
        and a wrong one is `wrong_password` (counted by the caller's failure limiter)."""
        if not pin.isdigit() or len(pin) != 6:
            raise Refusal("game_not_found", "there is no game with this PIN")
        meta = await self.store.meta(pin)
        game = await self.live.get(pin, meta)
        assert meta is not None
        rules = game.settings["nicknames"]
        status = meta.get("status", "lobby")
        accepting = (
            status != "finished"
            and meta.get("locked") != "1"
            and int(meta.get("active", 0))
            < min(game.settings["max_players"], self.max_players_per_game)
        )
        if password is not None and not password_admits(game.password, password):
            raise Refusal("wrong_password", "the game password is wrong")
        available = None
        if (
            rules["mode"] == "roster"
            and rules.get("roster_picker", True)
            and accepting
            and (game.password is None or password is not None)
        ):
            available = await self._free_roster_names(pin, game)
        return GameInfoOut(
            pin=pin,
            title=game.title,
            status=status,  # type: ignore[arg-type]
            accepting_players=accepting,
            requires_password=game.password is not None,
            nicknames=NicknameRulesOut(
                mode=rules["mode"],
                min_length=rules["min_length"],
                max_length=rules["max_length"],
                charset=rules["charset"],
                roster_available=available,
            ),
        )

    async def _free_roster_names(self, pin: str, game: LiveGame) -> list[str]:
        """The class list's names (as players will see them) that no player holds now."""
        by_key = game.nickname_policy.roster_by_key
        taken = await self.store.taken_nicknames(pin, list(by_key))
        free = [normalize_nickname(name) for key, name in by_key.items() if key not in taken]
        return sorted(free, key=str.casefold)

    # -- host commands ---------------------------------------------------------------------

    # Each takes the game id the host token names besides the PIN, and refuses with
    # `game_not_found` once that game no longer owns the PIN (audit finding 5).

    async def start_game(self, pin: str, game_id: str) -> dict[str, Any]:
        game = await self.live.get(pin, await self._game_meta(pin, game_id))
        await self._open(game, "lobby", -1, 0)
        return {"question_index": 0}

    async def next_question(self, pin: str, game_id: str) -> dict[str, Any]:
        meta = await self._meta(pin, game_id)
        if meta["status"] != "reveal":
            raise Refusal("wrong_state", "next_question works only after a question ended")
        game = await self.live.get(pin, meta)
        qi = int(meta["qi"])
        if qi + 1 >= game.question_count:
            await self.end_game(pin, game_id)
            return {"finished": True}
        await self._open(game, "reveal", qi, qi + 1)
        return {"question_index": qi + 1}

    async def end_question(self, pin: str, game_id: str) -> dict[str, Any]:
        meta = await self._meta(pin, game_id)
        if meta["status"] != "question":
            raise Refusal("wrong_state", "no question is open")
        if not await self.close_question(pin, int(meta["qi"]), game_id):
            raise Refusal("wrong_state", "the question already ended")
        return {}

    async def end_game(self, pin: str, game_id: str) -> dict[str, Any]:
        game = await self.live.get(pin, await self._game_meta(pin, game_id))
        result = await self.store.finish(pin, game_id)
        if result.code == "game_not_found":
            raise Refusal("game_not_found", "the game of this host token is gone")
        if not result.ok:
            raise Refusal("wrong_state", "the game already ended")
        fault_point("crash_after_finish")  # test-only: die before the results are parked
        await self._after_finish(game)
        return {"game_id": game.game_id}

    async def lock_game(self, pin: str, game_id: str, locked: bool) -> dict[str, Any]:
        await self._meta(pin, game_id)
        if not await self.store.lock(pin, game_id, locked):
            raise Refusal("game_not_found", "the game of this host token is gone")
        return {"locked": locked}

    async def kick_player(
        self, pin: str, game_id: str, player_id: Any, ban: bool
    ) -> dict[str, Any]:
        await self._game_meta(pin, game_id)
        if not isinstance(player_id, str):
            raise Refusal("player_not_found", "no such player")
        removed = await self.rooms.remove_player(pin, player_id, "banned" if ban else "kicked")
        if removed is None:
            raise Refusal("player_not_found", "no such player")
        sid = removed["sid"]
        if sid:
            notifier = self._notifier()
            await notifier.to_socket(sid, "kicked", {"reason": "banned" if ban else "kicked"})
            await notifier.disconnect(sid)
        await self.end_if_everyone_answered(pin)
        return {}

    async def leaderboard(self, pin: str, game_id: str, offset: int, limit: int) -> dict[str, Any]:
        await self._game_meta(pin, game_id)
        entries, total = await self.store.leaderboard(pin, offset, limit)
        return {"entries": entries, "total": total}

    # -- player commands -------------------------------------------------------------------

    async def submit_answer(
        self, pin: str, game_id: str, player_id: str, question_index: int, answer: Any
    ) -> dict[str, Any]:
        game = await self.live.get(pin, game_id=game_id)
        if not 0 <= question_index < game.question_count:
            raise Refusal("wrong_question", "there is no such question")
        question = game.questions[question_index]
        try:
            graded = grade(question, answer)
        except InvalidAnswer as exc:
            # Only on this error path: say first whether the question is even open,
            # as the script would have (the hot path keeps its single round trip).
            meta = await self.store.meta(pin) or {}
            if meta.get("status") != "question":
                raise Refusal("wrong_state") from None
            if int(meta.get("qi", -1)) != question_index:
                raise Refusal("wrong_question") from None
            raise Refusal("invalid_answer", str(exc)) from None
        result = await self.store.submit(
            pin,
            game_id=game_id,
            player_id=player_id,
            question_index=question_index,
            correct=graded.correct,
            points=int(question.get("points", 1)),
            time_limit_ms=int(question["time_limit_s"]) * 1000,
            streak_bonus=bool(game.settings.get("streak_bonus", True)),
            grace_ms=GRACE_MS,
            stored=graded.stored,
            buckets=graded.buckets,
        )
        if not result.ok:
            code = as_code(result.code)
            raise Refusal(code, "the game is gone" if code == "game_not_found" else None)
        received_at, _points, _answered, everyone = result.values
        self._schedule_answer_count(pin, question_index)
        if everyone and game.settings.get("auto_end_question", True):
            self._spawn(self.close_question(pin, question_index))
        return {"received_at_ms": received_at}

    async def leave(self, pin: str, player_id: str) -> None:
        await self.rooms.remove_player(pin, player_id, "left")
        await self.end_if_everyone_answered(pin)

    # -- the state machine -------------------------------------------------------------------

    async def _open(self, game: LiveGame, from_status: str, from_qi: int, qi: int) -> None:
        question = game.questions[qi]
        limit_ms = int(question["time_limit_s"]) * 1000
        lock = from_status == "lobby" and bool(game.settings.get("lock_on_start"))
        result = await self.store.open_question(
            game.pin,
            game_id=game.game_id,
            expected_status=from_status,
            expected_qi=from_qi,
            new_qi=qi,
            time_limit_ms=limit_ms,
            grace_ms=GRACE_MS,
            lock=lock,
        )
        if result.code == "game_not_found":
            raise Refusal("game_not_found", "the game of this host token is gone")
        if not result.ok:
            raise Refusal("wrong_state", "the game is not where this command expects it")
        opens_at, deadline = result.values
        await self._notifier().to_game(
            game.pin,
            "question_started",
            {
                "question_index": qi,
                "question_count": game.question_count,
                "question": public_question(question, question["shown"]),
                "opens_at_ms": opens_at,
                "deadline_at_ms": deadline,
                "server_time_ms": now_ms(),
            },
        )
        self._spawn(self.store.touch(game.pin, game.question_count))
        # The safety net: finished before the keys this open just refreshed expire.
        expiring = Timer(game.pin, game.game_id, EXPIRING)
        await self.auto_finish.arm(expiring, before_expiry(opens_at, self.store.ttl_s))

    async def close_question(self, pin: str, qi: int, game_id: str = "") -> bool:
        """End question `qi` if it is still open; True if this call ended it.

        A host command passes its game id, checked in the script that closes."""
        game = await self.live.get(pin)
        graded = game.questions[qi]["type"] != "poll"
        result = await self.store.close_question(pin, qi, graded, game_id)
        if not result.ok:
            return False
        reveal = await self.store.reveal(pin, qi)
        question_ended = {
            "question_index": qi,
            "correct": correct_answer(game.questions[qi]),
            "distribution": reveal["distribution"],
            "answered": reveal["answered"],
            "players_count": reveal["players_count"],
            "top": reveal["top"],
        }
        # Kept before it is sent, so a presenter reloading during the reveal finds it.
        await self.store.keep_reveal(pin, game.game_id, question_ended)
        await self._notifier().to_game(pin, "question_ended", question_ended)
        await self._fanout({"kind": "reveal", "pin": pin, "qi": qi, "gid": game.game_id})
        if qi == game.question_count - 1 and self.auto_finish_after_last_reveal_ms:
            ended_at = result.values[0]
            timer = Timer(pin, game.game_id, IDLE_AFTER_LAST)
            await self.auto_finish.arm(timer, ended_at + self.auto_finish_after_last_reveal_ms)
        return True

    async def _after_finish(self, game: LiveGame) -> None:
        pin = game.pin
        podium, _ = await self.store.leaderboard(pin, 0, 3)
        _, active = await self.store.answered_count(pin, 0)
        await self._notifier().to_game(
            pin,
            "game_finished",
            {
                "game_id": game.game_id,
                "podium": podium,
                "players_count": active,
            },
        )
        await self._fanout({"kind": "finished", "pin": pin, "gid": game.game_id})
        final = await self.final_record(pin)
        await self.store.keep_for_results(pin, game.question_count, FINISHED_TTL_S)
        if self.result_sink is not None:
            # Stored in the background: the sink parks the record in Redis first, so
            # the host's end_game ack never waits for PostgreSQL.
            self._spawn(self.result_sink(final))

    async def end_if_everyone_answered(self, pin: str) -> None:
        """After a player left or dropped: end the question if everyone still here answered."""
        meta = await self.store.meta(pin)
        if not meta or meta.get("status") != "question":
            return
        game = await self.live.get(pin, meta)
        if not game.settings.get("auto_end_question", True):
            return
        qi = int(meta["qi"])
        if await self.store.all_online_answered(pin, qi):
            await self.close_question(pin, qi)

    # -- deadlines -------------------------------------------------------------------------------

    async def fire_due_deadlines(self) -> int:
        """End every question whose deadline (plus grace) has passed; returns how many."""
        fired = 0
        for pin, qi in await self.store.due_deadlines(await self.store.now_ms()):
            try:
                if await self.close_question(pin, qi):
                    fired += 1
            except Refusal:
                await self.store.drop_deadline(pin, qi)  # the game vanished
        return fired

    # -- abandoned games -------------------------------------------------------------------------

    async def host_disconnected(self, pin: str, game_id: str) -> None:
        """The host's current socket went away: finish the game if they stay away too long."""
        if self.auto_finish_without_host_ms:
            due = await self.store.now_ms() + self.auto_finish_without_host_ms
            await self.auto_finish.arm(Timer(pin, game_id, HOST_GONE), due)

    async def fire_due_auto_finishes(self) -> int:
        """Finish every game whose abandoned-game timer is due and that is still abandoned.

        Runs under the deadline lease. The timer is dropped only after the game is
        finished (or found not abandoned any more), so a process dying in between
        leaves it for the next lease holder; the finish itself is a compare-and-set.
        """
        finished = 0
        for timer in await self.auto_finish.due(await self.store.now_ms()):
            if still_abandoned(timer, await self.store.meta(timer.pin)):
                try:
                    await self.end_game(timer.pin, timer.game_id)
                except Refusal:
                    pass  # ended meanwhile, or gone
                else:
                    finished += 1
                    GAMES_AUTO_FINISHED.labels(timer.reason).inc()
                    log.info("finished abandoned game %s (%s)", timer.game_id, timer.reason)
            await self.auto_finish.disarm(timer)
        return finished

    # -- results -------------------------------------------------------------------------------

    async def finished_record(self, pin: str, game_id: str) -> FinishedGame | None:
        """The record of finished game `game_id`, if its live state is still in Redis."""
        meta = await self.store.meta(pin)
        if not meta or meta.get("id") != game_id or meta.get("status") != "finished":
            return None
        return await self.final_record(pin)

    async def final_record(self, pin: str) -> FinishedGame:
        meta = await self.store.meta(pin)
        if not meta:
            raise Refusal("game_not_found", "there is no game with this PIN")
        game = await self.live.get(pin, meta)
        return finished_game(
            game_id=game.game_id,
            quiz_id=game.quiz_id,
            owner_id=game.owner_id,
            pin=pin,
            title=game.title,
            questions=game.questions,
            created_at_ms=game.created_at_ms,
            started_at_ms=int(meta["started_at"]) if meta.get("started_at") else None,
            finished_at_ms=int(meta.get("finished_at", 0)) or None,
            state=await self.store.final_state(pin, game.question_count),
        )

    # -- helpers --------------------------------------------------------------------------------

    async def _game_meta(self, pin: str, game_id: str) -> dict[str, str]:
        """The game hash of `pin` while game `game_id` owns it, else `game_not_found`."""
        meta = await self.store.meta(pin)
        if not meta or meta.get("id") != game_id:
            raise Refusal("game_not_found", "the game of this host token is gone")
        return meta

    async def _meta(self, pin: str, game_id: str) -> dict[str, str]:
        """Like `_game_meta`, and `wrong_state` once the game has finished."""
        meta = await self._game_meta(pin, game_id)
        if meta.get("status") == "finished":
            raise Refusal("wrong_state", "the game has ended")
        return meta

    async def _fanout(self, message: dict[str, Any]) -> None:
        if self.publish_fanout is not None:
            await self.publish_fanout(message)
        else:
            await self.delivery.deliver(message)

    def _schedule_answer_count(self, pin: str, qi: int) -> None:
        # Coalesced per question (a send pending for the previous question must not
        # swallow the first answers of the next one), paced per game across processes.
        work = self.answer_counts.answered(pin, qi)
        if work is not None:
            self._spawn(work)

    async def _send_answer_count(self, pin: str, qi: int) -> None:
        answered, active = await self.store.answered_count(pin, qi)
        await self._notifier().to_host(
            pin,
            "answer_count",
            {
                "question_index": qi,
                "answered": answered,
                "players_count": active,
            },
        )

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background game task failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for background work (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _notifier(self) -> Notifier:
        assert self.notifier is not None, "the transport did not register a notifier"
        return self.notifier
