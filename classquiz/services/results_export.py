"""Spreadsheet exports of a stored game: CSV (players) and XLSX (players + answers).

Pure functions over plain rows, so they can run in a worker thread: a large
game's workbook takes long enough to build that it must not stall the event
loop that carries live games.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
import xlsxwriter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PLAYER_HEADER = ["nickname", "rank", "score", "correct_count", "answered_count"]
ANSWER_HEADER = [
    "nickname",
    "player_id",
    "question",
    "question_text",
    "answer",
    "correct",
    "points",
    "elapsed_ms",
]
# Spreadsheet apps run a cell starting with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: Any) -> Any:
    """Neutralise CSV formula injection: a text cell that would run as a formula is quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def player_table(
    players: Sequence[dict[str, Any]],
    question_indexes: Sequence[int],
    points: dict[tuple[str, int], int],
) -> list[list[Any]]:
    """Header plus one row per player (already in rank order).

    `points` maps (player id, question index) to the points of that answer; a
    question the player did not answer has an empty cell, unlike a wrong one (0).
    """
    header = PLAYER_HEADER + [f"q{index + 1}" for index in question_indexes]
    rows: list[list[Any]] = [header]
    for p in players:
        pid = str(p["player_id"])
        row: list[Any] = [
            p["nickname"],
            p["rank"],
            p["score"],
            p["correct_count"],
            p["answered_count"],
        ]
        row.extend(points.get((pid, index), "") for index in question_indexes)
        rows.append(row)
    return rows


def answer_text(answer: Any) -> str:
    """An answer as one cell: text as is, anything else (ids, lists, numbers) as JSON."""
    if isinstance(answer, str):
        return answer
    return orjson.dumps(answer).decode()


def answer_table(
    answers: Sequence[Any], nicknames: dict[str, str], texts: dict[int, str]
) -> list[list[Any]]:
    """Header plus one row per stored answer (rows with the `game_answers` columns)."""
    rows: list[list[Any]] = [ANSWER_HEADER]
    for a in answers:
        value = a.answer.get("value") if isinstance(a.answer, dict) else a.answer
        rows.append(
            [
                nicknames.get(str(a.player_id), ""),
                str(a.player_id),
                a.question_index + 1,
                texts.get(a.question_index, ""),
                answer_text(value),
                "" if a.correct is None else a.correct,
                a.points or 0,
                a.elapsed_ms or 0,
            ]
        )
    return rows


def to_csv(rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([defuse(cell) for cell in row])
    # A BOM lets spreadsheet apps detect UTF-8 (nicknames are rarely ASCII-only).
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(player_rows: Sequence[Sequence[Any]], answer_rows: Sequence[Sequence[Any]]) -> bytes:
    """A workbook with the sheets "Players" and "Answers".

    Text goes through `write_string`, never `write`, and formula/URL guessing is
    off: a nickname like `=HYPERLINK(...)` stays inert text in a workbook.
    """
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    bold = workbook.add_format({"bold": True})
    for name, rows in (("Players", player_rows), ("Answers", answer_rows)):
        sheet = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                if r == 0:
                    sheet.write_string(r, c, str(cell), bold)
                elif cell is None or cell == "":
                    sheet.write_blank(r, c, None)
                elif isinstance(cell, bool):
                    sheet.write_boolean(r, c, cell)
                elif isinstance(cell, int | float):
                    sheet.write_number(r, c, cell)
                else:
                    sheet.write_string(r, c, str(cell))
        sheet.freeze_panes(1, 0)
    workbook.close()
    return buffer.getvalue()


def export_filename(title: str, finished_at: datetime, extension: str) -> str:
    """An ASCII-only, header-safe name such as `results-my-quiz-2026-11-22.csv`."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-").lower()[:60] or "game"
    return f"results-{slug}-{finished_at:%Y-%m-%d}.{extension}"
