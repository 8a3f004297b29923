"""Questions from a table (CSV or XLSX): one row per question, named columns in any
order (docs/import.md). Errors name the spreadsheet row and column."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

import openpyxl
from pydantic import ValidationError

from classquiz.contracts.common import CHOICE_TYPES
from classquiz.contracts.quizzes import MAX_QUESTIONS, QuestionIn, QuizIn
from classquiz.errors import Refusal, validation_details

MAX_TABLE_BYTES = 1_048_576
# Unzipped, an XLSX of MAX_QUESTIONS rows is well under 2 MB; anything far bigger
# is a zip bomb (a few kB that inflate to gigabytes) and is refused unopened.
MAX_XLSX_UNZIPPED = 20 * 1_048_576
MAX_CHOICES = 6
MAX_ROW_ERRORS = 100
DELIMITERS = (",", ";", "\t")

CHOICE_COLUMNS = tuple(f"choice_{n}" for n in range(1, MAX_CHOICES + 1))
COLUMNS: tuple[str, ...] = (
    "type",
    "question",
    "time",
    "points",
    *CHOICE_COLUMNS,
    "correct",
    "slider_min",
    "slider_max",
    "slider_step",
    "slider_correct",
    "slider_tolerance",
    "answers",
    "image",
)
REQUIRED_COLUMNS = ("type", "question")
TYPE_NAMES = {
    "single": "single",
    "multiple": "multiple",
    "true_false": "true_false",
    "true/false": "true_false",
    "truefalse": "true_false",
    "text": "text",
    "slider": "slider",
    "order": "order",
    "poll": "poll",
}
TRUE_WORDS = {"true", "yes", "wahr", "vrai", "ja", "oui", "x"}
FALSE_WORDS = {"false", "no", "falsch", "faux", "nein", "non"}
# Where a QuestionIn field is on the sheet, for error messages.
FIELD_COLUMNS = {
    "type": "type",
    "text": "question",
    "time_limit_s": "time",
    "points": "points",
    "accepted_answers": "answers",
    "image": "image",
    "slider.min": "slider_min",
    "slider.max": "slider_max",
    "slider.step": "slider_step",
    "slider.correct": "slider_correct",
    "slider.tolerance": "slider_tolerance",
    "slider": "slider_min",
}


class TableError(Exception):
    """Row-by-row problems of an uploaded table; nothing was created."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the table")
        self.errors = errors

    def api_error(self) -> Refusal:
        first = self.errors[0]
        where = f"row {first['row']}" if first["row"] else "the file"
        column = f", column {first['column']}" if first["column"] else ""
        return Refusal(
            "invalid_table",
            f"{where}{column}: {first['message']}",
            self.errors,
        )


def table_error(row: int | None, column: str | None, message: str) -> dict[str, Any]:
    return {"row": row, "column": column, "message": message}


def read_table(data: bytes, filename: str) -> list[list[Any]]:
    """The rows of an uploaded CSV or XLSX (by content, then by name), header first."""
    if len(data) > MAX_TABLE_BYTES:
        raise Refusal("payload_too_large", "the file is larger than 1 MB")
    if data.startswith(b"PK\x03\x04"):
        return read_xlsx(data)
    if filename.lower().endswith((".xlsx", ".xlsm", ".xls", ".ods")):
        raise TableError([table_error(None, None, "the file is not a readable .xlsx workbook")])
    return read_csv(data)


