"""The quiz document: our versioned JSON format for one quiz (export, import, copy)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from classquiz.contracts.quizzes import QuizIn
from classquiz.errors import ErrorCode, Refusal, invalid_payload

DOCUMENT_FORMAT = "classquiz-quiz"
DOCUMENT_VERSION = 1
# The QuizIn fields a document carries; `public` is left out on purpose: an
# imported quiz always starts private, whoever wrote the file.
DOCUMENT_FIELDS = ("title", "description", "language", "tags", "questions")


def export_document(quiz: dict[str, Any]) -> dict[str, Any]:
    """The versioned document of a quiz's stored fields (`GET /quizzes/{id}/export`).

    Taken as stored, not re-validated: a quiz saved under older, laxer rules can
    still be exported; the import is where the rules of the day apply.
    """
    data = {key: quiz[key] for key in DOCUMENT_FIELDS if quiz.get(key) is not None}
    return {"format": DOCUMENT_FORMAT, "version": DOCUMENT_VERSION, "quiz": data}


def import_document(document: Any) -> QuizIn:
    """The quiz inside a document, validated like a new quiz; 422 naming the field.

    The envelope is checked before the quiz, so a file from a newer server is
    refused for what it is (a version we cannot read) rather than for whichever
    field it happens to trip on.
    """
    if not isinstance(document, dict):
        raise _refused("", "not_a_document", "the file is not a ClassQuiz quiz document")
    if document.get("format") != DOCUMENT_FORMAT:
        raise _refused(
            "format", "unknown_format", f'the document\'s "format" must be "{DOCUMENT_FORMAT}"'
        )
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _refused("version", "invalid_version", '"version" must be a whole number from 1')
    if version > DOCUMENT_VERSION:
        raise _refused(
            "version",
            "unsupported_version",
            f"this file is format version {version}; this server reads up to version "
            f"{DOCUMENT_VERSION}. Update the server, or export the quiz again from an older one.",
        )
    unknown = sorted(set(document) - {"format", "version", "quiz", "exported_at"})
    if unknown:
        raise _refused(unknown[0], "extra_forbidden", "unknown field in the document")
    quiz = document.get("quiz")
    if not isinstance(quiz, dict):
        raise _refused("quiz", "missing", '"quiz" must be an object with the quiz')
    try:
        return QuizIn.model_validate({**quiz, "public": False})
    except ValidationError as exc:
        error = invalid_payload(exc)
        for item in error.details or []:
            item["field"] = "quiz." + item["field"] if item.get("field") else "quiz"
        first = (error.details or [{}])[0]
        error.message = f"{first.get('message', 'invalid quiz')} ({first.get('field', 'quiz')})"
        raise error from None


def _refused(field: str, code: ErrorCode, message: str) -> Refusal:
    detail = {"field": field or None, "code": code, "message": message}
    where = f" ({field})" if field else ""
    return Refusal(code, f"{message}{where}", [detail])
