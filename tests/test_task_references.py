"""Fire-and-forget work keeps a reference (issue 12).

asyncio keeps only a weak reference to a running task: a task whose handle
nobody holds may be garbage-collected before it finishes, and its failure is
never logged. Every background coroutine therefore goes through a `KeptTasks`
(classquiz/services/tasks.py). This test reads the package's source and fails
on a task started and dropped on the spot: `create_task(...)` or
`ensure_future(...)` as a bare statement, or as the whole body of a lambda
(whose result a `call_later` discards).
"""

from __future__ import annotations

import ast
from pathlib import Path

import classquiz

PACKAGE = Path(classquiz.__file__).parent
STARTERS = {"create_task", "ensure_future"}


def _starts_a_task(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name in STARTERS


def dropped_tasks(source: str) -> list[int]:
    """Lines where a task is started and its handle thrown away."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Expr) and _starts_a_task(node.value):
            lines.append(node.lineno)
        elif isinstance(node, ast.Lambda) and _starts_a_task(node.body):
            lines.append(node.lineno)
    return lines


def test_the_check_finds_a_dropped_task() -> None:
    assert dropped_tasks("import asyncio\nasyncio.get_running_loop().create_task(work())\n") == [2]
    assert dropped_tasks("loop.call_later(1, lambda: asyncio.ensure_future(work()))\n") == [1]
    assert dropped_tasks("task = asyncio.create_task(work())\ntasks.spawn(work())\n") == []


def test_no_module_drops_a_task() -> None:
    found = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := dropped_tasks(path.read_text(encoding="utf-8")))
    }
    assert found == {}, f"tasks started without keeping a reference: {found}"
