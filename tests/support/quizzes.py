"""Quizzes and questions for tests: a valid quiz with one question of every type, and the
single questions many tests build theirs from."""

from __future__ import annotations

from typing import Any

# A true/false question whose statement is true.
TRUE_FALSE = {
    "type": "true_false",
    "text": "The sky is blue",
    "time_limit_s": 20,
    "choices": [{"text": "True", "correct": True}, {"text": "False"}],
}


def single_choice(
    text: str = "Pick",
    time_limit_s: int = 30,
    choices: tuple[str, ...] = ("A", "B", "C"),
    **extra: Any,
) -> dict[str, Any]:
    """A single-choice question whose first choice is the right one."""
    first, *others = choices
    return {
        "type": "single",
        "text": text,
        "time_limit_s": time_limit_s,
        "choices": [{"text": first, "correct": True}, *({"text": t} for t in others)],
        **extra,
    }


def sample_quiz(**overrides: Any) -> dict[str, Any]:
    """A valid quiz with one question of every type."""
    quiz: dict[str, Any] = {
        "title": "Sample quiz",
        "description": "Every question type once",
        "public": False,
        "language": "en",
        "tags": ["sample"],
        "questions": [
            {
                "type": "single",
                "text": "2 + 2?",
                "time_limit_s": 10,
                "points": 1,
                "choices": [{"text": "3"}, {"text": "4", "correct": True}, {"text": "5"}],
            },
            {
                "type": "multiple",
                "text": "Primes?",
                "time_limit_s": 10,
                "points": 2,
                "choices": [
                    {"text": "2", "correct": True},
                    {"text": "3", "correct": True},
                    {"text": "4"},
                ],
            },
            {
                "type": "true_false",
                "text": "The sky is blue",
                "time_limit_s": 5,
                "choices": [{"text": "True", "correct": True}, {"text": "False"}],
            },
            {
                "type": "text",
                "text": "Capital of France?",
                "time_limit_s": 20,
                "accepted_answers": ["Paris"],
            },
            {
                "type": "slider",
                "text": "Degrees in a right angle",
                "time_limit_s": 20,
                "slider": {"min": 0, "max": 180, "step": 1, "correct": 90, "tolerance": 2},
            },
            {
                "type": "order",
                "text": "Smallest first",
                "time_limit_s": 20,
                "choices": [{"text": "1"}, {"text": "2"}, {"text": "3"}],
            },
            {
                "type": "poll",
                "text": "Favourite colour?",
                "time_limit_s": 20,
                "points": 0,
                "choices": [{"text": "Red"}, {"text": "Blue"}],
            },
        ],
    }
    quiz.update(overrides)
    return quiz
