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
    thaw_interval_s=300,
    overdue_s=1800,
)


@pytest.mark.parametrize(
    ("since_thaw_s", "busy", "expected"),
    [
        (400, 0.01, True),  # calm, and long enough since the last thaw
        (400, 0.60, False),  # busy: wait
        (100, 0.00, False),  # too soon after the last one
        (1801, 1.00, True),  # overdue: even while busy
    ],
)
def test_the_thaw_rule(since_thaw_s: float, busy: float, expected: bool) -> None:
    assert POLICY.thaw_due(since_thaw_s=since_thaw_s, busy_fraction=busy) is expected


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


def test_survivors_are_frozen_and_nothing_reaches_a_full_collection(
    collector_state: None,
) -> None:
    collections = ScheduledCollections(POLICY)
    collections.take_over()
    frozen = gc.get_freeze_count()
    keep = [[i] for i in range(200_000)]  # long-lived objects, as a class's sockets
    for i in range(4):
        collections.step(1.0 + i * 0.05, 0.0)
    assert collections.freezes >= 1
    assert gc.get_freeze_count() >= frozen + 50_000  # out of every collection's sight
    assert len(gc.get_objects(generation=2)) < 1_000  # the oldest generation stays empty
    assert collections.thaws == 0
    del keep


def test_a_calm_process_thaws_after_the_interval_and_reclaims_frozen_cycles(
    collector_state: None,
) -> None:
    collections = ScheduledCollections(POLICY)
    collections.take_over()
    collections.last_thaw = 0.0

    class Node:
        pass

    cycle = [Node() for _ in range(1_000)]
    for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True):
        a.next = b  # type: ignore[attr-defined]
    gc.collect(1)
    gc.freeze()  # frozen while alive...
    del cycle, a, b  # ...then garbage: only a thaw can reclaim it
    assert collections.step(100.0, 0.0) != "thaw"  # too soon
    for i in range(8):  # calm for the window, past the interval
        if collections.step(400.0 + i * 0.05, 1.0) == "thaw":
            break
    assert collections.thaws == 1
    assert not any(isinstance(o, Node) for o in gc.get_objects())


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
