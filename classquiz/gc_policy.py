"""When the cyclic garbage collector may stop the world: almost never during a game.

A server process holding 2,000 players keeps about half a million objects that the
collector tracks (each connection's Engine.IO session, queues, timers, tasks and
their coroutines). CPython's automatic full (generation 2) collection walks all
of them and stops the event loop for 150-300 ms on this machine, and it fires when
allocation counts say so: in bench/ runs, just as a question's broadcast was being
queued, which put that question's broadcast p99 at 300-600 ms instead of about 70.
Collecting "when the process is calm" instead was tried and measured: the calm
moment a full collection picked was the lobby's last half second, so the host's
`start_game` waited for it.

So full collections are rare and cheap to skip: what survives the young
collections is frozen (`gc.freeze()`, which moves objects to a generation the
collector never walks, in constant time) right after a middle-generation
collection, when the young generations are empty; nothing reaches the oldest
generation, so CPython never starts a full collection. Young collections stay
automatic (a few milliseconds). Reference cycles that become garbage after being
frozen (rare in this code, possible in the libraries) are reclaimed by a thaw:
unfreeze, one full collection, freeze again, when the process is calm and at least
`thaw_interval_s` has passed, and at the latest after `overdue_s`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web

from classquiz.observability import GC_PAUSE

log = logging.getLogger(__name__)

# A generation-2 threshold CPython never reaches: its count is the number of
# generation-1 collections since the last full one.
NEVER = 1 << 30


@dataclass(frozen=True)
class CollectionPolicy:
    """The collector's schedule; the defaults suit a live-game server.

    young: allocations (minus deallocations) between generation-0 collections.
    middle: generation-0 collections between generation-1 collections.
    calm_window_s: how long the process must have been nearly idle...
    calm_cpu_fraction: ...i.e. used at most this share of a core, for a thaw.
    thaw_interval_s: no thaw (a full collection of everything) sooner than this.
    overdue_s: a thaw runs after this long, calm or not.
    """

    young: int = 20_000
    middle: int = 10
    calm_window_s: float = 0.25
    calm_cpu_fraction: float = 0.05
    thaw_interval_s: float = 300.0
    overdue_s: float = 1800.0

    def thaw_due(self, *, since_thaw_s: float, busy_fraction: float) -> bool:
        """Whether to unfreeze and run a full collection now.

        `busy_fraction`: CPU used over the last `calm_window_s`, as a share of a core.
        """
        if since_thaw_s < self.thaw_interval_s:
            return False
        return since_thaw_s >= self.overdue_s or busy_fraction <= self.calm_cpu_fraction


class CpuWindow:
    """CPU seconds this process used over the last `window_s` of wall time."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.samples: deque[tuple[float, float]] = deque()

    def add(self, wall: float, cpu: float) -> None:
        self.samples.append((wall, cpu))
        while len(self.samples) > 2 and wall - self.samples[1][0] >= self.window_s:
            self.samples.popleft()

    def busy_fraction(self) -> float:
        """Share of one core used over the window; 1.0 until the window is full."""
        if len(self.samples) < 2:
            return 1.0
        (wall0, cpu0), (wall1, cpu1) = self.samples[0], self.samples[-1]
        if wall1 - wall0 < self.window_s:
            return 1.0
        return (cpu1 - cpu0) / (wall1 - wall0)


def observe_pauses() -> None:
    """Record every collection's pause in GC_PAUSE (by generation): the numbers that
    tell an operator whether the collector is what their players feel."""
    started: list[float] = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            GC_PAUSE.labels(str(info["generation"])).observe(time.perf_counter() - started[0])

    if callback not in gc.callbacks:
        gc.callbacks.append(callback)


class ScheduledCollections:
    """The loop that freezes survivors and thaws rarely (see the module doc)."""

    TICK_S = 0.05

    def __init__(self, policy: CollectionPolicy) -> None:
        self.policy = policy
        self.cpu = CpuWindow(policy.calm_window_s)
        self.last_thaw = time.monotonic()
        self.middle_collections = gc.get_count()[2]
        self.freezes = 0
        self.thaws = 0

    def take_over(self) -> None:
        """Freeze what start-up built and stop CPython's own full collections."""
        gc.collect()
        gc.freeze()
        gc.set_threshold(self.policy.young, self.policy.middle, NEVER)
        self.last_thaw = time.monotonic()
        self.middle_collections = gc.get_count()[2]
        log.debug("garbage collector: %d start-up objects frozen", gc.get_freeze_count())

    def step(self, wall: float, cpu: float) -> str | None:
        """One tick: "thaw" or "freeze" when it did one, else None."""
        self.cpu.add(wall, cpu)
        if self.policy.thaw_due(
            since_thaw_s=wall - self.last_thaw, busy_fraction=self.cpu.busy_fraction()
        ):
            gc.unfreeze()
            gc.collect(2)
            gc.freeze()
            self.last_thaw = wall
            self.middle_collections = gc.get_count()[2]
            self.thaws += 1
            return "thaw"
        # The oldest generation's count is the number of middle collections since
        # the last full one: it grew, so survivors were promoted into it.
        if gc.get_count()[2] != self.middle_collections:
            gc.collect(1)  # the young generations, a few milliseconds: then they are empty
            gc.freeze()
            self.middle_collections = gc.get_count()[2]
            self.freezes += 1
            return "freeze"
        return None

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.TICK_S)
            self.step(time.monotonic(), time.process_time())


def scheduled_collections(
    policy: CollectionPolicy,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """An aiohttp cleanup context for the process that serves (not for test apps, which
    share their process): take the collector over at start-up, run the loop, and hand
    the collector back to CPython at shutdown."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        observe_pauses()
        collections = ScheduledCollections(policy)
        old = gc.get_threshold()
        collections.take_over()
        task = asyncio.create_task(collections.run(), name="scheduled-gc")
        yield
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        gc.set_threshold(*old)
        gc.unfreeze()

    return context
