"""The package's import graph: no circles, and no import from a lower floor to a higher one.

Every ``import`` of the package counts, at module level or inside a function
(a function-level import is still a dependency; it only runs later).  The
floors, bottom to top, are :data:`FLOORS` (docs/architecture.md draws them).
``KNOWN_UPWARD`` lists the upward imports not yet moved: the test fails on a
new one, and on an entry that is gone (so the list only shrinks).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pytest_tfroundtrip"

# Bottom to top: a module may import its own floor and the floors below.  Keyed by the first part of the
# module path under the package ("" is the package itself).
FLOORS = (
    ("foundation", ("errors", "_lazy", "arguments", "structure")),
    ("inputs", ("inputs",)),
    ("results", ("results",)),
    ("formats", ("formats",)),
    ("isolation", ("isolation",)),
    ("checks", ("checks",)),
    ("generators", ("generators", "strategies")),
    ("named models", ("zoo", "targets")),
    ("entry points", ("", "reload", "cli", "command_line", "plugin", "pytest_integration")),
)

# Empty since issue 31 moved the last one: keep it so (a new upward import is moved down, not listed here).
KNOWN_UPWARD: set[tuple[str, str]] = set()


def module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        names[".".join(parts)] = path
    return names


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules ``name`` imports (relative to the package: ``checks.search``)."""
    package_parts = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package_parts[: len(package_parts) - node.level + 1] + ([node.module] if node.module else [])
                base = "pytest_tfroundtrip." + ".".join(part for part in base_parts if part)
            else:
                base = node.module or ""
            targets = [f"{base}.{alias.name}" if _local(f"{base}.{alias.name}") in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            if target != "pytest_tfroundtrip" and not target.startswith("pytest_tfroundtrip."):
                continue
            local = _local(target)
            while local not in modules:
                local = local.rsplit(".", 1)[0] if "." in local else ""
            if local != name:
                found.add(local)
    return found


def _local(target: str) -> str:
    return target[len("pytest_tfroundtrip"):].lstrip(".")


def graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def floor_of(name: str) -> int:
    first = name.split(".")[0]
    return next(index for index, (_, names) in enumerate(FLOORS) if first in names)


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_floor() -> None:
    unplaced = [name for name in module_names() if not any(name.split(".")[0] in names for _, names in FLOORS)]
    assert not unplaced, f"put these modules on a floor in FLOORS (and docs/architecture.md): {unplaced}"


def test_no_import_circles() -> None:
    assert circles(graph()) == []


def test_no_import_from_a_lower_floor_to_a_higher_one() -> None:
    upward = {(name, target) for name, targets in graph().items() for target in targets
              if floor_of(target) > floor_of(name)}
    assert upward - KNOWN_UPWARD == set(), "new upward imports: move the code down, or the caller up"
    assert KNOWN_UPWARD - upward == set(), "these were moved: take them off KNOWN_UPWARD"


def test_the_checker_finds_a_circle_and_an_upward_import() -> None:
    edges = {"checks.a": {"checks.b"}, "checks.b": {"checks.a"}, "inputs.c": {"checks.a"}}
    assert circles(edges) == [["checks.a", "checks.b"]]
    assert floor_of("inputs.c") < floor_of("checks.a")
