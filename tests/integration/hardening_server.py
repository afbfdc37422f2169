"""A server with hostile-input and failing-callback tools for the hardening tests, served over
HTTP in-process (``make_hardening_server()``) or over stdio as a real subprocess:

    python tests/integration/hardening_server.py [--max-concurrent N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import anyio

if __name__ == "__main__":  # run as a script: import this checkout's package
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mcp_transport.jsonrpc import Notification
from mcp_transport.server import Context, MCPServer

# Calls of the `count` tool (HTTP tests read it in-process: a refused batch ran nothing).
CALLS: list[str] = []


def make_hardening_server() -> MCPServer:
    server = MCPServer("hardening", "1.0.0")

    @server.on_notification("notifications/roots/list_changed")
    async def roots_changed(connection: Any, params: dict[str, Any]) -> None:
        raise RuntimeError("a user notification handler that fails")

    @server.tool()
    async def slow(seconds: float) -> str:
        """Sleep, then answer."""
        await anyio.sleep(seconds)
        return f"slept {seconds}"

    @server.tool()
    async def count(tag: str) -> str:
        """Record one call."""
        CALLS.append(tag)
        return tag

    @server.tool()
    async def chatty(ctx: Context, seconds: float = 1.0) -> str:
        """Report progress every 20 ms for ``seconds``."""
        steps = int(seconds / 0.02)
        for i in range(steps):
            await ctx.report_progress(i + 1, steps)
            await anyio.sleep(0.02)
        return "chatted"

    @server.tool()
    async def stubborn(ctx: Context, seconds: float = 0.5) -> str:
        """Ignore cancellation for ``seconds``, then send a related and an unrelated
        notification (a handler that outlives its session)."""
        with anyio.CancelScope(shield=True):
            await anyio.sleep(seconds)
        await ctx.log("info", "still here")  # related to its request
        send_unrelated = ctx.request_context.connection.send_unrelated
        assert send_unrelated is not None
        await send_unrelated(Notification("notifications/message", {"level": "info", "data": "unrelated"}))
        return "done"

    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-concurrent", type=int, default=None)
    args = parser.parse_args()
    server = make_hardening_server()
    if args.max_concurrent is None:
        server.run_stdio()
    else:
        server.run_stdio(max_concurrent_requests=args.max_concurrent)


if __name__ == "__main__":
    main()
