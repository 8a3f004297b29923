"""Scheduled full garbage collections (classquiz/gc_policy.py): the rule, the CPU window,
and the collector really taken over and handed back."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from classquiz.gc_policy import (
    NEVER,
    CollectionPolicy,
    CpuWindow,
    ScheduledCollections,
    scheduled_collections,
)

POLICY = CollectionPolicy(
    young=5_000,
    middle=10,
    calm_window_s=0.25,
    calm_cpu_fraction=0.05,
    min_interval_s=10,
    overdue_s=120,
)


@pytest.mark.parametrize(
    ("since_last_s", "promoted", "busy", "expected"),
    [
        (30, True, 0.01, True),  # calm, and something reached the oldest generation
        (30, True, 0.60, False),  # busy: wait
        (30, False, 0.01, False),  # nothing new to find
        (5, True, 0.00, False),  # too soon after the last one
        (121, True, 1.00, True),  # overdue: even while busy
        (121, False, 1.00, False),  # overdue but nothing promoted
    ],
)
def test_the_rule(since_last_s: float, promoted: bool, busy: float, expected: bool) -> None:
    assert POLICY.due(since_last_s=since_last_s, promoted=promoted, busy_fraction=busy) is expected


def test_cpu_window_measures_the_last_window_only() -> None:
    window = CpuWindow(0.25)
    assert window.busy_fraction() == 1.0  # no evidence of calm yet
    window.add(0.0, 0.0)
    window.add(0.1, 0.1)
    assert window.busy_fraction() == 1.0  # the window is not full yet
    window.add(0.3, 0.3)  # a busy stretch: one core for 0.3 s
    assert window.busy_fraction() == pytest.approx(1.0)
    for i in range(1, 7):  # then idle for 0.3 s
        window.add(0.3 + i * 0.05, 0.3)
    assert window.busy_fraction() < 0.05


@pytest.fixture
def collector_state() -> Iterator[None]:
    old = gc.get_threshold()
    yield
    gc.set_threshold(*old)
    gc.unfreeze()


def test_take_over_freezes_start_up_and_stops_cpython_full_collections(
    collector_state: None,
) -> None:
    collections = ScheduledCollections(POLICY)
    collections.take_over()
    assert gc.get_freeze_count() > 1000  # this test process's modules and objects
    assert gc.get_threshold() == (POLICY.young, POLICY.middle, NEVER)


def test_step_collects_when_calm_and_due_only(collector_state: None) -> None:
    collections = ScheduledCollections(POLICY)
    collections.take_over()
    collections.last_full = 0.0
    # Promote something into the oldest generation: a young and a middle collection.
    gc.collect(1)
    junk = [[i] for i in range(50_000)]
    gc.collect(1)
    del junk
    assert gc.get_count()[2] > 0
    # Busy: one core for the whole window.
    for i in range(8):
        assert not collections.step(20.0 + i * 0.05, i * 0.05)
    # Calm: no CPU for the window.
    stepped = [collections.step(20.4 + i * 0.05, 0.35) for i in range(8)]
    assert stepped.count(True) == 1  # once, then min_interval_s holds it back
    assert collections.full_collections == 1
    assert gc.get_count()[2] == 0  # the full collection reset the oldest generation's count


async def test_the_cleanup_context_takes_over_and_hands_back(collector_state: None) -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    before = gc.get_threshold()
    app = web.Application()
    app.cleanup_ctx.append(scheduled_collections(POLICY))
    server = TestServer(app)
    await server.start_server()
    try:
        assert gc.get_threshold() == (POLICY.young, POLICY.middle, NEVER)
        assert gc.get_freeze_count() > 0
    finally:
        await server.close()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
