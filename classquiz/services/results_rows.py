"""How stored result rows become the models the results API answers with.

Pure functions over the rows `results_store` reads (no I/O), shared by the
overview, the players tab, a player's own results and the exports.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from classquiz.contracts.results import (
    FinishedGameOut,
    PlayerAnswerOut,
    PlayerStatsOut,
    QuestionStatsOut,
)
from classquiz.services import results_store as store


def expires_at(finished_at: datetime, retention_days: int) -> datetime | None:
    """When a game's stored results are deleted by the retention period; None without one.
    The purge's side of the same rule is `retention_cutoff`."""
    return finished_at + timedelta(days=retention_days) if retention_days else None


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """Games that finished before this instant are past their retention period at `now`."""
    return now - timedelta(days=retention_days)


def game_info(row: Any, *, retention_days: int) -> FinishedGameOut:
    """A stored game's heading; with a retention period, when the server deletes it."""
    finished_at = store.aware(row.finished_at)
    return FinishedGameOut(
        game_id=row.id,
        quiz_id=row.quiz_id,
        title=row.title,
        pin=row.pin,
        started_at=store.aware(row.started_at),
        finished_at=finished_at,
        players_count=row.players_count or 0,
        question_count=row.question_count or 0,
        expires_at=expires_at(finished_at, retention_days),
    )


def player_stats(row: Any) -> PlayerStatsOut:
    return PlayerStatsOut(
        player_id=row.id,
        nickname=row.nickname,
        rank=row.rank,
        score=row.score,
        correct_count=row.correct_count,
        answered_count=row.answered_count,
    )


def answer_out(row: Any) -> PlayerAnswerOut:
    return PlayerAnswerOut(
        question_index=row.question_index,
        answer=store.answer_value(row.answer),
        correct=row.correct,
        points=row.points or 0,
        elapsed_ms=row.elapsed_ms or 0,
    )


def hardest_first(questions: list[QuestionStatsOut]) -> list[int]:
    """Indexes of the graded, answered questions, lowest accuracy first, then by index:
    the Overview's "hardest questions" list (polls and unanswered ones have no accuracy)."""
    rated = [q for q in questions if q.accuracy is not None]
    return [q.index for q in sorted(rated, key=lambda q: (q.accuracy, q.index))]
