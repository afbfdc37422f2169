"""Interop: the official MCP Python SDK client (``mcp`` 2.3.0) in its modern mode
(``server/discover`` probe, 2026-07-28 per-request envelope, SEP-2243 headers, MRTR,
``subscriptions/listen``) and in its legacy mode, against ``servers.everything`` on one
endpoint over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest
from mcp import Client, types

from servers.everything import server as everything

pytestmark = pytest.mark.anyio


async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"name": "Ada"})


async def roots(context: Any) -> types.ListRootsResult:
    return types.ListRootsResult(roots=[types.Root(uri="file:///work", name="work")])  # type: ignore[arg-type]  # the SDK's Root takes a URL string at run time


async def test_official_client_modern_mode(http_server: Callable[..., str]) -> None:
    url = http_server(everything)
    reported: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reported.append(progress)

    async with Client(url, mode="auto", elicitation_callback=elicit, list_roots_callback=roots) as client:
        assert client.session.protocol_version == "2026-07-28"
        tools = await client.list_tools()
        assert "test_x_mcp_header" in {t.name for t in tools.tools}
        echoed = await client.call_tool("echo", {"text": "hello"})
        assert echoed.content[0].text == "hello"  # type: ignore[union-attr]  # the SDK types content as a union; this one is text
        region = await client.call_tool("test_x_mcp_header", {"region": "Zürich"})  # Mcp-Param-Region, Base64
        assert region.content[0].text == "region: Zürich"  # type: ignore[union-attr]  # the SDK types content as a union; this one is text
        await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
        greeted = await client.call_tool(
            "test_input_required_result_elicitation", {}
        )  # MRTR, resolved by the SDK
        assert greeted.content[0].text == "Hello, Ada!"  # type: ignore[union-attr]  # the SDK types content as a union; this one is text
        listed = await client.call_tool("test_input_required_result_list_roots", {})
        assert "file:///work" in listed.content[0].text  # type: ignore[union-attr]  # the SDK types content as a union; this one is text
        async with client.listen(tools_list_changed=True) as subscription:
            await client.call_tool("test_trigger_tool_change", {})
            with anyio.fail_after(5):
                async for _event in subscription:
                    break
            await client.call_tool(
                "test_trigger_tool_change", {}
            )  # and back: the module-level server is shared
    assert reported == [0, 50, 100]


async def test_official_client_legacy_mode_on_the_same_endpoint(http_server: Callable[..., str]) -> None:
    url = http_server(everything)
    async with Client(url, mode="legacy", elicitation_callback=elicit) as client:
        greeted = await client.call_tool(
            "test_input_required_result_elicitation", {}
        )  # a real elicitation/create
        assert greeted.content[0].text == "Hello, Ada!"  # type: ignore[union-attr]  # the SDK types content as a union; this one is text
