"""`python -m classquiz reindex`: rebuild the active search index from the database.

Useful after restoring a backup, after switching backends, or when the
indexer logged that it gave up on a quiz. Safe to run while the server
serves: Meilisearch swaps a finished index in; PostgreSQL rebuilds its
lexicon in one transaction (every process then reloads its copy).
"""

from __future__ import annotations

import asyncio
import logging
import time

from tqdm import tqdm

from classquiz.config import Settings
from classquiz.db.engine import connect_database, disconnect_database
from classquiz.search.factory import create_search_index

log = logging.getLogger("classquiz")


def reindex_command(settings: Settings, *, progress_bar: bool = True) -> int:
    """Migrate, rebuild, report; returns the process exit code."""
    from classquiz.db.migrate import upgrade_database

    upgrade_database(settings.require_database_url())  # the index reads the current schema
    try:
        count, backend, seconds = asyncio.run(_reindex(settings, progress_bar))
    except Exception:
        log.exception("reindex failed")
        return 1
    log.info("reindexed %d public quizzes into %s in %.1f s", count, backend, seconds)
    return 0


async def _reindex(settings: Settings, progress_bar: bool) -> tuple[int, str, float]:
    await connect_database(settings.database_url_asyncpg, pool_size=2)
    index = create_search_index(settings)
    bar = tqdm(unit="quiz", desc=f"reindex ({index.name})", disable=not progress_bar)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    started = time.monotonic()
    try:
        await index.start()
        count = await index.reindex_all(progress)
    finally:
        bar.close()
        await index.close()
        await disconnect_database()
    return count, index.name, time.monotonic() - started
