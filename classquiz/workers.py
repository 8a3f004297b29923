"""`serve --workers N`: N server processes sharing Redis, on consecutive ports.

Each worker is a plain `serve` process on port P+i with python-socketio's
AsyncRedisManager on, so emits reach sockets held by any worker. Ports are
separate (not SO_REUSEPORT) because Socket.IO long-polling needs every request
of a client to reach the same process: the balancer in front (the Caddyfile's
`lb_policy cookie`) keeps each client on one worker.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from types import FrameType

from classquiz.config import Settings

log = logging.getLogger("classquiz.workers")


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
        }
    )
    return env


def run_workers(settings: Settings, host: str, port: int, count: int) -> int:
    """Start `count` workers and supervise them until a signal or one of them exits."""
    env = worker_env(settings)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "classquiz", "serve", "--host", host, "--port", str(port + i)],
            env=env,
        )
        for i in range(count)
    ]
    log.info(
        "started %d workers on ports %d-%d (put a sticky balancer in front)",
        count,
        port,
        port + count - 1,
    )
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping and all(proc.poll() is None for proc in procs):
            time.sleep(0.5)
    finally:
        stop(signal.SIGTERM, None)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    codes = [proc.returncode or 0 for proc in procs]
    return 0 if stopping else max(codes, default=0) or 1
