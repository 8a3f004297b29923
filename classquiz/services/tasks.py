"""Background work of the live services, kept referenced until it is done.

The event loop keeps only weak references to tasks: a task nobody holds can be
garbage-collected before it finishes. So every fire-and-forget coroutine of the
game services (the welcome, a count for the host, storing results, refreshing
key lifetimes) goes through one `KeptTasks`, which holds it until it ends, logs
its failure, and lets shutdown (and tests) wait for all of it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

log = logging.getLogger(__name__)


class KeptTasks:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Future[Any]] = set()

    def spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background game task failed", exc_info=task.exception())

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until every task, and every task those started, has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def cancel_and_wait(task: asyncio.Future[Any], timeout_s: float = 5.0) -> bool:
    """Cancel `task` and wait until it has ended; True if it did within `timeout_s`.

    A cancellation can be lost: a library that turns the CancelledError raised inside
    its I/O into its own error (redis-py, racing a command timeout) hands a loop that
    catches errors and goes on a cancel it never sees. So the cancel is repeated until
    the task ends, and the wait is bounded: a stop must end.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not task.done():
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        task.cancel()
        await asyncio.wait({task}, timeout=min(0.5, remaining))
    if not task.cancelled():
        task.exception()  # seen: a loop's last error is not "never retrieved"
    return True
