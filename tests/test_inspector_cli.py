"""The MCP Inspector's command line (``@modelcontextprotocol/inspector`` from npm, ``--cli``
mode, run with the node 22 its package.json pins) lists and calls tools through the gateway:
``mcp-transport proxy --stdio`` in front of servers.everything."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.interop_servers import REPO, ServerProcess, free_port

INSPECTOR = REPO / "tests" / "inspector" / "node_modules"


def inspector(url: str, *args: str) -> Any:
    if not (INSPECTOR / ".stamp").exists():
        # make test installs it (tests/inspector/package-lock.json); a skip would hide a broken install
        pytest.fail(
            "the MCP Inspector is missing: `make -o .venv/.installed tests/inspector/node_modules/.stamp`"
        )
    launcher = (
        INSPECTOR / "@modelcontextprotocol" / "inspector" / "clients" / "launcher" / "build" / "index.js"
    )
    command = [str(INSPECTOR / ".bin" / "node"), str(launcher), "--cli", url, "--transport", "http", *args]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=90, cwd=REPO / "tests" / "inspector"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    port = free_port()
    command = f"{sys.executable} -m servers.everything --stdio"
    process = ServerProcess(
        [sys.executable, "-m", "mcp_transport", "proxy", "--stdio", command, "--port", str(port)], port
    ).start()
    try:
        yield process.url
    finally:
        process.stop()


def test_inspector_lists_and_calls_tools_through_the_gateway(gateway: str) -> None:
    listed = inspector(gateway, "--method", "tools/list")
    names = {tool["name"] for tool in listed["tools"]}
    assert {"add", "echo", "test_tool_with_progress"} <= names
    called = inspector(
        gateway, "--method", "tools/call", "--tool-name", "add", "--tool-arg", "a=1", "--tool-arg", "b=2"
    )
    assert called["structuredContent"] == {"result": 3}
    echoed = inspector(gateway, "--method", "tools/call", "--tool-name", "echo", "--tool-arg", "text=hi")
    assert echoed["content"] == [{"type": "text", "text": "hi"}]
