"""Layers import one way: no module of hub/ reaches back into one that imports it.

Imports inside a function count too (they are how a cycle hides); imports under
`if TYPE_CHECKING:` do not (they never run). Names that hub loads lazily by string must
resolve.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from hub.tasks import DELIVERIES_TASK, EVENT_TASK

ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text())
    typing_only = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for sub in ast.walk(node)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        # `from hub import create_app` names the package's re-export, not a layer of its own.
        found |= {name for name in names if name in known and name != "hub"}
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for after in graph[node]:
            if after not in index:
                visit(after)
                low[node] = min(low[node], low[after])
            elif after in stack:
                low[node] = min(low[node], index[after])
        if low[node] == index[node]:
            group = []
            while (top := stack.pop()) != node:
                group.append(top)
            if group:
                groups.append(sorted([node, *group]))

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def test_no_module_of_hub_imports_one_that_imports_it() -> None:
    paths = {module_name(p): p for p in (ROOT / "hub").rglob("*.py")}
    graph = {name: imports_of(path, set(paths)) - {name} for name, path in paths.items()}
    assert cycles(graph) == []


# `hub poll` is a tool that is moving out of hub/ (until then it imports the Telegram module).
NOT_YET_MOVED = {"hub.poll"}


def test_hub_reaches_integrations_and_handlers_only_by_string() -> None:
    # The provider registry (hub.providers.REGISTRY) and the default handlers are named by
    # string: no module of hub/ imports an integration or a handler, at any depth.
    outer = {p.stem for p in (ROOT / "integrations").glob("*.py")} | {
        p.stem for p in (ROOT / "handlers").glob("*.py")
    }
    known = {f"integrations.{name}" for name in outer} | {f"handlers.{name}" for name in outer}
    known |= {"integrations", "handlers"}
    reaching = {
        module_name(path): sorted(found)
        for path in (ROOT / "hub").rglob("*.py")
        if module_name(path) not in NOT_YET_MOVED and (found := imports_of(path, known))
    }
    assert reaching == {}


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_lambda_task_names_resolve_to_functions() -> None:
    for name in (EVENT_TASK, DELIVERIES_TASK):
        module, _, attribute = name.rpartition(".")
        assert callable(getattr(importlib.import_module(module), attribute)), name
