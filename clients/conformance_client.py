"""The client under test for the official MCP conformance suite (conformance.md §7).

    MCP_CONFORMANCE_SCENARIO=tools_call python -m clients.conformance_client http://localhost:PORT/mcp

The URL is the last argument, used exactly as given. Exit 0 when the scenario's flow is done,
non-zero on failure or for an unknown scenario. The whole run has its own deadline, shorter
than the suite's default 30 s, so a stuck run ends on its own.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from mcp_transport import Client

DEADLINE_SECONDS = 25.0
CLIENT_INFO = {"name": "mcp_transport-conformance-client", "version": "0.1.0"}

log = logging.getLogger("conformance_client")


def _era() -> str:
    # Suite 0.2 names the wire its mock speaks; 0.1 does not set it (the handshake).
    return "modern" if os.environ.get("MCP_CONFORMANCE_PROTOCOL_VERSION") == "2026-07-28" else "legacy"


async def initialize(url: str) -> None:
    async with Client(url, era=_era(), client_info=CLIENT_INFO) as client:
        log.info("initialized: %s %s", client.protocol_version, client.server_info)
        await client.list_tools()


async def tools_call(url: str) -> None:
    async with Client(url, era=_era(), client_info=CLIENT_INFO) as client:
        tools = {tool["name"] for tool in await client.list_tools()}
        if "add_numbers" not in tools:
            raise SystemExit(f"the server offers no add_numbers tool: {sorted(tools)}")
        result = await client.call_tool("add_numbers", {"a": 5, "b": 3})
        log.info("add_numbers: %s", result)


async def elicitation_defaults(url: str) -> None:
    async def accept(params: dict[str, Any]) -> dict[str, Any]:
        # Accept with no content of our own: the client fills in the schema defaults.
        return {"action": "accept", "content": {}}

    async with Client(url, era=_era(), client_info=CLIENT_INFO, elicitation_handler=accept) as client:
        await client.list_tools()
        result = await client.call_tool("test_client_elicitation_defaults", {})
        log.info("elicitation result: %s", result)


async def sse_retry(url: str) -> None:
    async with Client(url, era=_era(), client_info=CLIENT_INFO) as client:
        await client.list_tools()
        result = await client.call_tool("test_reconnection", {})
        log.info("reconnection result: %s", result)


SCENARIOS: dict[str, Callable[[str], Awaitable[None]]] = {
    "initialize": initialize,
    "tools_call": tools_call,
    "elicitation-sep1034-client-defaults": elicitation_defaults,
    "sse-retry": sse_retry,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    if not argv:
        print("usage: python -m clients.conformance_client <server-url>", file=sys.stderr)
        return 2
    run = SCENARIOS.get(scenario)
    if run is None:
        print(f"unknown scenario {scenario!r}; known: {', '.join(sorted(SCENARIOS))}", file=sys.stderr)
        return 2

    async def bounded() -> None:
        with anyio.fail_after(DEADLINE_SECONDS):
            await run(argv[-1])

    try:
        anyio.run(bounded)
    except Exception as exc:  # noqa: BLE001 - any failure of the flow is a non-zero exit
        log.error("scenario %s failed: %s: %s", scenario, type(exc).__name__, exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
