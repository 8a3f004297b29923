"""`serve --workers N`: N server processes sharing Redis, on consecutive ports, kept alive.

Each worker is a plain `serve` process on port P+i with python-socketio's
AsyncRedisManager on, so emits reach sockets held by any worker. Ports are
separate (not SO_REUSEPORT) because Socket.IO long-polling needs every request
of a client to reach the same process: the balancer in front (the Caddyfile's
`lb_policy cookie`) keeps each client on one worker.

Why a supervisor: a class must not stop because one process died. Every game's
live state is in Redis and every deadline is fired by whichever process holds
the lease, so the surviving workers carry on and the dead one's players
reconnect through the balancer. The supervisor's part is to bring the dead
worker back, without hammering a machine where it cannot start: restarts wait
longer after each quick exit (the rule is `restart_plan`, a pure function) and a
worker that keeps dying is logged as crash-looping. SIGTERM and SIGINT are
passed on to every worker, which then drains (closes its sockets so clients
move to another worker, finishes its writes) and exits; the supervisor exits
once they all have.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from classquiz.config import Settings

log = logging.getLogger("classquiz.workers")

POLL_S = 0.2
# A worker asked to stop drains within 10 s (docs/operations.md); after this it is killed.
STOP_GRACE_S = 15.0
PR_SET_PDEATHSIG = 1
# Set in a worker's environment: the supervisor it must not outlive.
SUPERVISOR_PID_ENV = "CLASSQUIZ_SUPERVISOR_PID"


@dataclass(frozen=True)
class RestartPolicy:
    """How long to wait before restarting a worker that exited.

    The first restart after a worker that ran well is quick (`first_delay_s`); each
    further exit within `stable_after_s` of its start doubles the wait, up to
    `max_delay_s`; `crash_loop_after` quick exits in a row are logged as a crash loop.
    """

    first_delay_s: float = 0.5
    max_delay_s: float = 30.0
    stable_after_s: float = 60.0
    crash_loop_after: int = 5


@dataclass(frozen=True)
class RestartPlan:
    """What to do about one exit: wait `delay_s`, counting it as the `failures`-th
    quick exit in a row; `crash_looping` once that count reaches the policy's limit."""

    delay_s: float
    failures: int
    crash_looping: bool


def restart_plan(previous_failures: int, uptime_s: float, policy: RestartPolicy) -> RestartPlan:
    """The restart after a worker that ran `uptime_s`, after `previous_failures` quick exits.

    A worker that stayed up `stable_after_s` was healthy: its exit starts a new count
    (a crash a day is not a loop). Otherwise the count goes on and the wait doubles.
    """
    failures = 1 if uptime_s >= policy.stable_after_s else previous_failures + 1
    delay = min(policy.first_delay_s * 2 ** (failures - 1), policy.max_delay_s)
    return RestartPlan(delay, failures, failures >= policy.crash_loop_after)


