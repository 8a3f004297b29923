"""The worker supervisor's rules (pure) and its loop, driven step by step with real processes.

The restart rule is `restart_plan`; the loop (`Supervisor.step`) is run here on a
clock the test moves, with real child processes that exit, linger or ignore SIGTERM.
The whole `serve --workers 2` under a real kill is in test_drill_workers.py.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from classquiz.workers import RestartPolicy, Supervisor, restart_plan
from tests.support.drill import children, pid_exited
from tests.support.processes import SECRET_KEY, free_port_run

POLICY = RestartPolicy(first_delay_s=0.5, max_delay_s=4.0, stable_after_s=60.0, crash_loop_after=4)


def test_quick_exits_double_the_wait_up_to_the_cap() -> None:
    failures, delays, looping = 0, [], []
    for _ in range(6):
        plan = restart_plan(failures, uptime_s=1.0, policy=POLICY)
        failures = plan.failures
        delays.append(plan.delay_s)
        looping.append(plan.crash_looping)
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert looping == [False, False, False, True, True, True]


def test_a_worker_that_stayed_up_starts_a_new_count() -> None:
    plan = restart_plan(previous_failures=9, uptime_s=60.0, policy=POLICY)
    assert (plan.delay_s, plan.failures, plan.crash_looping) == (0.5, 1, False)
    just_short = restart_plan(previous_failures=9, uptime_s=59.9, policy=POLICY)
    assert (just_short.delay_s, just_short.failures, just_short.crash_looping) == (4.0, 10, True)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _python(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


def _settle(supervisor: Supervisor) -> None:
    """Wait (really) until every exited child is reapable, so `step` sees it."""
    for slot in supervisor.slots:
        if slot.proc is not None:
            try:
                slot.proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass


def test_a_dying_worker_is_restarted_with_back_off_and_its_neighbour_keeps_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    spawned: list[int] = []

    def spawn(index: int) -> subprocess.Popen[bytes]:
        spawned.append(index)
        # Worker 0 dies at once, every time; worker 1 keeps serving.
        return _python("import sys; sys.exit(3)" if index == 0 else "import time; time.sleep(60)")

    supervisor = Supervisor(2, spawn, POLICY, clock=clock)
    caplog.set_level(logging.INFO, logger="classquiz.workers")
    supervisor.start()
    neighbour = supervisor.slots[1].proc
    assert neighbour is not None
    try:
        waits = []
        for _ in range(5):
            _settle(supervisor)
            supervisor.step()  # notices the exit, plans the restart
            slot = supervisor.slots[0]
            assert slot.proc is None and slot.restart_at is not None
            wait = slot.restart_at - clock.now
            waits.append(wait)
            clock.now += wait - 0.01
            supervisor.step()
            assert supervisor.slots[0].proc is None, "restarted before its wait was over"
            clock.now += 0.01
            supervisor.step()
            assert supervisor.slots[0].proc is not None, "not restarted after its wait"
        assert waits == [0.5, 1.0, 2.0, 4.0, 4.0]
        assert spawned.count(0) == 6 and spawned.count(1) == 1
        assert supervisor.slots[1].proc is neighbour and neighbour.poll() is None
        assert supervisor.slots[0].restarts == 5
        exits = [r for r in caplog.records if "exited with code 3" in r.getMessage()]
        assert len(exits) == 5
        loops = [r for r in caplog.records if "crash-looping" in r.getMessage()]
        assert [r.levelno for r in loops] == [logging.ERROR, logging.ERROR]
        assert "worker 0 is crash-looping: it exited 4 times in a row" in loops[0].getMessage()
    finally:
        supervisor.signal_all(signal.SIGKILL)
        supervisor.wait_stopped(5)


def test_a_killed_worker_is_named_by_its_signal_and_a_long_run_resets_the_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    supervisor = Supervisor(1, lambda i: _python("import time; time.sleep(60)"), POLICY, clock)
    caplog.set_level(logging.INFO, logger="classquiz.workers")
    supervisor.start()
    try:
        slot = supervisor.slots[0]
        slot.failures = 3  # it had crashed before...
        clock.now += 61  # ...but this run was a healthy one
        assert slot.proc is not None
        slot.proc.send_signal(signal.SIGKILL)
        _settle(supervisor)
        supervisor.step()
        assert slot.failures == 1 and slot.restart_at == clock.now + 0.5
        assert any(
            "exited with signal SIGKILL after 61.0 s" in r.getMessage() for r in caplog.records
        )
    finally:
        supervisor.signal_all(signal.SIGKILL)
        supervisor.wait_stopped(5)


def test_a_stop_reaches_every_worker_and_nothing_is_restarted_after_it() -> None:
    clock = Clock()
    # Worker 0 exits cleanly on SIGTERM; worker 1 ignores it and must be killed.
    codes = {
        0: "import time; time.sleep(60)",
        1: "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)",
    }
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(index: int) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-c", codes[index]], stdout=subprocess.PIPE)
        procs.append(proc)
        return proc

    supervisor = Supervisor(2, spawn, POLICY, clock=clock)
    supervisor.start()
    assert procs[1].stdout is not None and procs[1].stdout.readline() == b"ready\n"
    supervisor.signal_all(signal.SIGTERM)
    assert procs[0].wait(timeout=5) == -signal.SIGTERM
    supervisor.wait_stopped(grace_s=1.0)
    assert procs[1].returncode == -signal.SIGKILL
    clock.now += 100
    supervisor.step()
    assert len(procs) == 2 and not supervisor.running()
    assert procs[1].stdout is not None
    procs[1].stdout.close()


def test_workers_stop_when_their_supervisor_is_killed(
    storage: dict[str, str], tmp_path: Path
) -> None:
    """`serve --workers 2` killed with SIGKILL: its workers (serving, on real storage)
    get SIGTERM from the kernel (the parent-death signal), so none is left holding a port."""
    first = free_port_run(2)
    env = {
        **os.environ,
        "DATABASE_URL": storage["database_url"],
        "REDIS_URL": storage["redis_url"],
        "REDIS_PREFIX": f"{storage['redis_prefix']}orphan",
        "SECRET_KEY": SECRET_KEY,
        "CLASSQUIZ_SKIP_MIGRATE": "1",
    }
    command = [sys.executable, "-m", "classquiz", "serve", "--host", "127.0.0.1"]
    with open(tmp_path / "supervisor.log", "wb") as log:
        supervisor = subprocess.Popen(
            [*command, "--port", str(first), "--workers", "2"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    workers: list[int] = []
    try:
        for port in (first, first + 1):
            _wait_listening(port, supervisor)
        workers = children(supervisor.pid)
        assert len(workers) == 2, (tmp_path / "supervisor.log").read_text()
        supervisor.kill()
        supervisor.wait(timeout=10)
        for _ in range(600):
            if all(pid_exited(pid) for pid in workers):
                break
            time.sleep(0.05)
        left = [pid for pid in workers if not pid_exited(pid)]
        assert not left, f"workers outlived their supervisor: {left}"
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _wait_listening(port: int, supervisor: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert supervisor.poll() is None, "the supervisor exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"no worker listening on {port}")
