"""Pure tests of the question rules of SPEC §3 "Question shape" (no I/O).

Every bound is tested on both sides; every refusal is checked to name the
question index and the field it is about, as the REST 422 body will.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from classquiz.contracts.quizzes import QuestionIn, QuizIn
from classquiz.errors import invalid_payload, validation_details
from classquiz.routers.refusals import http_status

# ---------------------------------------------------------------- helpers


def choices(n: int, correct: tuple[int, ...] = (0,)) -> list[dict[str, Any]]:
    return [{"text": f"choice {i}", "correct": i in correct} for i in range(n)]


def question(kind: str, **overrides: Any) -> dict[str, Any]:
    """A valid question of `kind`, with `overrides` applied."""
    base: dict[str, Any] = {"type": kind, "text": f"A {kind} question", "time_limit_s": 20}
    if kind in ("single", "multiple"):
        base["choices"] = choices(3, correct=(1,))
    elif kind == "true_false":
        base["choices"] = [{"text": "True", "correct": True}, {"text": "False"}]
    elif kind == "order":
        base["choices"] = choices(3, correct=())
    elif kind == "poll":
        base["choices"] = choices(3, correct=())
    elif kind == "text":
        base["accepted_answers"] = ["Paris"]
    elif kind == "slider":
        base["slider"] = {"min": 0, "max": 100, "step": 1, "correct": 42, "tolerance": 2}
    base.update(overrides)
    return base


def quiz(*questions: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"title": "A quiz", "questions": list(questions) or [question("single")]}
    body.update(overrides)
    return body


def refuse_question(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Validate `data` as question 0 of a quiz; it must fail. Returns the error details."""
    with pytest.raises(ValidationError) as info:
        QuizIn.model_validate(quiz(data))
    details = validation_details(info.value)
    assert details, "a refusal must carry details"
    for item in details:
        assert item["question_index"] == 0, item
        assert item["field"].startswith("questions.0"), item
        assert item["message"], item
    return details


def fields(details: list[dict[str, Any]]) -> set[str]:
    return {item["field"] for item in details}


ALL_TYPES = ("single", "multiple", "true_false", "text", "slider", "order", "poll")
MULTI_CHOICE_TYPES = ("single", "multiple", "order", "poll")


# ---------------------------------------------------------------- baseline


@pytest.mark.parametrize("kind", ALL_TYPES)
def test_every_type_has_a_valid_shape(kind: str) -> None:
    parsed = QuestionIn.model_validate(question(kind))
    assert parsed.type == kind


def test_defaults() -> None:
    parsed = QuestionIn.model_validate({"type": "text", "text": "Q", "accepted_answers": ["a"]})
    assert parsed.time_limit_s == 20
    assert parsed.points == 1
    assert parsed.image is None


def test_unknown_type_refused() -> None:
    details = refuse_question(question("single", type="essay"))
    assert fields(details) == {"questions.0.type"}


# ---------------------------------------------------------------- common bounds


@pytest.mark.parametrize(("value", "ok"), [(4, False), (5, True), (240, True), (241, False)])
def test_time_limit_bounds(value: int, ok: bool) -> None:
    data = question("single", time_limit_s=value)
    if ok:
        assert QuestionIn.model_validate(data).time_limit_s == value
    else:
        assert fields(refuse_question(data)) == {"questions.0.time_limit_s"}


@pytest.mark.parametrize("value", [0, -5, 20.5, "twenty", None])
def test_time_limit_other_bad_values(value: Any) -> None:
    assert fields(refuse_question(question("single", time_limit_s=value))) == {
        "questions.0.time_limit_s"
    }


@pytest.mark.parametrize(
    ("value", "ok"), [(-1, False), (0, True), (1, True), (2, True), (3, False)]
)
def test_points_values(value: int, ok: bool) -> None:
    data = question("single", points=value)
    if ok:
        assert QuestionIn.model_validate(data).points == value
    else:
        assert fields(refuse_question(data)) == {"questions.0.points"}


@pytest.mark.parametrize(("length", "ok"), [(0, False), (1, True), (500, True), (501, False)])
def test_question_text_bounds(length: int, ok: bool) -> None:
    data = question("single", text="q" * length)
    if ok:
        assert len(QuestionIn.model_validate(data).text) == length
    else:
        assert fields(refuse_question(data)) == {"questions.0.text"}


def test_question_text_is_trimmed_before_the_bound() -> None:
    assert QuestionIn.model_validate(question("single", text="  " + "q" * 500 + "  ")).text == (
        "q" * 500
    )
    refuse_question(question("single", text="   "))


