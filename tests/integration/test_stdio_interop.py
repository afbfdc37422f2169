"""stdio interop with the official Python SDK (``mcp``), both directions."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mcp_transport import Client

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]
SDK_SERVER = [sys.executable, str(REPO / "tests" / "interop_servers" / "sdk_server.py"), "--stdio"]


async def test_official_sdk_client_lists_and_calls_our_tools() -> None:
    from mcp import Client as SDKClient
    from mcp.client.stdio import StdioServerParameters

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "servers.everything", "--stdio"], cwd=str(REPO)
    )
    async with SDKClient(params, mode="legacy") as sdk:
        tools = await sdk.list_tools()
        assert {"echo", "add", "sleep"} <= {tool.name for tool in tools.tools}
        result = await sdk.call_tool("add", {"a": 2, "b": 3})
        assert not result.is_error
        assert result.structured_content == {"result": 5}
        echoed = await sdk.call_tool("echo", {"text": "from the SDK"})
        assert echoed.content[0].text == "from the SDK"  # type: ignore[union-attr]  # the SDK types content as a union; this one is text


async def test_our_client_lists_and_calls_tools_on_an_sdk_server() -> None:
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with Client(SDK_SERVER, era="legacy", cwd=str(REPO)) as client:
        assert client.server_info["name"] == "sdk-interop"
        assert {"add", "echo", "countdown"} <= {tool["name"] for tool in await client.list_tools()}
        result = await client.call_tool("add", {"a": 20, "b": 22})
        assert result["content"][0]["text"] == "42"
        await client.call_tool("countdown", {"steps": 3}, on_progress=on_progress)
        assert progress == [1, 2, 3]
        await client.ping()
