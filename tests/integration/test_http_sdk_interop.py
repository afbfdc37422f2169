"""Interop: the official MCP Python SDK client (``mcp`` 2.3.0, handshake mode) against our
server over real HTTP, in every response mode."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mcp import Client
from servers_for_tests import make_server

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["json", "sse", "auto"])
async def test_official_client_initializes_lists_and_calls_with_progress(
    mode: str, http_server: Callable[..., str]
) -> None:
    url = http_server(make_server(), response_mode=mode)
    reported: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reported.append(progress)

    async with Client(url, mode="legacy") as client:
        tools = await client.list_tools()
        assert {"echo", "ticker", "slow"} <= {t.name for t in tools.tools}
        echoed = await client.call_tool("echo", {"text": "hello"})
        assert echoed.content[0].text == "hello"  # type: ignore[union-attr]  # the SDK types content as a union; this one is text
        result = await client.call_tool("ticker", {"count": 20}, progress_callback=on_progress)
        assert result.content[0].text == "ticked 20"  # type: ignore[union-attr]  # the SDK types content as a union; this one is text
    if mode == "json":
        # A JSON response cannot carry notifications: they travel on the session's GET
        # stream instead, so some may still be in flight when the result arrives.
        assert reported == sorted(reported) and len(reported) <= 20
    else:
        assert reported == [float(i) for i in range(1, 21)]