@pytest.mark.parametrize(("length", "ok"), [(0, False), (1, True), (150, True), (151, False)])
def test_choice_text_bounds(length: int, ok: bool) -> None:
    items = choices(3, correct=(0,))
    items[2]["text"] = "c" * length
    data = question("single", choices=items)
    if ok:
        assert QuestionIn.model_validate(data).choices[2].text == "c" * length
    else:
        assert fields(refuse_question(data)) == {"questions.0.choices.2.text"}


@pytest.mark.parametrize(
    ("image", "ok"),
    [
        (None, True),
        ("https://example.org/cat.png", True),
        ("http://example.org/cat.png", True),
        ("not a url", False),
        ("javascript:alert(1)", False),
        # A picture uploaded to this server (POST /api/v1/media), by its path.
        ("/media/0b6b4a4e-6a48-4c1b-9a3b-1c2d3e4f5a6b.png", True),
        ("/media/0b6b4a4e-6a48-4c1b-9a3b-1c2d3e4f5a6b.svg", False),
        ("/media/../etc/passwd", False),
        ("/etc/passwd", False),
        ("//evil.example/x.png", False),
    ],
)
def test_image(image: Any, ok: bool) -> None:
    data = question("single", image=image)
    if ok:
        QuestionIn.model_validate(data)
    else:
        assert fields(refuse_question(data)) == {"questions.0.image"}


# ---------------------------------------------------------------- choice counts


@pytest.mark.parametrize("kind", MULTI_CHOICE_TYPES)
@pytest.mark.parametrize(
    ("count", "ok"), [(0, False), (1, False), (2, True), (6, True), (7, False)]
)
def test_choice_count_bounds(kind: str, count: int, ok: bool) -> None:
    correct = (0,) if kind in ("single", "multiple") else ()
    data = question(kind, choices=choices(count, correct=correct))
    if ok:
        assert len(QuestionIn.model_validate(data).choices or []) == count
    else:
        details = refuse_question(data)
        assert fields(details) == {"questions.0.choices"}
        assert details[0]["code"] == "choices_count"


@pytest.mark.parametrize("kind", ("single", "multiple", "true_false", "order", "poll"))
def test_choice_types_need_choices(kind: str) -> None:
    data = question(kind)
    del data["choices"]
    assert fields(refuse_question(data)) == {"questions.0.choices"}


@pytest.mark.parametrize("kind", ("single", "multiple"))
def test_single_and_multiple_need_a_correct_choice(kind: str) -> None:
    details = refuse_question(question(kind, choices=choices(4, correct=())))
    assert fields(details) == {"questions.0.choices"}
    assert details[0]["code"] == "correct_count"


@pytest.mark.parametrize("kind", ("single", "multiple"))
@pytest.mark.parametrize("correct", [(0,), (0, 1), (0, 1, 2, 3)])
def test_single_and_multiple_accept_one_or_more_correct(
    kind: str, correct: tuple[int, ...]
) -> None:
    parsed = QuestionIn.model_validate(question(kind, choices=choices(4, correct=correct)))
    assert [c.correct for c in parsed.choices or []].count(True) == len(correct)


@pytest.mark.parametrize(
    ("items", "ok", "code"),
    [
        ([{"text": "True", "correct": True}, {"text": "False"}], True, None),
        ([{"text": "True"}, {"text": "False", "correct": True}], True, None),
        ([{"text": "True", "correct": True}], False, "choices_count"),
        (
            [{"text": "True", "correct": True}, {"text": "False"}, {"text": "Maybe"}],
            False,
            "choices_count",
        ),
        ([{"text": "True"}, {"text": "False"}], False, "correct_count"),
        (
            [{"text": "True", "correct": True}, {"text": "False", "correct": True}],
            False,
            "correct_count",
        ),
        ([], False, "choices_count"),
    ],
)
def test_true_false(items: list[dict[str, Any]], ok: bool, code: str | None) -> None:
    data = question("true_false", choices=items)
    if ok:
        QuestionIn.model_validate(data)
    else:
        details = refuse_question(data)
        assert fields(details) == {"questions.0.choices"}
        assert details[0]["code"] == code


def test_poll_choices_cannot_be_correct() -> None:
    details = refuse_question(question("poll", choices=choices(3, correct=(1,))))
    assert fields(details) == {"questions.0.choices"}
    assert details[0]["code"] == "correct_count"
    assert QuestionIn.model_validate(question("poll", choices=choices(3, correct=())))


