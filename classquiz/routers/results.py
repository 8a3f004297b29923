"""REST: /api/v1/results — stored games for their host (to read, export or delete), and a
player's own results."""

from __future__ import annotations

from aiohttp import web

from classquiz.contracts.common import Page, PageQuery
from classquiz.contracts.results import ExportQuery, FinishedGameOut, GameStatsOut, PlayerResultOut
from classquiz.routers.api import ApiRouter, attachment, parse_uuid
from classquiz.routers.auth import bearer_token, require_session
from classquiz.runtime import services
from classquiz.services.results_export import XLSX

router = ApiRouter(prefix="/api/v1/results", tags=("results",))


@router.route(
    "GET",
    "",
    summary="List the games you hosted that have finished, newest first",
    query=PageQuery,
    response=Page[FinishedGameOut],
    auth="user",
    errors=(401, 422),
)
async def list_results(request: web.Request, query: PageQuery) -> Page[FinishedGameOut]:
    session = await require_session(request)
    return await services(request).results.list_finished(session.user.id, query.limit, query.offset)


@router.route(
    "GET",
    "/{game_id}",
    summary="Statistics of a finished game (its host only)",
    response=GameStatsOut,
    auth="user",
    errors=(401, 404),
)
async def game_results(request: web.Request) -> GameStatsOut:
    session = await require_session(request)
    game_id = parse_uuid(request.match_info["game_id"], "game_not_found")
    return await services(request).results.game_results(game_id, session.user)


@router.route(
    "GET",
    "/{game_id}/players",
    summary="A page of a finished game's players by rank, each with their answers (its host only)",
    query=PageQuery,
    response=Page[PlayerResultOut],
    auth="user",
    errors=(401, 404, 422),
)
async def game_players(request: web.Request, query: PageQuery) -> Page[PlayerResultOut]:
    session = await require_session(request)
    game_id = parse_uuid(request.match_info["game_id"], "game_not_found")
    return await services(request).results.players_with_answers(
        game_id, session.user, query.limit, query.offset
    )


@router.route(
    "GET",
    "/{game_id}/export",
    summary="Download a finished game's results as CSV or XLSX (its host only)",
    query=ExportQuery,
    auth="user",
    errors=(401, 404, 422),
    raw_response=f"text/csv, {XLSX}",
)
async def export_results(request: web.Request, query: ExportQuery) -> web.Response:
    session = await require_session(request)
    game_id = parse_uuid(request.match_info["game_id"], "game_not_found")
    body, content_type, filename = await services(request).results.export(
        game_id, session.user, query.format
    )
    return web.Response(
        body=body,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": attachment(filename),
            "Cache-Control": "private, no-store",
        },
    )


@router.route(
    "DELETE",
    "/{game_id}",
    summary="Delete a finished game's results, with its players and answers (its host only)",
    status=204,
    auth="user",
    errors=(401, 403, 404),
)
async def delete_results(request: web.Request) -> None:
    session = await require_session(request)
    game_id = parse_uuid(request.match_info["game_id"], "game_not_found")
    await services(request).results.delete(game_id, session.user)


@router.route(
    "GET",
    "/{game_id}/me",
    summary="Your own results in a finished game (Authorization: Bearer <player_token>)",
    response=PlayerResultOut,
    auth="player",
    errors=(401, 404),
)
async def my_results(request: web.Request) -> PlayerResultOut:
    game_id = parse_uuid(request.match_info["game_id"], "game_not_found")
    return await services(request).results.player_results(bearer_token(request), game_id)