def read_csv(data: bytes) -> list[list[Any]]:
    """CSV as written by spreadsheet apps: UTF-8 with or without BOM, `,` `;` or tab."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows still saves "CSV" in the legacy code page.
        text = data.decode("cp1252", errors="replace")
    if "\x00" in text:
        raise TableError([table_error(None, None, "the file is not a text (CSV) file")])
    return bounded_rows(csv.reader(io.StringIO(text, newline=""), delimiter=csv_delimiter(text)))


def bounded_rows(source: Iterable[Sequence[Any]]) -> list[list[Any]]:
    """All rows, blank ones kept (as `[]`, so row numbers stay those of the sheet),
    stopping with an error once there are more questions than a quiz may have."""
    rows: list[list[Any]] = []
    filled = 0
    for row in source:
        if any(_cell_text(cell) for cell in row):
            filled += 1
            rows.append(list(row))
        else:
            rows.append([])
        if filled > MAX_QUESTIONS + 1:  # + the header row
            raise TableError([too_many_questions()])
    return rows


def too_many_questions() -> dict[str, Any]:
    return table_error(None, None, f"a quiz has at most {MAX_QUESTIONS} questions")


def csv_delimiter(text: str) -> str:
    """`,`, `;` or tab: the one that splits the header row into the most known columns.

    The header is the one row whose content we know, so it decides; the stdlib
    sniffer (which guesses from the whole sample) only breaks a tie, such as a
    header of unknown names, which `parse_table` then reports as such.
    """
    first_line = text.split("\n", 1)[0]
    known = {
        delimiter: sum(
            _column_name(cell) in COLUMNS
            for cell in next(csv.reader([first_line], delimiter=delimiter), [])
        )
        for delimiter in DELIMITERS
    }
    best = max(known.values())
    if best and list(known.values()).count(best) == 1:
        return max(known, key=lambda delimiter: known[delimiter])
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        return ","


def read_xlsx(data: bytes) -> list[list[Any]]:
    """The first sheet of a workbook, in openpyxl's read-only (streaming) mode."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise TableError(
            [table_error(None, None, "the file is not a readable .xlsx workbook")]
        ) from None
    if unzipped > MAX_XLSX_UNZIPPED:
        raise TableError([table_error(None, None, "the workbook is too large once unpacked")])
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a broken file
        raise TableError(
            [table_error(None, None, "the file is not a readable .xlsx workbook")]
        ) from None
    try:
        sheet = book.worksheets[0]
        return bounded_rows(sheet.iter_rows(max_col=len(COLUMNS) + 10, values_only=True))
    finally:
        book.close()


def parse_table(rows: Sequence[Sequence[Any]], title: str) -> QuizIn:
    """A quiz from table rows (header first); TableError lists every problem found."""
    if not rows:
        raise TableError([table_error(None, None, "the file is empty")])
    header = [_column_name(cell) for cell in rows[0]]
    errors: list[dict[str, Any]] = []
    for position, name in enumerate(header):
        if name and name not in COLUMNS:
            errors.append(table_error(1, name, f"unknown column (known: {', '.join(COLUMNS)})"))
        elif name and name in header[:position]:
            errors.append(table_error(1, name, "this column appears twice"))
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    errors.extend(table_error(1, name, "this column is missing") for name in missing)
    if errors:
        raise TableError(errors)
    questions: list[QuestionIn] = []
    for number, raw in enumerate(rows[1:], start=2):
        cells = {name: _cell_text(raw[i]) for i, name in enumerate(header) if name and i < len(raw)}
        if not any(cells.values()):
            continue  # blank lines between questions are fine
        try:
            questions.append(question_of_row(cells, number))
        except TableError as exc:
            errors.extend(exc.errors)
        if len(errors) >= MAX_ROW_ERRORS:
            break
    if not errors and not questions:
        errors.append(table_error(None, None, "the table has no questions, only a header"))
    if not errors and len(questions) > MAX_QUESTIONS:
        errors.append(too_many_questions())
    if errors:
        raise TableError(errors[:MAX_ROW_ERRORS])
    try:
        return QuizIn(title=title, questions=questions)
    except ValidationError as exc:
        raise TableError(
            [table_error(None, d["field"], d["message"]) for d in validation_details(exc)]
        ) from None