def worker_env(settings: Settings) -> dict[str, str]:
    """The resolved settings every worker must share (storage, secret, cross-process emits)."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": settings.require_database_url(),
            "REDIS_URL": settings.require_redis_url(),
            "SECRET_KEY": settings.secret_key,
            "REDIS_PREFIX": settings.redis_prefix,
            "SOCKETIO_REDIS_MANAGER": "true",
            "CLASSQUIZ_SKIP_MIGRATE": "1",
            SUPERVISOR_PID_ENV: str(os.getpid()),
        }
    )
    return env


Spawn = Callable[[int], "subprocess.Popen[bytes]"]


@dataclass
class WorkerSlot:
    """One worker position (its port), the process filling it and its restart history."""

    index: int
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    restarts: int = 0


class Supervisor:
    """Keeps `count` workers running; `step` is one look at them, which `run_workers`
    repeats until a signal.

    `spawn(i)` starts worker i. The steps are apart from the signal handling and
    the clock is injected, so that tests drive the loop step by step with real
    child processes.
    """

    def __init__(
        self,
        count: int,
        spawn: Spawn,
        policy: RestartPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.slots = [WorkerSlot(i) for i in range(count)]
        self.spawn = spawn
        self.policy = policy or RestartPolicy()
        self.clock = clock
        self.stopping = False

    def start(self) -> None:
        for slot in self.slots:
            self._start(slot)

    def _start(self, slot: WorkerSlot) -> None:
        slot.proc = self.spawn(slot.index)
        slot.started_at = self.clock()
        slot.restart_at = None
        log.info("worker %d started (pid %d)", slot.index, slot.proc.pid)

    def step(self) -> None:
        """Notice workers that exited and start those whose wait is over."""
        now = self.clock()
        for slot in self.slots:
            if slot.proc is not None and slot.proc.poll() is not None:
                self._exited(slot, now)
            if not self.stopping and slot.proc is None and slot.restart_at is not None:
                if now >= slot.restart_at:
                    slot.restarts += 1
                    self._start(slot)

    def _exited(self, slot: WorkerSlot, now: float) -> None:
        assert slot.proc is not None
        code, pid, uptime = slot.proc.returncode, slot.proc.pid, now - slot.started_at
        slot.proc = None
        if self.stopping:
            return
        plan = restart_plan(slot.failures, uptime, self.policy)
        slot.failures = plan.failures
        slot.restart_at = now + plan.delay_s
        log.warning(
            "worker %d (pid %d) exited with %s after %.1f s; restarting it in %.1f s",
            slot.index,
            pid,
            _describe_exit(code),
            uptime,
            plan.delay_s,
        )
        if plan.crash_looping:
            log.error(
                "worker %d is crash-looping: it exited %d times in a row within %.0f s of "
                "starting; still retrying, every %.0f s at most; read its log above",
                slot.index,
                plan.failures,
                self.policy.stable_after_s,
                self.policy.max_delay_s,
            )

    def signal_all(self, signum: int) -> None:
        """Stop restarting and pass `signum` on to every running worker."""
        self.stopping = True
        for slot in self.slots:
            if slot.proc is not None and slot.proc.poll() is None:
                slot.proc.send_signal(signum)

    def running(self) -> bool:
        return any(slot.proc is not None and slot.proc.poll() is None for slot in self.slots)

    def wait_stopped(self, grace_s: float) -> None:
        """Wait for every worker to exit; kill the ones still there after `grace_s`."""
        deadline = self.clock() + grace_s
        for slot in self.slots:
            if slot.proc is None:
                continue
            try:
                slot.proc.wait(timeout=max(deadline - self.clock(), 0.01))
            except subprocess.TimeoutExpired:
                log.error("worker %d did not stop within %.0f s; killing it", slot.index, grace_s)
                slot.proc.kill()
                slot.proc.wait()


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


def follow_supervisor() -> bool:
    """In a worker, first thing: ask Linux for SIGTERM when the supervisor dies, even
    by SIGKILL. False when the supervisor is already gone (the worker should not start).

    The workers run in their own process group, so without this a worker would
    outlive a killed supervisor and keep its port, and the next `serve --workers`
    could not bind. The worker asks for it itself (prctl), rather than the
    supervisor in a `preexec_fn` between fork and exec, which is unsafe in a
    process with threads (the supervisor has one announcing readiness). Linux only;
    elsewhere the workers simply stay until stopped.
    """
    expected = os.environ.get(SUPERVISOR_PID_ENV)
    if not expected:
        return True
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return True
    # The supervisor may have died before the request above: then nobody will signal.
    return os.getppid() == int(expected)


def run_workers(settings: Settings, host: str, port: int, count: int) -> int:
    """Start `count` workers and keep them running until SIGTERM or SIGINT."""
    env = worker_env(settings)

    def spawn(index: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "classquiz",
                "serve",
                "--host",
                host,
                "--port",
                str(port + index),
            ],
            env=env,
            # Its own process group: a Ctrl-C at the terminal reaches the supervisor
            # only, which passes it on once (a second SIGINT would cut a worker's drain).
            process_group=0,
        )

    supervisor = Supervisor(count, spawn)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if not supervisor.stopping:
            log.info("%s received: stopping the workers", signal.Signals(signum).name)
            supervisor.signal_all(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    supervisor.start()
    log.info(
        "started %d workers on ports %d-%d (put a sticky balancer in front)",
        count,
        port,
        port + count - 1,
    )
    try:
        while not supervisor.stopping:
            supervisor.step()
            time.sleep(POLL_S)
    finally:
        if not supervisor.stopping:  # an error in the loop itself: still stop them all
            supervisor.signal_all(signal.SIGTERM)
        supervisor.wait_stopped(STOP_GRACE_S)
    return 0
