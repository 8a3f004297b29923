"""Keeps the search index in step with quiz saves, without ever slowing or failing one.

`SearchIndexer` is a `QuizListener`: `quiz_saved`/`quiz_deleted` only note the
quiz id in a bounded in-memory queue and return at once. A background task
then syncs each noted quiz from the database, so whatever happened in between
(saved twice, made private, deleted) the index ends in the quiz's latest
committed state: a row that is public is indexed, anything else is removed.

A failed sync is retried with exponential backoff and jitter; after
`max_attempts` it is logged as given up (`python -m classquiz reindex`
repairs everything). A quiz noted again while it is still queued is synced
once. If the queue is full the change is dropped with a warning rather than
blocking the save. The queue lives in this process only: changes still queued
when a process dies are lost until the next reindex.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from typing import TYPE_CHECKING

from prometheus_client import Counter

from classquiz.search.base import SearchIndex

if TYPE_CHECKING:
    from classquiz.db.models import Quiz

log = logging.getLogger(__name__)

SEARCH_SYNCS = Counter(
    "classquiz_search_syncs_total",
    "Quiz changes applied to the search index, by outcome",
    ["outcome"],  # indexed | removed | retry | gave_up | dropped
)


class SearchIndexer:
    """The quiz service's listener that feeds a `SearchIndex` after each commit."""

    def __init__(
        self,
        index: SearchIndex,
        *,
        max_pending: int = 10_000,
        max_attempts: int = 10,
        base_delay_s: float = 0.5,
        max_delay_s: float = 60.0,
    ) -> None:
        self.index = index
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self._queue: asyncio.Queue[uuid.UUID] = asyncio.Queue(maxsize=max_pending)
        self._queued: set[uuid.UUID] = set()
        self._attempts: dict[uuid.UUID, int] = {}
        self._retries: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._worker: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ QuizListener

    async def quiz_saved(self, quiz: Quiz) -> None:
        self._note(quiz.id)

    async def quiz_deleted(self, quiz_id: uuid.UUID) -> None:
        self._note(quiz_id)

    def _note(self, quiz_id: uuid.UUID) -> None:
        """Queue a quiz for syncing; never raises, never waits."""
        try:
            if quiz_id in self._queued:
                return
            self._queue.put_nowait(quiz_id)
            self._queued.add(quiz_id)
        except asyncio.QueueFull:
            SEARCH_SYNCS.labels("dropped").inc()
            log.warning("search: queue full, dropped quiz %s (reindex repairs it)", quiz_id)
        except Exception:  # the save must not see it
            log.exception("search: could not queue quiz %s", quiz_id)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run(), name="search-sync")

    async def close(self, timeout_s: float = 5.0) -> None:
        """Give queued changes `timeout_s` to be applied, then stop."""
        if self._worker is not None and not self._worker.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), timeout_s)
        for retry in self._retries.values():
            retry.cancel()
        self._retries.clear()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until nothing is queued or waiting for a retry (for tests and shutdown)."""
        async with asyncio.timeout(timeout_s):
            await self._queue.join()
            while self._retries:
                await asyncio.wait(list(self._retries.values()))
                await self._queue.join()

    # ------------------------------------------------------------ worker

    async def _run(self) -> None:
        while True:
            quiz_id = await self._queue.get()
            # Noted again from now on means "changed after this sync read it": queue it again.
            self._queued.discard(quiz_id)
            try:
                await self._sync(quiz_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._failed(quiz_id, exc)
            else:
                self._attempts.pop(quiz_id, None)
                pending_retry = self._retries.pop(quiz_id, None)
                if pending_retry is not None:
                    pending_retry.cancel()
            finally:
                self._queue.task_done()

    async def _sync(self, quiz_id: uuid.UUID) -> None:
        from classquiz.db.models import Quiz

        quiz = await Quiz.objects.get_or_none(id=quiz_id)
        if quiz is None or not quiz.public:
            await self.index.remove(quiz_id)
            SEARCH_SYNCS.labels("removed").inc()
        else:
            await self.index.index(quiz)
            SEARCH_SYNCS.labels("indexed").inc()

    def _failed(self, quiz_id: uuid.UUID, exc: Exception) -> None:
        attempts = self._attempts.get(quiz_id, 0) + 1
        if attempts >= self.max_attempts:
            self._attempts.pop(quiz_id, None)
            SEARCH_SYNCS.labels("gave_up").inc()
            log.error(
                "search: gave up indexing quiz %s after %d attempts (%s); "
                "run `python -m classquiz reindex`",
                quiz_id,
                attempts,
                exc,
            )
            return
        self._attempts[quiz_id] = attempts
        delay = min(self.max_delay_s, self.base_delay_s * 2 ** (attempts - 1))
        delay *= 0.5 + random.random() / 2  # jitter: processes do not retry in lockstep
        SEARCH_SYNCS.labels("retry").inc()
        log.warning(
            "search: indexing quiz %s failed (%s), retry %d in %.1fs", quiz_id, exc, attempts, delay
        )
        previous = self._retries.pop(quiz_id, None)
        if previous is not None:
            previous.cancel()
        self._retries[quiz_id] = asyncio.get_running_loop().create_task(
            self._retry_later(quiz_id, delay), name=f"search-retry-{quiz_id}"
        )

    async def _retry_later(self, quiz_id: uuid.UUID, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        self._retries.pop(quiz_id, None)
        self._note(quiz_id)
