"""The method table: jsonrpcserver through its public API, and every import declared.

The dispatcher's use of the table (concurrency, error mapping, no leaked internals) is in
tests/test_dispatcher.py; this file holds what the table promises on its own.
"""

from __future__ import annotations

import ast
import sys
import tomllib
import warnings
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import pytest

from mcp_transport.errors import MethodNotFound
from mcp_transport.methods import MethodTable

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import jsonrpcserver

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mcp_transport"

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _table() -> MethodTable:
    async def echo(context: Any, params: dict[str, Any]) -> dict[str, Any]:
        return {"context": context, "params": params}

    async def broken(context: Any, params: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("secret internal detail")

    table = MethodTable()
    table.add("echo", echo)
    table.add("broken", broken)
    return table


async def test_call_returns_the_handlers_result() -> None:
    table = _table()
    assert await table.call("ctx", "echo", {"a": 1}) == {"context": "ctx", "params": {"a": 1}}
    assert await table.call("ctx", "echo", None) == {"context": "ctx", "params": {}}


async def test_a_handlers_exception_leaves_the_table_untouched() -> None:
    # The dispatcher maps it to a JSON-RPC error; the table must not turn it into one first.
    with pytest.raises(KeyError, match="secret internal detail"):
        await _table().call(None, "broken", {})


async def test_an_unknown_method_is_method_not_found() -> None:
    with pytest.raises(MethodNotFound, match="Method not found: nope"):
        await _table().call(None, "nope", {})


async def test_the_table_is_a_jsonrpcserver_method_table() -> None:
    """Its entries are jsonrpcserver methods: the library's own public dispatcher runs them."""
    answer = await jsonrpcserver.async_dispatch_to_serializable(
        '{"jsonrpc": "2.0", "method": "echo", "params": [{"a": 1}], "id": 7}',
        _table().methods,
        context="ctx",
    )
    assert answer == {"jsonrpc": "2.0", "result": {"context": "ctx", "params": {"a": 1}}, "id": 7}


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module, names, line) of every absolute import in a file; relative ones are ours."""
    found: list[tuple[str, list[str], int]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, [alias.name for alias in node.names], node.lineno))
    return found


def _declared_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    # The library's own extras (redis, auth) count; dev and bench are for this repository.
    extras = project["optional-dependencies"]
    requirements += [r for name, reqs in extras.items() if name not in ("dev", "bench") for r in reqs]
    names = {r.split(";")[0].split("[")[0].split("=")[0].split(">")[0].split("<")[0] for r in requirements}
    # The project's own distribution (mcp_transport and conformance ship in it) is not a dependency.
    return {name.strip().lower().replace("_", "-") for name in names} | {project["name"]}


def test_the_package_imports_only_what_pyproject_declares() -> None:
    """No undeclared transitive import (oslash came with jsonrpcserver and was used directly)."""
    declared = _declared_distributions()
    distributions = packages_distributions()
    undeclared = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for module, _names, line in _imports(path):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top == "mcp_transport":
                continue
            owners = {d.lower().replace("_", "-") for d in distributions.get(top, [top])}
            if not owners & declared:
                undeclared.append(f"{path.relative_to(ROOT)}:{line}: {module} ({', '.join(sorted(owners))})")
    assert not undeclared, "declare these in pyproject.toml:\n" + "\n".join(undeclared)


def test_jsonrpcserver_is_used_through_its_exported_names_only() -> None:
    private = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for module, names, line in _imports(path):
            if module.split(".")[0] != "jsonrpcserver":
                continue
            if module != "jsonrpcserver" or not set(names) <= set(jsonrpcserver.__all__):
                private.append(f"{path.relative_to(ROOT)}:{line}: {module} {names}")
        text = path.read_text()
        private += [f"{path.relative_to(ROOT)}: {a}" for a in ("._value", "._error") if a in text]
    assert not private, "\n".join(private)
