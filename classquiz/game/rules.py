"""The rules of play (SPEC §5) as pure functions: grading, scoring, ranks, question views.

No I/O here. The answer script in Redis (classquiz/game/lua/submit_answer.lua)
applies `base_points` and `streak_bonus` with the same arithmetic; the tests
check both against each other.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from classquiz.game.invisible import has_invisible

MAX_TEXT_ANSWER = 200
GRACE_MS = 250
STREAK_BONUS_STEP = 100
STREAK_BONUS_CAP = 5


class InvalidAnswer(ValueError):
    """The answer does not fit the question (wrong type, unknown choice, out of range)."""


_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """NFKC, case folding, trimming and collapsing inner whitespace (SPEC §5)."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


@dataclass(frozen=True)
class Graded:
    """What one answer means: correctness (None for polls) and its distribution buckets."""

    correct: bool | None
    buckets: tuple[str, ...]
    stored: Any  # the answer as recorded in the results


def _choice_id(value: Any, count: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAnswer("the answer must be a choice id (an integer)")
    if not 0 <= value < count:
        raise InvalidAnswer(f"choice id {value} does not exist")
    return value


def grade(question: dict[str, Any], answer: Any) -> Graded:
    """Check `answer` against an authored `question` (raises InvalidAnswer)."""
    kind = question["type"]
    choices = question.get("choices") or []
    if kind in ("single", "true_false", "poll"):
        chosen = _choice_id(answer, len(choices))
        correct = None if kind == "poll" else bool(choices[chosen].get("correct"))
        return Graded(correct, (str(chosen),), chosen)
    if kind == "multiple":
        if not isinstance(answer, list) or not answer:
            raise InvalidAnswer("the answer must be a non-empty list of choice ids")
        ids = [_choice_id(value, len(choices)) for value in answer]
        if len(set(ids)) != len(ids):
            raise InvalidAnswer("a choice id is repeated")
        right = {i for i, choice in enumerate(choices) if choice.get("correct")}
        return Graded(set(ids) == right, tuple(str(i) for i in sorted(ids)), sorted(ids))
    if kind == "order":
        if not isinstance(answer, list):
            raise InvalidAnswer("the answer must list every choice id in order")
        ids = [_choice_id(value, len(choices)) for value in answer]
        if sorted(ids) != list(range(len(choices))):
            raise InvalidAnswer("the answer must list every choice id exactly once")
        return Graded(ids == list(range(len(choices))), (",".join(map(str, ids)),), ids)
    if kind == "text":
        if not isinstance(answer, str):
            raise InvalidAnswer("the answer must be text")
        if len(answer) > MAX_TEXT_ANSWER:
            raise InvalidAnswer(f"the answer is longer than {MAX_TEXT_ANSWER} characters")
        if has_invisible(unicodedata.normalize("NFKC", answer)):
            # Shown to every player in `question_ended` (audit finding 14): the
            # nickname rule applies, so no bidi overrides, zero-widths or NULs.
            raise InvalidAnswer("the answer contains invisible or control characters")
        normalized = normalize_text(answer)
        if not normalized:
            raise InvalidAnswer("the answer is empty")
        accepted = {normalize_text(a) for a in question.get("accepted_answers") or []}
        return Graded(normalized in accepted, (normalized,), answer)
    if kind == "slider":
        if (
            isinstance(answer, bool)
            or not isinstance(answer, int | float)
            or not math.isfinite(answer)
        ):
            raise InvalidAnswer("the answer must be a number")
        spec = question["slider"]
        if not spec["min"] <= answer <= spec["max"]:
            raise InvalidAnswer("the answer is outside the slider's range")
        correct = abs(answer - spec["correct"]) <= spec.get("tolerance", 0)
        return Graded(correct, (format_number(answer),), answer)
    raise InvalidAnswer(f"unknown question type {kind!r}")


def format_number(value: float) -> str:
    """`42` for 42.0, `42.5` for 42.5: the slider distribution key."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


def base_points(points: int, elapsed_ms: int, time_limit_ms: int) -> int:
    """round(1000 × points × (1 − (elapsed / time_limit) / 2)) for a correct answer.

    Computed as `points × (1000 − 500·elapsed/limit)` with exact integer
    arithmetic before the final rounding (half up), like the Lua script.
    """
    elapsed_ms = max(0, min(elapsed_ms, time_limit_ms))
    numerator = points * (1000 * time_limit_ms - 500 * elapsed_ms)
    return (2 * numerator + time_limit_ms) // (2 * time_limit_ms)


def streak_bonus(streak: int, points: int, enabled: bool) -> int:
    """100 × min(streak − 1, 5) for a correct answer; none on 0-point questions."""
    if not enabled or points == 0 or streak < 1:
        return 0
    return STREAK_BONUS_STEP * min(streak - 1, STREAK_BONUS_CAP)


def score_answer(
    correct: bool | None,
    points: int,
    elapsed_ms: int,
    time_limit_ms: int,
    streak_before: int,
    bonus_enabled: bool,
) -> tuple[int, int]:
    """(points awarded, streak after) for one answer; polls leave the streak alone."""
    if correct is None:
        return 0, streak_before
    if not correct:
        return 0, 0
    streak = streak_before + 1
    return base_points(points, elapsed_ms, time_limit_ms) + streak_bonus(
        streak, points, bonus_enabled
    ), streak


def competition_ranks(scores: Iterable[tuple[str, float]]) -> dict[str, int]:
    """Ranks by score descending, equal scores sharing a rank (1, 2, 2, 4)."""
    ordered = sorted(scores, key=lambda item: -item[1])
    ranks: dict[str, int] = {}
    previous: float | None = None
    rank = 0
    for position, (player_id, score) in enumerate(ordered, start=1):
        if score != previous:
            rank = position
            previous = score
        ranks[player_id] = rank
    return ranks


def correct_answer(question: dict[str, Any]) -> Any:
    """What `question_ended.correct` reveals for each type (SPEC §4)."""
    kind = question["type"]
    choices = question.get("choices") or []
    if kind in ("single", "multiple", "true_false"):
        return [i for i, choice in enumerate(choices) if choice.get("correct")]
    if kind == "text":
        return list(question.get("accepted_answers") or [])
    if kind == "slider":
        spec = question["slider"]
        return {"correct": spec["correct"], "tolerance": spec.get("tolerance", 0)}
    if kind == "order":
        return list(range(len(choices)))
    return None


def display_order(question: dict[str, Any], randomize: bool, rng: random.Random) -> list[int]:
    """The order choices are shown in; `order` questions never show the right order."""
    count = len(question.get("choices") or [])
    ids = list(range(count))
    if question["type"] == "order":
        if count > 1:
            while ids == sorted(ids):
                rng.shuffle(ids)
        return ids
    if randomize:
        rng.shuffle(ids)
    return ids


def public_question(question: dict[str, Any], shown: Sequence[int]) -> dict[str, Any]:
    """The question as players see it: no correct answers, choices as `{id, text}`."""
    choices = question.get("choices") or []
    view: dict[str, Any] = {
        "type": question["type"],
        "text": question["text"],
        "image": question.get("image"),
        "choices": [{"id": i, "text": choices[i]["text"]} for i in shown],
        "time_limit_ms": int(question["time_limit_s"]) * 1000,
        "points": int(question.get("points", 1)),
    }
    if question["type"] == "slider":
        spec = question["slider"]
        view["slider"] = {"min": spec["min"], "max": spec["max"], "step": spec.get("step", 1)}
    return view
