"""The client-scenario flow for mcp_transport's own Client, and an example for writing one for
any other client: connect, tools/list, call ``conformance_tool`` with ``{}``, close, exit 0.

    mcp-transport conformance client "python -m conformance.example_client"
"""

from __future__ import annotations

import sys

import anyio

from mcp_transport import Client

__all__ = ["flow", "main"]

DEADLINE = 20.0


async def flow(url: str) -> None:
    with anyio.fail_after(DEADLINE):
        async with Client(
            url, client_info={"name": "conformance-example-client", "version": "0.1"}, timeout=DEADLINE
        ) as client:
            await client.list_tools()
            await client.call_tool("conformance_tool", {})


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: python -m conformance.example_client URL", file=sys.stderr)
        return 2
    anyio.run(flow, sys.argv[-1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