def question_of_row(cells: dict[str, str], row: int) -> QuestionIn:
    """One question from one row's cells (column name -> trimmed text)."""
    errors: list[dict[str, Any]] = []
    kind = TYPE_NAMES.get(cells.get("type", "").casefold().replace(" ", "_"))
    if kind is None:
        raise TableError(
            [table_error(row, "type", f"unknown type (use one of: {', '.join(TYPE_ORDER)})")]
        )
    data: dict[str, Any] = {"type": kind, "text": cells.get("question", "")}
    for column, field in (("time", "time_limit_s"), ("points", "points")):
        if cells.get(column):
            data[field] = _number(cells[column], row, column, errors, whole=True)
    if cells.get("image"):
        data["image"] = cells["image"]
    texts = [cells.get(column, "") for column in CHOICE_COLUMNS]
    if kind == "true_false" and not any(texts):
        texts = ["True", "False"]
    while texts and not texts[-1]:
        texts.pop()
    correct = _correct_numbers(cells.get("correct", ""), kind, row, errors)
    if texts or kind in CHOICE_TYPES:
        for position, text in enumerate(texts):
            if not text:
                errors.append(
                    table_error(row, CHOICE_COLUMNS[position], "empty choice between choices")
                )
        for number in correct:
            if number > len(texts):
                errors.append(table_error(row, "correct", f"there is no choice {number}"))
        data["choices"] = [
            {"text": text, "correct": n in correct} for n, text in enumerate(texts, start=1)
        ]
    if cells.get("answers"):
        data["accepted_answers"] = [a.strip() for a in cells["answers"].split("|") if a.strip()]
    slider = {
        key: _number(cells[f"slider_{key}"], row, f"slider_{key}", errors)
        for key in ("min", "max", "step", "correct", "tolerance")
        if cells.get(f"slider_{key}")
    }
    if slider:
        data["slider"] = slider
    if errors:
        raise TableError(errors)
    try:
        return QuestionIn.model_validate(data)
    except ValidationError as exc:
        raise TableError(
            [
                table_error(row, _column_of(d["field"], d["code"]), d["message"])
                for d in validation_details(exc)
            ]
        ) from None


TYPE_ORDER = ("single", "multiple", "true_false", "text", "slider", "order", "poll")


def _column_name(cell: Any) -> str:
    """`Choice 1`, ` choice_1 ` and `CHOICE-1` all name the column `choice_1`."""
    text = _cell_text(cell).casefold()
    for separator in (" ", "-"):
        text = text.replace(separator, "_")
    return text


def _cell_text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))  # a spreadsheet's 20.0 is the 20 the teacher typed
    return str(cell).strip()


def _number(
    text: str, row: int, column: str, errors: list[dict[str, Any]], whole: bool = False
) -> float | int | None:
    """A number as spreadsheets write it; a decimal comma (`2,5`) is read as a point."""
    cleaned = text.replace(" ", "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        errors.append(table_error(row, column, f"{text!r} is not a number"))
        return None
    if whole:
        if not value.is_integer():
            errors.append(table_error(row, column, f"{text!r} is not a whole number"))
            return None
        return int(value)
    return value


def _correct_numbers(text: str, kind: str, row: int, errors: list[dict[str, Any]]) -> set[int]:
    """The 1-based numbers of the correct choices: `2`, `1,3`, `1; 3` or `1 3`.

    For true/false, `true`/`false` (or yes/no) also work, meaning choice 1/2.
    """
    if not text:
        return set()
    word = text.casefold()
    if kind == "true_false" and word in TRUE_WORDS:
        return {1}
    if kind == "true_false" and word in FALSE_WORDS:
        return {2}
    numbers: set[int] = set()
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdecimal() or not 1 <= int(part) <= MAX_CHOICES:
            errors.append(
                table_error(
                    row,
                    "correct",
                    f"{part!r} is not a choice number from 1 to {MAX_CHOICES}",
                )
            )
            return set()
        numbers.add(int(part))
    return numbers


def _column_of(field: str | None, code: str) -> str | None:
    """The sheet column a QuestionIn error is about (`choices.1.text` -> `choice_2`)."""
    if not field:
        return None
    parts = field.split(".")
    if parts[0] == "choices":
        if len(parts) >= 2 and parts[1].isdigit():
            return f"choice_{int(parts[1]) + 1}"
        return "correct" if code == "correct_count" else "choice_1"
    if parts[0] == "slider" and parts[-1] in ("min", "max", "step", "correct", "tolerance"):
        return f"slider_{parts[-1]}"
    return FIELD_COLUMNS.get(parts[0], parts[0])
