"""A small MCP server written with the official Python SDK (``mcp``), for interop tests.

    python tests/interop_servers/sdk_server.py --stdio
    python tests/interop_servers/sdk_server.py --port 8123 [--json] [--stateless]
"""

from __future__ import annotations

import argparse

import anyio
from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("sdk-interop", version="1.0.0")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Echo the text back."""
    return text


@server.tool()
async def countdown(steps: int, ctx: Context) -> str:
    """Report `steps` progress notifications, then return."""
    for i in range(steps):
        await ctx.report_progress(i + 1, steps)
        await anyio.sleep(0.01)
    return f"counted {steps}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stdio", action="store_true")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--json", action="store_true", help="answer POSTs with JSON, not SSE")
    parser.add_argument("--stateless", action="store_true")
    args = parser.parse_args()
    if args.stdio:
        server.run()
    else:
        server.run(
            "streamable-http", host="127.0.0.1", port=args.port, json_response=args.json, stateless_http=args.stateless
        )


if __name__ == "__main__":
    main()
