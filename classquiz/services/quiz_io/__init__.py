"""Quizzes in and out of files: our versioned JSON document, and questions from CSV/XLSX.

Pure functions only (bytes and dicts in, models or errors out): the routers
read the upload, `QuizService` stores the result. Every imported quiz goes
through `QuizIn`, the very model the editor's saves go through, so a file can
never create a quiz the editor could not have saved.

The table format (docs/import.md) is meant for a teacher with a spreadsheet:
one row per question, named columns in any order, choice numbers for the
correct answers. Errors name the spreadsheet row (1 = the header row) and the
column, because that is what the teacher sees on screen.
"""

from classquiz.services.quiz_io.document import export_document, import_document
from classquiz.services.quiz_io.table import (
    MAX_TABLE_BYTES,
    MAX_XLSX_UNZIPPED,
    TableError,
    parse_table,
    read_table,
)
from classquiz.services.quiz_io.template import template_csv, template_xlsx

__all__ = [
    "MAX_TABLE_BYTES",
    "MAX_XLSX_UNZIPPED",
    "TableError",
    "export_document",
    "import_document",
    "parse_table",
    "read_table",
    "template_csv",
    "template_xlsx",
]