def test_order_correct_is_accepted_and_ignored() -> None:
    parsed = QuestionIn.model_validate(question("order", choices=choices(4, correct=(0, 2))))
    assert [c.correct for c in parsed.choices or []] == [False] * 4
    assert [c.text for c in parsed.choices or []] == [f"choice {i}" for i in range(4)]
    dumped = parsed.model_dump(mode="json")
    assert all(c["correct"] is False for c in dumped["choices"])


@pytest.mark.parametrize("kind", ("text", "slider"))
def test_non_choice_types_refuse_choices(kind: str) -> None:
    assert fields(refuse_question(question(kind, choices=choices(2)))) == {"questions.0.choices"}


# ---------------------------------------------------------------- text


@pytest.mark.parametrize(("count", "ok"), [(0, False), (1, True), (10, True), (11, False)])
def test_text_accepted_answer_count(count: int, ok: bool) -> None:
    data = question("text", accepted_answers=[f"answer {i}" for i in range(count)])
    if ok:
        assert len(QuestionIn.model_validate(data).accepted_answers or []) == count
    else:
        assert fields(refuse_question(data)) == {"questions.0.accepted_answers"}


def test_text_needs_accepted_answers() -> None:
    data = question("text")
    del data["accepted_answers"]
    assert fields(refuse_question(data)) == {"questions.0.accepted_answers"}


@pytest.mark.parametrize(("length", "ok"), [(0, False), (1, True), (200, True), (201, False)])
def test_text_accepted_answer_length(length: int, ok: bool) -> None:
    data = question("text", accepted_answers=["fine", "a" * length])
    if ok:
        assert (QuestionIn.model_validate(data).accepted_answers or [])[1] == "a" * length
    else:
        assert fields(refuse_question(data)) == {"questions.0.accepted_answers.1"}


@pytest.mark.parametrize("kind", ("single", "slider", "poll"))
def test_other_types_refuse_accepted_answers(kind: str) -> None:
    assert fields(refuse_question(question(kind, accepted_answers=["x"]))) == {
        "questions.0.accepted_answers"
    }


# ---------------------------------------------------------------- slider


def slider(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"min": 0, "max": 100, "step": 1, "correct": 42, "tolerance": 2}
    values.update(overrides)
    return question("slider", slider=values)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"min": 10, "max": 10, "correct": 10}, "questions.0.slider.min"),
        ({"min": 100, "max": 0, "correct": 50}, "questions.0.slider.min"),
        ({"correct": -1}, "questions.0.slider.correct"),
        ({"correct": 100.5}, "questions.0.slider.correct"),
        ({"tolerance": -1}, "questions.0.slider.tolerance"),
        ({"tolerance": -0.001}, "questions.0.slider.tolerance"),
        ({"step": 0}, "questions.0.slider.step"),
    ],
)
def test_slider_refusals(overrides: dict[str, Any], field: str) -> None:
    assert fields(refuse_question(slider(**overrides))) == {field}


@pytest.mark.parametrize("key", ["min", "max", "correct", "step", "tolerance"])
@pytest.mark.parametrize("value", ["inf", "-inf", "nan", float("inf"), float("nan")])
def test_slider_refuses_non_finite_numbers(key: str, value: Any) -> None:
    data = slider(**{key: value})
    assert fields(refuse_question(data)) == {f"questions.0.slider.{key}"}


@pytest.mark.parametrize(
    "overrides",
    [
        {"correct": 0},
        {"correct": 100},
        {"correct": 42.5},
        {"tolerance": 0},
        {"min": -50, "max": -10, "correct": -20},
        {"min": 0, "max": 0.5, "step": 0.1, "correct": 0.25},
    ],
)
def test_slider_accepted(overrides: dict[str, Any]) -> None:
    parsed = QuestionIn.model_validate(slider(**overrides))
    assert parsed.slider is not None
    for key, value in overrides.items():
        assert getattr(parsed.slider, key) == value


def test_slider_question_needs_a_slider() -> None:
    data = question("slider")
    del data["slider"]
    assert fields(refuse_question(data)) == {"questions.0.slider"}


@pytest.mark.parametrize("kind", ("single", "text", "order"))
def test_other_types_refuse_a_slider(kind: str) -> None:
    data = question(kind, slider={"min": 0, "max": 1, "correct": 0})
    assert fields(refuse_question(data)) == {"questions.0.slider"}


# ---------------------------------------------------------------- quiz level


@pytest.mark.parametrize(("count", "ok"), [(0, False), (1, True), (200, True), (201, False)])
def test_question_count_bounds(count: int, ok: bool) -> None:
    data = {"title": "Many", "questions": [question("single") for _ in range(count)]}
    if ok:
        assert len(QuizIn.model_validate(data).questions) == count
    else:
        with pytest.raises(ValidationError) as info:
            QuizIn.model_validate(data)
        details = validation_details(info.value)
        assert fields(details) == {"questions"}
        assert all("question_index" not in item for item in details)


