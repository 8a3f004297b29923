"""REST: /api/v1/quizzes — CRUD with owner-only writes and public reads."""

from __future__ import annotations

from aiohttp import web

from classquiz.routers.api import ApiRouter, parse_uuid
from classquiz.routers.auth import optional_session, require_session
from classquiz.runtime import services
from classquiz.schemas import Page, PageQuery, QuizIn, QuizOut, QuizSummaryOut

router = ApiRouter(prefix="/api/v1/quizzes", tags=("quizzes",))


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
    query=PageQuery,
    response=Page[QuizSummaryOut],
    auth="user",
    errors=(401, 422),
)
async def list_quizzes(request: web.Request, query: PageQuery) -> Page[QuizSummaryOut]:
    session = await require_session(request)
    return await services(request).quizzes.list_own(session.user, query.limit, query.offset)


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
