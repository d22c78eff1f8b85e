"""Layers import one way: no module of hub/ reaches back into one that imports it, and hub
reaches integrations only by string. Each SDK has one importer.

Imports inside a function count too (they are how a cycle hides); imports under
`if TYPE_CHECKING:` do not for cycles (they never run), but do for SDKs (a type from the
SDK is still a dependency on it). Names that hub loads lazily by string must resolve.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from hub.tasks import DELIVERIES_TASK, EVENT_TASK

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hub", "handlers", "integrations", "infra")  # what ships; bench/ and tests/ do not


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


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_lambda_task_names_resolve_to_functions() -> None:
    for name in (EVENT_TASK, DELIVERIES_TASK):
        module, _, attribute = name.rpartition(".")
        assert callable(getattr(importlib.import_module(module), attribute)), name


def every_import(source: str) -> set[str]:
    """Every module `source` imports, wherever the import sits (functions, TYPE_CHECKING),
    including `importlib.import_module("name")` / `__import__("name")` with a literal name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = ast.unparse(node.func)
            if called in ("importlib.import_module", "import_module", "__import__"):
                found.add(str(node.args[0].value))
    return found


def importers_of(top: str, packages: tuple[str, ...] = PACKAGES) -> set[str]:
    """Modules of `packages` that import `top` or one of its submodules."""
    return {
        module_name(path)
        for package in packages
        for path in (ROOT / package).rglob("*.py")
        if any(name == top or name.startswith(f"{top}.") for name in every_import(path.read_text()))
    }


def test_only_the_bot_api_client_imports_python_telegram_bot() -> None:
    assert importers_of("telegram") == {"integrations.telegram_bot"}


def test_the_import_scan_sees_imports_wherever_they_hide() -> None:
    source = """
if TYPE_CHECKING:
    import telegram.ext
def later():
    from telegram.error import Forbidden
    return importlib.import_module("telegram"), __import__("httpx")
"""
    assert every_import(source) == {"telegram.ext", "telegram.error", "telegram", "httpx"}


def test_hub_reaches_integrations_and_handlers_only_by_string() -> None:
    # The provider registry (hub.providers.REGISTRY), the default handlers and the CLI's
    # tool commands (`hub poll`) are named by string: no module of hub/ imports an
    # integration or a handler, at any depth.
    assert importers_of("integrations", ("hub",)) | importers_of("handlers", ("hub",)) == set()
