"""GameFlow: moving a game through SPEC §5's state machine.

lobby → question → reveal → question → … → reveal → finished. Every move is a
compare-and-set in Redis (game/moves.py), so two processes (or the host and a
deadline firing at once) can never move a game twice. This module opens and
closes questions, records answers and fires deadlines; the room
(services/room.py) decides when, and finishing is its dispose step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from classquiz.errors import Refusal, as_code
from classquiz.game.autofinish import (
    EXPIRING,
    IDLE_AFTER_LAST,
    AutoFinishTimers,
    Timer,
    before_expiry,
)
from classquiz.game.rules import GRACE_MS, InvalidAnswer, correct_answer, grade, public_question
from classquiz.game.store import GameStore
from classquiz.services.answer_counts import AnswerCountPacer
from classquiz.services.delivery import Fanout
from classquiz.services.live import LiveGame, LiveGames
from classquiz.services.notifier import Notifier
from classquiz.services.tasks import KeptTasks

log = logging.getLogger(__name__)
# Sends of answer_count are paced 110 ms apart per game: "at most 10 a second" must
# hold at the host's end too, where delivery jitter can bring 100 ms slots closer.
ANSWER_COUNT_INTERVAL_S = 0.11


def now_ms() -> int:
    return int(time.time() * 1000)


class GameFlow:
    def __init__(
        self,
        store: GameStore,
        live: LiveGames,
        notifier: Notifier,
        fanout: Fanout,
        timers: AutoFinishTimers,
        tasks: KeptTasks,
        *,
        auto_finish_after_last_reveal_s: float = 0,
    ) -> None:
        self.store = store
        self.live = live
        self.notifier = notifier
        self.fanout = fanout
        self.timers = timers
        self.tasks = tasks
        self.auto_finish_after_last_reveal_ms = int(auto_finish_after_last_reveal_s * 1000)
        # answer_count at most once per interval per game, whatever the number of processes
        self.answer_counts = AnswerCountPacer(
            store.redis, store.prefix, ANSWER_COUNT_INTERVAL_S, self._send_answer_count
        )

    # -- where a game is ---------------------------------------------------------------------

    async def owned_meta(self, pin: str, game_id: str) -> dict[str, str]:
        """The game hash of `pin` while game `game_id` owns it, else `game_not_found`
        (a PIN is reused once its game is gone: audit finding 5)."""
        meta = await self.store.meta(pin)
        if not meta or meta.get("id") != game_id:
            raise Refusal("game_not_found", "the game of this host token is gone")
        return meta

    async def running_meta(self, pin: str, game_id: str) -> dict[str, str]:
        """Like `owned_meta`, and `wrong_state` once the game has finished."""
        meta = await self.owned_meta(pin, game_id)
        if meta.get("status") == "finished":
            raise Refusal("wrong_state", "the game has ended")
        return meta

    # -- questions ------------------------------------------------------------------------------

    async def open_question(self, game: LiveGame, from_status: str, from_qi: int, qi: int) -> None:
        """Open question `qi` if the game is still at (`from_status`, `from_qi`)."""
        question = game.questions[qi]
        result = await self.store.open_question(
            game.pin,
            game_id=game.game_id,
            expected_status=from_status,
            expected_qi=from_qi,
            new_qi=qi,
            time_limit_ms=int(question["time_limit_s"]) * 1000,
            grace_ms=GRACE_MS,
            lock=from_status == "lobby" and bool(game.settings.get("lock_on_start")),
        )
        if result.code == "game_not_found":
            raise Refusal("game_not_found", "the game of this host token is gone")
        if not result.ok:
            raise Refusal("wrong_state", "the game is not where this command expects it")
        opens_at, deadline = result.values
        await self.notifier.to_game(
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
        self.tasks.spawn(self.store.touch(game.pin, game.question_count))
        # The safety net: finished before the keys this open just refreshed expire.
        expiring = Timer(game.pin, game.game_id, EXPIRING)
        await self.timers.arm(expiring, before_expiry(opens_at, self.store.ttl_s))

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
        await self.notifier.to_game(pin, "question_ended", question_ended)
        await self.fanout.publish({"kind": "reveal", "pin": pin, "qi": qi, "gid": game.game_id})
        if qi == game.question_count - 1 and self.auto_finish_after_last_reveal_ms:
            ended_at = result.values[0]
            timer = Timer(pin, game.game_id, IDLE_AFTER_LAST)
            await self.timers.arm(timer, ended_at + self.auto_finish_after_last_reveal_ms)
        return True

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

    # -- answers --------------------------------------------------------------------------------

    async def record_answer(
        self, pin: str, game_id: str, player_id: str, question_index: int, answer: Any
    ) -> dict[str, Any]:
        """Grade and record one answer (one round trip to Redis on the hot path)."""
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
            self.tasks.spawn(self.close_question(pin, question_index))
        return {"received_at_ms": received_at}

    def _schedule_answer_count(self, pin: str, qi: int) -> None:
        # Coalesced per question (a send pending for the previous question must not
        # swallow the first answers of the next one), paced per game across processes.
        work = self.answer_counts.answered(pin, qi)
        if work is not None:
            self.tasks.spawn(work)

    async def _send_answer_count(self, pin: str, qi: int) -> None:
        answered, active = await self.store.answered_count(pin, qi)
        await self.notifier.to_host(
            pin,
            "answer_count",
            {
                "question_index": qi,
                "answered": answered,
                "players_count": active,
            },
        )

    # -- deadlines ------------------------------------------------------------------------------

    async def fire_due_deadlines(
        self, only: Callable[[str], bool] | None = None, overdue_ms: int = 0
    ) -> int:
        """End every question whose deadline (plus grace) has passed by `overdue_ms`, of
        the games `only` accepts (all by default); returns how many."""
        fired = 0
        # A filtered scan looks further: other processes' due games come first in it.
        due = await self.store.due_deadlines(
            await self.store.now_ms() - overdue_ms, limit=20 if only is None else 200
        )
        for pin, qi in due:
            if only is not None and not only(pin):
                continue
            try:
                if await self.close_question(pin, qi):
                    fired += 1
            except Refusal:
                await self.store.drop_deadline(pin, qi)  # the game vanished
        return fired
