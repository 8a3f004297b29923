"""The pure side of quiz import/export (classquiz/services/quiz_io/): the versioned
document and the question table, parsed from real CSV and XLSX bytes."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import orjson
import pytest

from classquiz.contracts.quizzes import MAX_QUESTIONS, QuizIn
from classquiz.errors import Refusal
from classquiz.routers.refusals import http_status
from classquiz.services import quiz_io
from tests.support.quizzes import sample_quiz

ALL_TYPES = ["single", "multiple", "true_false", "text", "slider", "order", "poll"]
EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "import-example.csv"


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def table_errors(data: bytes, filename: str = "q.csv") -> list[dict[str, Any]]:
    with pytest.raises(quiz_io.TableError) as caught:
        quiz_io.parse_table(quiz_io.read_table(data, filename), "T")
    return caught.value.errors


# ---------------------------------------------------------------- the JSON document


def test_document_round_trip_keeps_every_question_type() -> None:
    original = QuizIn.model_validate(sample_quiz(public=True))
    document = quiz_io.export_document(original.model_dump(mode="json", exclude_none=True))
    assert document["format"] == "classquiz-quiz" and document["version"] == 1
    assert "public" not in document["quiz"]
    back = quiz_io.import_document(orjson.loads(orjson.dumps(document)))
    assert [q.type for q in back.questions] == ALL_TYPES
    assert back == original.model_copy(update={"public": False})


@pytest.mark.parametrize(
    ("document", "code", "field"),
    [
        ([], "not_a_document", None),
        ({"format": "kahoot", "version": 1, "quiz": {}}, "unknown_format", "format"),
        ({"format": "classquiz-quiz", "version": "1", "quiz": {}}, "invalid_version", "version"),
        ({"format": "classquiz-quiz", "version": 2, "quiz": {}}, "unsupported_version", "version"),
        ({"format": "classquiz-quiz", "version": 1}, "missing", "quiz"),
        ({"format": "classquiz-quiz", "version": 1, "quiz": {}, "x": 1}, "extra_forbidden", "x"),
    ],
)
def test_document_envelope_is_checked_first(document: Any, code: str, field: str | None) -> None:
    with pytest.raises(Refusal) as caught:
        quiz_io.import_document(document)
    assert http_status(caught.value) == 422
    assert caught.value.details == [
        {"field": field, "code": code, "message": caught.value.details[0]["message"]}
    ]
    if code == "unsupported_version":
        assert "version 2" in caught.value.message and "up to version 1" in caught.value.message


def test_document_quiz_errors_name_the_field_like_quiz_creation() -> None:
    quiz = sample_quiz()
    quiz["questions"][1]["choices"] = [{"text": "a"}, {"text": "b"}]  # multiple, none correct
    with pytest.raises(Refusal) as caught:
        quiz_io.import_document({"format": "classquiz-quiz", "version": 1, "quiz": quiz})
    detail = caught.value.details[0]
    assert detail["field"] == "quiz.questions.1.choices"
    assert detail["question_index"] == 1 and detail["code"] == "correct_count"
    assert caught.value.message.endswith("(quiz.questions.1.choices)")


# ---------------------------------------------------------------- the question table


def test_template_and_example_import_as_all_seven_types() -> None:
    from_csv = quiz_io.parse_table(quiz_io.read_table(quiz_io.template_csv(), "t.csv"), "T")
    from_xlsx = quiz_io.parse_table(quiz_io.read_table(quiz_io.template_xlsx(), "t.xlsx"), "T")
    assert [q.type for q in from_csv.questions] == ALL_TYPES
    assert from_xlsx == from_csv
    example = quiz_io.parse_table(quiz_io.read_table(EXAMPLE.read_bytes(), EXAMPLE.name), "T")
    assert sorted({q.type for q in example.questions}) == sorted(ALL_TYPES)
    slider = from_csv.questions[4].slider
    assert slider is not None and (slider.min, slider.max, slider.correct) == (1950, 2000, 1989)
    assert from_csv.questions[3].accepted_answers == ["Mars", "planet Mars"]
    true_false = from_csv.questions[2].choices or []
    assert [(c.text, c.correct) for c in true_false] == [("True", True), ("False", False)]


def test_the_header_decides_the_separator() -> None:
    # Commas between columns, semicolons inside the texts: the header row tells.
    data = b'type,question,answers\ntext,"Name two; or three",a;b;c\ntext,x;y;z,q;r\n'
    quiz = quiz_io.parse_table(quiz_io.read_table(data, "q.csv"), "T")
    assert [q.text for q in quiz.questions] == ["Name two; or three", "x;y;z"]
    data = b"type;question;answers\ntext;Hello, world;a, b\n"
    assert quiz_io.parse_table(quiz_io.read_table(data, "q.csv"), "T").questions[0].text == (
        "Hello, world"
    )


def test_errors_keep_the_sheet_row_numbers_across_blank_rows() -> None:
    data = xlsx_bytes(
        [["type", "question", "answers"], ["text", "Fine", "a"], [None, None, None], [],
         ["text", "No answers", None]]
    )  # fmt: skip
    assert table_errors(data, "q.xlsx") == [
        {"row": 5, "column": "answers", "message": "a text question needs 1 to 10 accepted answers"}
    ]


def test_european_csv_semicolons_bom_and_decimal_commas() -> None:
    text = (
        "Type;Question;Time;Choice 1;Choice 2;Choice 3;Correct;Slider min;Slider max;"
        "Slider step;Slider correct\r\n"
        "single;Hauptstadt von Österreich?;15;Graz;Wien;Linz;2;;;;\r\n"
        "multiple;Gerade Zahlen?;;2;3;4;1, 3;;;;\r\n"
        "slider;Pi, ungefähr?;;;;;;0;5;0,01;3,14\r\n"
    )
    quiz = quiz_io.parse_table(quiz_io.read_table(("\ufeff" + text).encode(), "q.csv"), "T")
    single, multiple, slider = quiz.questions
    assert single.text == "Hauptstadt von Österreich?" and single.time_limit_s == 15
    assert [c.correct for c in single.choices or []] == [False, True, False]
    assert [c.correct for c in multiple.choices or []] == [True, False, True]
    assert slider.slider is not None
    assert (slider.slider.step, slider.slider.correct) == (0.01, 3.14)


def test_legacy_windows_csv_is_read() -> None:
    data = "type,question,choice_1,choice_2,correct\nsingle,Café?,oui,non,1\n".encode("cp1252")
    quiz = quiz_io.parse_table(quiz_io.read_table(data, "q.csv"), "T")
    assert quiz.questions[0].text == "Café?"


def test_xlsx_numbers_and_booleans_come_through() -> None:
    data = xlsx_bytes(
        [
            ["type", "question", "time", "points", "choice_1", "choice_2", "correct"],
            ["single", "Which?", 30.0, 2, "A", "B", 2],
            ["true_false", "Sky blue?", None, None, None, None, False],
        ]
    )
    quiz = quiz_io.parse_table(quiz_io.read_table(data, "q.xlsx"), "T")
    assert quiz.questions[0].time_limit_s == 30 and quiz.questions[0].points == 2
    assert [c.correct for c in quiz.questions[0].choices or []] == [False, True]
    assert [c.correct for c in quiz.questions[1].choices or []] == [False, True]


def test_errors_name_row_and_column_and_all_rows_are_checked() -> None:
    data = (
        b"type,question,time,choice_1,choice_2,choice_3,correct,answers\n"
        b"single,Fine,20,a,b,,1,\n"
        b"single,No correct one,20,a,b,,,\n"
        b"quiz,Bad type,20,a,b,,1,\n"
        b"multiple,Gap,20,a,,c,1,\n"
        b"single,Slow,999,a,b,,1,\n"
        b"single,Which?,abc,a,b,,3,\n"
        b"text,Nothing accepted,20,,,,,\n"
        b",,,,,,,\n"
    )
    assert table_errors(data) == [
        {"row": 3, "column": "correct", "message": "at least one choice must be correct"},
        {
            "row": 4,
            "column": "type",
            "message": "unknown type (use one of: single, multiple, true_false, text, slider, "
            "order, poll)",
        },
        {"row": 5, "column": "choice_2", "message": "empty choice between choices"},
        {"row": 6, "column": "time", "message": "Input should be less than or equal to 240"},
        {"row": 7, "column": "time", "message": "'abc' is not a number"},
        {"row": 7, "column": "correct", "message": "there is no choice 3"},
        {
            "row": 8,
            "column": "answers",
            "message": "a text question needs 1 to 10 accepted answers",
        },
    ]


def test_header_problems_are_reported_before_rows() -> None:
    errors = table_errors(b"kind,question,question\nsingle,x,y\n")
    assert [(e["row"], e["column"]) for e in errors] == [
        (1, "kind"),
        (1, "question"),
        (1, "type"),
    ]
    assert errors[1]["message"] == "this column appears twice"
    assert errors[2]["message"] == "this column is missing"


def test_empty_and_header_only_files_are_refused() -> None:
    assert table_errors(b"") == [{"row": None, "column": None, "message": "the file is empty"}]
    assert table_errors(b"type,question\n\n") == [
        {"row": None, "column": None, "message": "the table has no questions, only a header"}
    ]


def test_row_limit() -> None:
    lines = ["type,question,choice_1,choice_2,correct"]
    for n in range(MAX_QUESTIONS):  # blank lines between questions count for nothing
        lines += [f"single,Q{n},a,b,1", ",,,,"]
    quiz = quiz_io.parse_table(quiz_io.read_table("\n".join(lines).encode(), "q.csv"), "T")
    assert len(quiz.questions) == MAX_QUESTIONS
    assert quiz.questions[-1].text == f"Q{MAX_QUESTIONS - 1}"
    lines.append("single,One too many,a,b,1")
    assert table_errors("\n".join(lines).encode()) == [
        {"row": None, "column": None, "message": f"a quiz has at most {MAX_QUESTIONS} questions"}
    ]


def test_size_limit_and_unreadable_files() -> None:
    with pytest.raises(Refusal) as caught:
        quiz_io.read_table(b"x" * (quiz_io.MAX_TABLE_BYTES + 1), "q.csv")
    assert http_status(caught.value) == 413
    assert table_errors(b"not a workbook", "q.xlsx")[0]["message"].startswith("the file is not")
    assert table_errors(b"PK\x03\x04broken", "q.xlsx")[0]["message"].startswith("the file is not")
    not_text = table_errors(b"\x00\x01\x02", "q.csv")[0]["message"]
    assert not_text == "the file is not a text (CSV) file"


def test_zip_bomb_is_refused_unopened() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"\0" * (quiz_io.MAX_XLSX_UNZIPPED + 1))
    assert len(buffer.getvalue()) < 100_000  # small on the wire
    assert table_errors(buffer.getvalue(), "q.xlsx") == [
        {"row": None, "column": None, "message": "the workbook is too large once unpacked"}
    ]


@pytest.mark.parametrize("correct", ["²", "0", "7", "one", "1-2"])
def test_odd_correct_cells_are_row_errors_not_crashes(correct: str) -> None:
    header = ["type", "question", "choice_1", "choice_2", "correct"]
    rows = [header, ["single", "x", "a", "b", correct]]
    with pytest.raises(quiz_io.TableError) as caught:
        quiz_io.parse_table(rows, "T")
    assert [(e["row"], e["column"]) for e in caught.value.errors] == [(2, "correct")]
