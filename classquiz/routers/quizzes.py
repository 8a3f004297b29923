"""REST: /api/v1/quizzes — CRUD with owner-only writes and public reads, plus
copies, export and import (docs/import.md)."""

from __future__ import annotations

import asyncio
from pathlib import PurePath
from urllib.parse import unquote

import orjson
from aiohttp import BodyPartReader, web

from classquiz.contracts.common import Page
from classquiz.contracts.quizzes import (
    TITLE_MAX,
    QuizDocument,
    QuizIn,
    QuizListQuery,
    QuizOut,
    QuizSummaryOut,
    QuizVisibilityIn,
    TableImportForm,
)
from classquiz.errors import Refusal
from classquiz.routers.api import (
    ApiRouter,
    attachment,
    form_field_error,
    parse_uuid,
    read_part_limited,
    unstorable_refused,
)
from classquiz.routers.auth import optional_session, require_session
from classquiz.runtime import services
from classquiz.services import quiz_io
from classquiz.services.results_export import XLSX

router = ApiRouter(prefix="/api/v1/quizzes", tags=("quizzes",))
# The multipart envelope around a file of MAX_TABLE_BYTES, with room for the title.
MAX_UPLOAD_BYTES = quiz_io.MAX_TABLE_BYTES + 16_384


@router.route(
    "POST",
    "",
    summary="Create a quiz",
    body=QuizIn,
    response=QuizOut,
    status=201,
    auth="user",
    errors=(401, 422),
)
async def create_quiz(request: web.Request, body: QuizIn) -> QuizOut:
    session = await require_session(request)
    return await services(request).quizzes.create(session.user, body)


@router.route(
    "GET",
    "",
    summary="List your own quizzes, newest change first",
    query=QuizListQuery,
    response=Page[QuizSummaryOut],
    auth="user",
    errors=(401, 422),
)
async def list_quizzes(request: web.Request, query: QuizListQuery) -> Page[QuizSummaryOut]:
    session = await require_session(request)
    return await services(request).quizzes.list_own(
        session.user, query.limit, query.offset, query.q
    )


@router.route(
    "POST",
    "/import",
    summary="Create a quiz from an exported quiz document (a private quiz of yours)",
    body=QuizDocument,
    response=QuizOut,
    status=201,
    auth="user",
    errors=(401, 413, 415, 422),
)
async def import_quiz(request: web.Request, body: QuizDocument) -> QuizOut:
    session = await require_session(request)
    quiz = quiz_io.import_document(body.model_dump())
    return await services(request).quizzes.create(session.user, quiz)


@router.route(
    "POST",
    "/import/table",
    summary="Create a quiz from a CSV or XLSX table, one question per row",
    form=TableImportForm,
    response=QuizOut,
    status=201,
    auth="user",
    errors=(400, 401, 403, 413, 415, 422),
)
async def import_table(request: web.Request) -> QuizOut:
    """422 `invalid_table` lists every problem as `{row, column, message}` in
    `error.details`; nothing is created unless the whole table is right."""
    session = await require_session(request)
    data, filename, title = await read_table_upload(request)
    title = title or PurePath(filename).stem[:TITLE_MAX] or "Imported quiz"
    try:
        # openpyxl is slow on big sheets: keep it off the loop that carries live games.
        rows = await asyncio.to_thread(quiz_io.read_table, data, filename)
        quiz = quiz_io.parse_table(rows, title)
    except quiz_io.TableError as exc:
        raise exc.api_error() from None
    unstorable_refused(quiz.model_dump(mode="json"))  # a NUL from a crafted file, say
    return await services(request).quizzes.create(session.user, quiz)


@router.route(
    "GET",
    "/import/template.{extension}",
    summary="The question table template (template.csv or template.xlsx)",
    errors=(404,),
    raw_response=f"text/csv, {XLSX}",
)
async def import_template(request: web.Request) -> web.Response:
    extension = request.match_info["extension"]
    if extension == "csv":
        body, content_type = quiz_io.template_csv(), "text/csv; charset=utf-8"
    elif extension == "xlsx":
        body, content_type = quiz_io.template_xlsx(), XLSX
    else:
        raise Refusal("not_found", "the template exists as .csv and .xlsx")
    filename = f"classquiz-questions-template.{extension}"
    return web.Response(
        body=body,
        headers={"Content-Type": content_type, "Content-Disposition": attachment(filename)},
    )


