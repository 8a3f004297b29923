"""When the cyclic garbage collector may stop the world: between bursts, not inside them.

A server process holding 2,000 players keeps about half a million objects that the
collector tracks (each connection's Engine.IO session, queues, timers, tasks and
their coroutines). CPython's automatic full (generation 2) collection walks all
of them and stops the event loop for 150-300 ms on this machine, and it fires when
allocation counts say so: measured in bench/ runs, just as a question's broadcast
was being queued, which put that question's broadcast p99 at 300-600 ms instead of
about 70. Young collections stay automatic (they are short); full collections run
here instead, at a moment the process is calm, and at the latest after
`overdue_s` so that reference cycles (rare in this code, but possible in the
libraries) cannot pile up without bound.

At start-up everything built so far (modules, models, the app) is moved out of the
collector's sight with `gc.freeze()`: it lives as long as the process, and every full
collection would otherwise walk it again.
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
    """The rule for scheduled full collections; the defaults suit a live-game server.

    young: allocations (minus deallocations) between generation-0 collections.
    middle: generation-0 collections between generation-1 collections.
    calm_window_s: how long the process must have been nearly idle...
    calm_cpu_fraction: ...i.e. used at most this share of a core.
    min_interval_s: no full collection sooner than this after the last one.
    overdue_s: a full collection runs after this long, calm or not.
    """

    young: int = 20_000
    middle: int = 10
    calm_window_s: float = 0.25
    calm_cpu_fraction: float = 0.05
    min_interval_s: float = 10.0
    overdue_s: float = 120.0

    def due(self, *, since_last_s: float, promoted: bool, busy_fraction: float) -> bool:
        """Whether to run a full collection now.

        `promoted`: objects reached the oldest generation since the last full
        collection (without that, a full collection finds nothing new).
        `busy_fraction`: CPU used over the last `calm_window_s`, as a share of a core.
        """
        if not promoted or since_last_s < self.min_interval_s:
            return False
        return since_last_s >= self.overdue_s or busy_fraction <= self.calm_cpu_fraction


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
    """The loop that runs full collections when `policy` says so (see the module doc)."""

    TICK_S = 0.05

    def __init__(self, policy: CollectionPolicy) -> None:
        self.policy = policy
        self.cpu = CpuWindow(policy.calm_window_s)
        self.last_full = time.monotonic()
        self.full_collections = 0

    def take_over(self) -> None:
        """Freeze what start-up built and stop CPython's own full collections."""
        gc.collect()
        gc.freeze()
        gc.set_threshold(self.policy.young, self.policy.middle, NEVER)
        self.last_full = time.monotonic()
        log.debug("garbage collector: %d start-up objects frozen", gc.get_freeze_count())

    def step(self, wall: float, cpu: float) -> bool:
        """One tick: sample the CPU, collect if due; True if it collected."""
        self.cpu.add(wall, cpu)
        promoted = gc.get_count()[2] > 0
        if not self.policy.due(
            since_last_s=wall - self.last_full,
            promoted=promoted,
            busy_fraction=self.cpu.busy_fraction(),
        ):
            return False
        gc.collect(2)
        self.last_full = wall
        self.full_collections += 1
        return True

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
