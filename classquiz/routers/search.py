"""REST: GET /api/v1/search — public quizzes, typo-tolerant, same shape for every backend."""

from __future__ import annotations

from aiohttp import web

from classquiz.contracts.search import SearchQuery, SearchResultOut
from classquiz.errors import Refusal
from classquiz.routers.api import ApiRouter
from classquiz.runtime import services
from classquiz.search.base import SearchUnavailable

router = ApiRouter(prefix="/api/v1/search", tags=("search",))


@router.route(
    "GET",
    "",
    summary="Search public quizzes (typo-tolerant; `tags` may repeat or be comma-separated)",
    query=SearchQuery,
    response=SearchResultOut,
    errors=(422, 503),
)
async def search_quizzes(request: web.Request, query: SearchQuery) -> SearchResultOut:
    index = services(request).search
    if index is None:
        raise Refusal("search_unavailable", "search is not configured on this server")
    try:
        return await index.search(query)
    except SearchUnavailable as exc:
        raise Refusal("search_unavailable", str(exc)) from None
