"""The layer rules of docs/architecture.md, checked on the import graph of the package.

Every ``import`` and ``from ... import`` counts, wherever it stands: at module level, under
``if TYPE_CHECKING:``, inside a function. An edge goes to the module named: ``from x import
y`` is an edge to ``x.y`` when that is a module, else to ``x``. The implicit import of a
parent package (Python runs ``mcp_transport/__init__.py`` before any submodule) is not an
edge: the top-level ``__init__`` assembles every layer, and every module would otherwise
form a cycle with it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "mcp_transport"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {module_name(p): p for p in (ROOT / PACKAGE).rglob("*.py")}


def is_package(name: str) -> bool:
    return name in MODULES and MODULES[name].name == "__init__.py"


def resolve(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if not is_package(importer):
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def targets(importer: str, tree: ast.AST) -> set[str]:
    """The package modules ``importer`` imports."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = resolve(importer, node)
            for alias in node.names:
                found.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in MODULES else module)
    return {name for name in found if name in MODULES and name != importer}


GRAPH: dict[str, set[str]] = {
    name: targets(name, ast.parse(path.read_text(), str(path))) for name, path in MODULES.items()
}


# The layers below the applications, and the applications that assemble them: the CLI, the
# gateway (an MCPServer built on Clients) and the public test client (docs/architecture.md).
LAYERS = ("transports", "state", "server", "client", "auth")
APPLICATIONS = ("cli", "__main__", "testing", "gateway")


def layer(name: str) -> str | None:
    parts = name.split(".")
    if len(parts) < 2:
        return None
    if parts[1] in APPLICATIONS:
        return "application"
    return parts[1] if parts[1] in LAYERS else None


def forbidden(importer: str, imported: str) -> bool:
    low, high = layer(importer), layer(imported)
    if high == "application":
        return low != "application"
    if low in ("transports", "state"):
        return high in ("server", "client", "auth")
    return {low, high} == {"server", "client"}


def test_the_graph_sees_every_kind_of_import() -> None:
    # The checker itself: a lazy import inside a function and a TYPE_CHECKING import count.
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ...server.mcpserver import MCPServer\n"
        "def f():\n    from ...client import transport\n"
    )
    found = targets("mcp_transport.transports.http.endpoint", tree)
    assert {"mcp_transport.server.mcpserver", "mcp_transport.client.transport"} <= found


def test_layers() -> None:
    """transports/ and state/ import neither server/ nor client/; server/ and client/ do not
    import each other."""
    violations = sorted(
        f"{importer} imports {imported}"
        for importer, imported_set in GRAPH.items()
        for imported in imported_set
        if forbidden(importer, imported)
    )
    assert not violations, "\n".join(violations)


def find_cycle(nodes: set[str]) -> list[str] | None:
    """A cycle among ``nodes`` (following edges inside ``nodes`` only), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(GRAPH[node] & nodes):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(nodes):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def test_no_import_cycle_anywhere() -> None:
    cycle = find_cycle(set(MODULES))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


CORE = sorted(n for n in MODULES if n.count(".") == 1 and layer(n) is None)


@pytest.mark.parametrize("name", CORE)
def test_the_core_imports_no_layer_above_it(name: str) -> None:
    """The protocol core (jsonrpc, protocol, dispatcher, connection, ...) imports nothing from
    transports/, state/, server/, client/ or the applications; only the top-level
    ``__init__`` (not in CORE: its name has no dot) re-exports them."""
    above = sorted(i for i in GRAPH[name] if layer(i) is not None)
    assert not above, f"{name} imports {above}"
