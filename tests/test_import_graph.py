"""No import cycle among the modules of `classquiz/` (issue 12).

A cycle hides the order in which the design is built (the type-only cycle
runtime ↔ search/factory was the symptom), so every import a module names is an
edge, those under `if TYPE_CHECKING:` included; the implicit import of a
module's parent packages is not (Python resolves those without a cycle).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "classquiz"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {
        module_name(path): path for path in PACKAGE.rglob("*.py") if "migrations" not in path.parts
    }


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The classquiz modules that `name` (at `path`) imports by name."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from a import b` names the module a.b when b is one, else a
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        found.update(target for target in targets if target in known and target != name)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path of names, or None (iterative depth-first search)."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    for start in sorted(graph):
        if colour[start] != WHITE:
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        colour[start] = GREY
        while stack:
            node, pending = stack[-1]
            if not pending:
                colour[node] = BLACK
                stack.pop()
                continue
            child = pending.pop()
            if colour[child] == GREY:
                path = [entry for entry, _ in stack]
                return [*path[path.index(child) :], child]
            if colour[child] == WHITE:
                colour[child] = GREY
                stack.append((child, sorted(graph[child])))
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_among_classquiz_modules() -> None:
    known = modules()
    graph = {name: imported(name, path, set(known)) for name, path in known.items()}
    assert sum(map(len, graph.values())) > 100  # the graph was read, not empty
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph) or [])
