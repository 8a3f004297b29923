"""Test-only fault injection: make a process die at a named point, to prove recovery.

Set `CLASSQUIZ_FAULT=<point>` in a server's environment and the process exits
at once (os._exit: no cleanup, no flushing of pending work, like a kill -9)
when it reaches that point. Never set it in production. Points:

- `crash_after_finish`: right after `finish_game.lua` marked a game finished,
  before its results are parked (tests/test_audit_results_crash.py).
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)
FAULT_ENV = "CLASSQUIZ_FAULT"
FAULT_EXIT_CODE = 70


def fault_point(name: str) -> None:
    """Exit the process here if the environment asks for fault `name` (tests only)."""
    if os.environ.get(FAULT_ENV) == name:
        log.critical("%s=%s: exiting now (test-only fault injection)", FAULT_ENV, name)
        os._exit(FAULT_EXIT_CODE)
