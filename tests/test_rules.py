"""The pure rules of play (SPEC §5): grading, scoring, streaks, ranks, question views."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classquiz.game.rules import (
    InvalidAnswer,
    base_points,
    competition_ranks,
    correct_answer,
    display_order,
    grade,
    normalize_text,
    public_question,
    score_answer,
    streak_bonus,
)

SINGLE = {
    "type": "single",
    "text": "?",
    "time_limit_s": 20,
    "choices": [{"text": "a"}, {"text": "b", "correct": True}, {"text": "c"}],
}
MULTIPLE = {
    "type": "multiple",
    "text": "?",
    "time_limit_s": 20,
    "choices": [{"text": "a", "correct": True}, {"text": "b", "correct": True}, {"text": "c"}],
}
ORDER = {
    "type": "order",
    "text": "?",
    "time_limit_s": 20,
    "choices": [{"text": "1"}, {"text": "2"}, {"text": "3"}],
}
TEXT = {
    "type": "text",
    "text": "?",
    "time_limit_s": 20,
    "accepted_answers": ["Paris", "Ville  Lumière"],
}
SLIDER = {
    "type": "slider",
    "text": "?",
    "time_limit_s": 20,
    "slider": {"min": 0, "max": 100, "step": 1, "correct": 42, "tolerance": 2},
}
POLL = {"type": "poll", "text": "?", "time_limit_s": 20, "choices": [{"text": "x"}, {"text": "y"}]}


@pytest.mark.parametrize(
    ("points", "elapsed", "limit", "expected"),
    [
        (1, 0, 20_000, 1000),
        (1, 20_000, 20_000, 500),
        (1, 10_000, 20_000, 750),
        (2, 10_000, 20_000, 1500),
        (0, 0, 20_000, 0),
        (1, 30_000, 20_000, 500),  # clamped to the time limit
        (1, 1, 3_000, 1000),  # 999.83 rounds to 1000
        (1, 3, 1_000, 999),  # 998.5 rounds half up to 999
    ],
)
def test_base_points(points: int, elapsed: int, limit: int, expected: int) -> None:
    assert base_points(points, elapsed, limit) == expected


@given(st.integers(0, 2), st.integers(0, 240_000), st.integers(5_000, 240_000))
def test_base_points_follows_the_formula(points: int, elapsed: int, limit: int) -> None:
    elapsed = min(elapsed, limit)
    exact = 1000 * points * (1 - (elapsed / limit) / 2)
    assert abs(base_points(points, elapsed, limit) - exact) <= 0.5 + 1e-9
    if points:
        assert 500 * points <= base_points(points, elapsed, limit) <= 1000 * points


def test_streak_bonus_and_scoring() -> None:
    assert [streak_bonus(s, 1, True) for s in range(1, 9)] == [0, 100, 200, 300, 400, 500, 500, 500]
    assert streak_bonus(4, 0, True) == 0  # a 0-point question awards nothing, bonus included
    assert streak_bonus(4, 2, True) == 300  # never multiplied by points
    assert streak_bonus(4, 1, False) == 0
    assert score_answer(True, 1, 0, 20_000, 2, True) == (1200, 3)
    assert score_answer(False, 1, 0, 20_000, 2, True) == (0, 0)
    assert score_answer(None, 1, 0, 20_000, 2, True) == (0, 2)  # polls leave the streak alone
    assert score_answer(True, 0, 0, 20_000, 2, True) == (0, 3)  # counts for the streak


def test_ranks_share_equal_scores() -> None:
    ranks = competition_ranks([("a", 10), ("b", 5), ("c", 5), ("d", 1), ("e", 1)])
    assert ranks == {"a": 1, "b": 2, "c": 2, "d": 4, "e": 4}
    assert competition_ranks([]) == {}


@pytest.mark.parametrize(
    ("question", "answer", "correct", "buckets"),
    [
        (SINGLE, 1, True, ("1",)),
        (SINGLE, 0, False, ("0",)),
        (MULTIPLE, [1, 0], True, ("0", "1")),
        (MULTIPLE, [0], False, ("0",)),
        (MULTIPLE, [0, 1, 2], False, ("0", "1", "2")),
        (ORDER, [0, 1, 2], True, ("0,1,2",)),
        (ORDER, [2, 1, 0], False, ("2,1,0",)),
        (TEXT, "  PARIS ", True, ("paris",)),
        (TEXT, "ville lumière", True, ("ville lumière",)),
        (TEXT, "Lyon", False, ("lyon",)),
        (SLIDER, 44, True, ("44",)),
        (SLIDER, 44.5, False, ("44.5",)),
        (SLIDER, 40.0, True, ("40",)),
        (POLL, 1, None, ("1",)),
    ],
)
def test_grade(question: dict[str, Any], answer: Any, correct: Any, buckets: tuple) -> None:
    graded = grade(question, answer)
    assert graded.correct is correct and graded.buckets == buckets


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (SINGLE, 3),
        (SINGLE, -1),
        (SINGLE, True),
        (SINGLE, "1"),
        (SINGLE, 1.0),
        (MULTIPLE, []),
        (MULTIPLE, [0, 0]),
        (MULTIPLE, 1),
        (MULTIPLE, [5]),
        (ORDER, [0, 1]),
        (ORDER, [0, 0, 1]),
        (ORDER, [0, 1, 2, 3]),
        (TEXT, 5),
        (TEXT, "x" * 201),
        (TEXT, "   "),
        (SLIDER, 101),
        (SLIDER, -0.5),
        (SLIDER, "42"),
        (SLIDER, float("nan")),
        (SLIDER, True),
        (POLL, 2),
    ],
)
def test_grade_refuses_answers_that_do_not_fit(question: dict[str, Any], answer: Any) -> None:
    with pytest.raises(InvalidAnswer):
        grade(question, answer)


def test_correct_answer_per_type() -> None:
    assert correct_answer(SINGLE) == [1]
    assert correct_answer(MULTIPLE) == [0, 1]
    assert correct_answer(ORDER) == [0, 1, 2]
    assert correct_answer(TEXT) == ["Paris", "Ville  Lumière"]
    assert correct_answer(SLIDER) == {"correct": 42, "tolerance": 2}
    assert correct_answer(POLL) is None


@given(st.integers(0, 2**32))
def test_order_is_never_shown_in_the_right_order(seed: int) -> None:
    shown = display_order(ORDER, randomize=False, rng=random.Random(seed))
    assert sorted(shown) == [0, 1, 2] and shown != [0, 1, 2]


def test_public_question_hides_correctness() -> None:
    view = public_question(SLIDER, [])
    assert view["slider"] == {"min": 0, "max": 100, "step": 1}
    assert "correct" not in str(view) and view["time_limit_ms"] == 20_000
    view = public_question(SINGLE, [2, 0, 1])
    assert view["choices"] == [
        {"id": 2, "text": "c"},
        {"id": 0, "text": "a"},
        {"id": 1, "text": "b"},
    ]
    assert "correct" not in str(view)


def test_normalize_text() -> None:
    assert normalize_text("  Ｐａｒｉｓ \t CITY ") == "paris city"
