"""REST: /api/v1/games — create a game from a quiz, look one up by PIN."""

from __future__ import annotations

from aiohttp import web

from classquiz.contracts.games import GameCreatedOut, GameCreateIn, GameInfoOut, GameInfoQuery
from classquiz.routers.api import ApiRouter
from classquiz.routers.auth import require_session
from classquiz.routers.refusals import request_address
from classquiz.runtime import services

router = ApiRouter(prefix="/api/v1/games", tags=("games",))


@router.route(
    "POST",
    "",
    summary="Start a live game of a quiz (owner, or anyone for a public quiz)",
    body=GameCreateIn,
    response=GameCreatedOut,
    status=201,
    auth="user",
    errors=(401, 404, 409, 422, 503),
)
async def create_game(request: web.Request, body: GameCreateIn) -> GameCreatedOut:
    session = await require_session(request)
    return await services(request).games.create_game(session.user, body)


@router.route(
    "GET",
    "/{pin}",
    summary="What a client needs to join the game with this PIN",
    query=GameInfoQuery,
    response=GameInfoOut,
    errors=(403, 404, 422, 429),
)
async def describe_game(request: web.Request, query: GameInfoQuery) -> GameInfoOut:
    svc = services(request)
    address = request_address(request, svc.settings.trusted_proxy_networks)
    # A wrong password counts like a wrong join password: the roster must not become a
    # way around the join limiter (docs/security.md).
    async with svc.limiter.guard(
        address, {"game_not_found", "wrong_password"}, "too many failed attempts; wait a minute"
    ):
        return await svc.games.describe(request.match_info["pin"], query.password)
