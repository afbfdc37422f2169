"""The example server: every feature mcp_transport offers, and the fixtures the official
conformance suite expects. Run it:

    python -m servers.everything --stdio
    python -m servers.everything --port 8000     # http://127.0.0.1:8000/mcp
"""

from __future__ import annotations

import argparse

import anyio

from mcp_transport.server import Context, MCPServer

server = MCPServer("everything", "1.0.0", instructions="A server exercising every MCP feature.")


@server.tool()
async def echo(text: str) -> str:
    """Echo the text back."""
    return text


@server.tool()
async def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


@server.tool()
async def sleep(seconds: float, ctx: Context) -> str:
    """Sleep for a while, reporting progress every 10 ms; cancellable."""
    steps = max(1, int(seconds / 0.01))
    for i in range(steps):
        await anyio.sleep(seconds / steps)
        await ctx.report_progress(i + 1, steps)
    return f"slept {seconds} s"


@server.tool()
async def progress_stream(count: int, ctx: Context) -> str:
    """Send `count` progress notifications, then return."""
    for i in range(count):
        await ctx.report_progress(i + 1, count)
    return f"sent {count}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdio", action="store_true", help="serve on stdin/stdout")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if args.stdio:
        server.run_stdio()
    else:
        from mcp_transport.transports.http_server import run_http

        run_http(server, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
