"""The import template a teacher downloads: an example row per question type (CSV, or a
workbook with a help sheet)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import xlsxwriter

from classquiz.services.quiz_io.table import COLUMNS

TEMPLATE_ROWS: list[list[Any]] = [
    list(COLUMNS),
    ["single", "What is the capital of France?", 20, 1, "Lyon", "Paris", "Nice", "", "", "",
     "2", "", "", "", "", "", "", ""],
    ["multiple", "Which of these are prime numbers?", 30, 2, "2", "3", "4", "9", "", "",
     "1,2", "", "", "", "", "", "", ""],
    ["true_false", "Water boils at 100 °C at sea level.", 10, 1, "", "", "", "", "", "",
     "true", "", "", "", "", "", "", ""],
    ["text", "Which planet is known as the red planet?", 20, 1, "", "", "", "", "", "",
     "", "", "", "", "", "", "Mars|planet Mars", ""],
    ["slider", "In which year did the Berlin Wall fall?", 30, 1, "", "", "", "", "", "",
     "", 1950, 2000, 1, 1989, 2, "", ""],
    ["order", "Put these from smallest to largest.", 30, 1, "Ant", "Cat", "Horse", "Whale",
     "", "", "", "", "", "", "", "", "", ""],
    ["poll", "Which topic should we do next?", 20, 0, "Space", "Oceans", "Volcanoes", "", "",
     "", "", "", "", "", "", "", "", ""],
]  # fmt: skip


def template_csv() -> bytes:
    """The template as CSV: UTF-8 with a BOM, so spreadsheet apps read `°C` right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(TEMPLATE_ROWS)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    """The template as a workbook: the example sheet first (imports read the first
    sheet), then a sheet explaining each column."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False}
    )
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("Questions")
    _write_rows(sheet, TEMPLATE_ROWS, bold)
    sheet.freeze_panes(1, 0)
    help_sheet = book.add_worksheet("Help")
    _write_rows(help_sheet, [["column", "what to write"], *COLUMN_HELP], bold)
    help_sheet.set_column(0, 0, 18)
    help_sheet.set_column(1, 1, 100)
    book.close()
    return buffer.getvalue()


def _write_rows(sheet: Any, rows: Iterable[Sequence[Any]], bold: Any) -> None:
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            if r == 0:
                sheet.write_string(r, c, str(cell), bold)
            elif isinstance(cell, int | float):
                sheet.write_number(r, c, cell)
            elif cell:
                sheet.write_string(r, c, str(cell))


COLUMN_HELP: list[list[str]] = [
    ["type", "single, multiple, true_false, text, slider, order or poll"],
    ["question", "the question text (up to 500 characters)"],
    ["time", "seconds to answer, 5 to 240 (empty: 20)"],
    ["points", "0, 1 or 2 (empty: 1)"],
    ["choice_1 … choice_6", "the choices (2 to 6; true_false: empty means True / False; "
     "order: in the correct order)"],
    ["correct", "numbers of the correct choices, e.g. 2 or 1,3 (true_false: also true/false)"],
    ["slider_min, slider_max", "the slider's range"],
    ["slider_step", "the slider's step (empty: 1)"],
    ["slider_correct", "the correct value"],
    ["slider_tolerance", "how far from the correct value still counts (empty: 0)"],
    ["answers", "text questions: accepted answers separated by |, e.g. Mars|planet Mars"],
    ["image", "optional: the address (https://…) of an image"],
]  # fmt: skip
