"""Choosing the search backend from the settings, and running it with the app.

Meilisearch when `MEILISEARCH_URL` is set (it scales beyond one database and
has the better typo handling); otherwise the embedded PostgreSQL backend, so a
zero-configuration start has search with nothing else to run.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from classquiz.config import Settings
from classquiz.search.base import SearchIndex
from classquiz.search.listener import SearchIndexer

log = logging.getLogger(__name__)
Lifecycle = Callable[[web.Application], AsyncIterator[None]]


def create_search_index(settings: Settings) -> SearchIndex:
    if settings.meilisearch_url:
        from classquiz.search.meili import MeiliSearchIndex

        return MeiliSearchIndex(settings.meilisearch_url, settings.meilisearch_key)
    from classquiz.search.postgres import PostgresSearchIndex

    return PostgresSearchIndex()


def search_lifecycle(index: SearchIndex, indexer: SearchIndexer) -> Lifecycle:
    """An aiohttp cleanup context: start after the database is connected, stop before.
    (The index and its indexer are built with the other services, runtime.build_services;
    the quiz service is handed the indexer as a listener there.)"""

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await index.start()
        indexer.start()
        log.info("search: %s backend started", index.name)
        yield
        await indexer.close()
        await index.close()

    return lifecycle