@router.route(
    "GET",
    "/{quiz_id}",
    summary="Read a quiz (owner, or anyone when public)",
    response=QuizOut,
    errors=(404,),
)
async def read_quiz(request: web.Request) -> QuizOut:
    session = await optional_session(request)
    quiz_id = parse_uuid(request.match_info["quiz_id"], "quiz_not_found")
    return await services(request).quizzes.read(quiz_id, session.user if session else None)


@router.route(
    "GET",
    "/{quiz_id}/export",
    summary="Download a quiz as a versioned quiz document (owner, or anyone when public)",
    response=QuizDocument,
    errors=(404,),
)
async def export_quiz(request: web.Request) -> web.Response:
    session = await optional_session(request)
    quiz_id = parse_uuid(request.match_info["quiz_id"], "quiz_not_found")
    document, filename = await services(request).quizzes.export(
        quiz_id, session.user if session else None
    )
    return web.Response(
        body=orjson.dumps(document, option=orjson.OPT_INDENT_2),
        content_type="application/json",
        headers={"Content-Disposition": attachment(filename), "Cache-Control": "private"},
    )


@router.route(
    "POST",
    "/{quiz_id}/duplicate",
    summary="Copy a quiz into your quizzes, private (your own, or anyone's public quiz)",
    response=QuizOut,
    status=201,
    auth="user",
    errors=(401, 404),
)
async def duplicate_quiz(request: web.Request) -> QuizOut:
    session = await require_session(request)
    quiz_id = parse_uuid(request.match_info["quiz_id"], "quiz_not_found")
    return await services(request).quizzes.duplicate(session.user, quiz_id)


@router.route(
    "PATCH",
    "/{quiz_id}",
    summary="Make a quiz public or private (owner only)",
    body=QuizVisibilityIn,
    response=QuizOut,
    auth="user",
    errors=(401, 403, 404, 415, 422),
)
async def set_quiz_visibility(request: web.Request, body: QuizVisibilityIn) -> QuizOut:
    session = await require_session(request)
    quiz_id = parse_uuid(request.match_info["quiz_id"], "quiz_not_found")
    return await services(request).quizzes.set_public(session.user, quiz_id, body.public)


@router.route(
    "PUT",
    "/{quiz_id}",
    summary="Replace a quiz (owner only)",
    body=QuizIn,
    response=QuizOut,
    auth="user",
    errors=(401, 403, 404, 422),
)
async def update_quiz(request: web.Request, body: QuizIn) -> QuizOut:
    session = await require_session(request)
    quiz_id = parse_uuid(request.match_info["quiz_id"], "quiz_not_found")
    return await services(request).quizzes.update(session.user, quiz_id, body)


@router.route(
    "DELETE",
    "/{quiz_id}",
    summary="Delete a quiz (owner only)",
    status=204,
    auth="user",
    errors=(401, 403, 404),
)
async def delete_quiz(request: web.Request) -> None:
    session = await require_session(request)
    quiz_id = parse_uuid(request.match_info["quiz_id"], "quiz_not_found")
    await services(request).quizzes.delete(session.user, quiz_id)


async def read_table_upload(request: web.Request) -> tuple[bytes, str, str]:
    """(file bytes, file name, title) of a multipart upload, refusing oversized files
    while they stream in rather than after buffering them whole."""
    if request.content_length is not None and request.content_length > MAX_UPLOAD_BYTES:
        raise Refusal("payload_too_large", "the file is larger than 1 MB")
    if request.content_type != "multipart/form-data":
        raise Refusal(
            "unsupported_media_type",
            "send the file as multipart/form-data with a field named file",
        )
    try:
        reader = await request.multipart()
        data: bytes | None = None
        filename = ""
        title = ""
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name not in ("file", "title"):
                # Refused rather than skipped: skipping still reads the part to its end.
                raise form_field_error(getattr(part, "name", None), "unknown form field")
            if part.name == "file":
                # Browsers send the name raw, some clients percent-encoded: read both.
                filename = unquote(part.filename or "")
                data = await read_part_limited(part, quiz_io.MAX_TABLE_BYTES, "the file")
            else:
                raw_title = await read_part_limited(part, 4 * TITLE_MAX, "the title")
                title = raw_title.decode("utf-8", "replace")
    except (ValueError, AssertionError):
        raise Refusal("invalid_form", "the multipart body cannot be read") from None
    if data is None:
        raise form_field_error("file", "a field named file is missing")
    return data, filename, unstorable_refused(title.strip())