def test_questions_are_required() -> None:
    with pytest.raises(ValidationError) as info:
        QuizIn.model_validate({"title": "No questions"})
    assert fields(validation_details(info.value)) == {"questions"}


@pytest.mark.parametrize(
    ("title", "ok"),
    [("", False), ("   ", False), ("t", True), ("t" * 200, True), ("t" * 201, False)],
)
def test_title_bounds(title: str, ok: bool) -> None:
    data = quiz(title=title)
    if ok:
        assert QuizIn.model_validate(data).title == title
    else:
        with pytest.raises(ValidationError) as info:
            QuizIn.model_validate(data)
        assert fields(validation_details(info.value)) == {"title"}


def test_title_is_required_and_trimmed() -> None:
    data = quiz()
    del data["title"]
    with pytest.raises(ValidationError):
        QuizIn.model_validate(data)
    assert QuizIn.model_validate(quiz(title="  Spaced  ")).title == "Spaced"


def test_quiz_defaults() -> None:
    parsed = QuizIn.model_validate(quiz())
    assert parsed.public is False
    assert parsed.description == ""
    assert parsed.tags == []
    assert parsed.language is None


def test_tags_are_deduplicated_case_insensitively() -> None:
    parsed = QuizIn.model_validate(quiz(tags=["Math", "math", " science ", "MATH"]))
    assert parsed.tags == ["Math", "science"]


@pytest.mark.parametrize(
    ("where", "path"),
    [
        ("quiz", ""),
        ("question", "questions.0"),
        ("choice", "questions.0.choices.1"),
        ("slider", "questions.0.slider"),
    ],
)
def test_unknown_fields_are_refused(where: str, path: str) -> None:
    data = quiz(question("slider") if where == "slider" else question("single"))
    target: dict[str, Any] = {
        "quiz": data,
        "question": data["questions"][0],
        "choice": data["questions"][0].get("choices", [{}, {}])[1],
        "slider": data["questions"][0].get("slider", {}),
    }[where]
    target["surprise"] = True
    with pytest.raises(ValidationError) as info:
        QuizIn.model_validate(data)
    details = validation_details(info.value)
    expected = f"{path}.surprise" if path else "surprise"
    assert fields(details) == {expected}
    assert details[0]["code"] == "extra_forbidden"


# ---------------------------------------------------------------- error details


def test_details_name_the_question_index_and_field() -> None:
    bad_true_false = question("true_false", choices=choices(3, correct=(0,)))
    bad_slider = slider(min=5, max=1, correct=3)
    data = quiz(
        question("single"),
        question("text"),
        bad_true_false,
        question("poll"),
        bad_slider,
        question("multiple", time_limit_s=1),
    )
    with pytest.raises(ValidationError) as info:
        QuizIn.model_validate(data)
    details = validation_details(info.value)
    by_index = {item["question_index"]: item for item in details}
    assert set(by_index) == {2, 4, 5}
    assert by_index[2]["field"] == "questions.2.choices"
    assert by_index[2]["code"] == "choices_count"
    assert by_index[4]["field"] == "questions.4.slider.min"
    assert by_index[4]["code"] == "slider_range"
    assert by_index[5]["field"] == "questions.5.time_limit_s"
    for item in details:
        assert isinstance(item["message"], str) and item["message"]
        assert isinstance(item["code"], str) and item["code"]


def test_quiz_level_errors_have_no_question_index() -> None:
    with pytest.raises(ValidationError) as info:
        QuizIn.model_validate(quiz(title="", tags="not a list"))
    details = validation_details(info.value)
    assert fields(details) == {"title", "tags"}
    assert all("question_index" not in item for item in details)


def test_invalid_payload_is_a_422_in_the_spec_shape() -> None:
    with pytest.raises(ValidationError) as info:
        QuizIn.model_validate(quiz(question("single"), question("poll", choices=choices(1, ()))))
    error = invalid_payload(info.value)
    assert http_status(error) == 422
    body = error.body()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "validation_error"
    assert "questions.1.choices" in body["error"]["message"]
    assert body["error"]["details"][0]["question_index"] == 1
    assert body["error"]["details"][0]["field"] == "questions.1.choices"


def test_validation_does_not_mutate_the_input() -> None:
    data = quiz(question("order", choices=choices(3, correct=(0,))))
    before = copy.deepcopy(data)
    QuizIn.model_validate(data)
    assert data == before
