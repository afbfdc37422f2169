"""The official MCP Python SDK (``mcp`` 2.3, ``MCPServer``) with the bench tools, over Streamable
HTTP (JSON or SSE responses) or stdio.

    python -m bench.servers.official_sdk --port 8000 --mode json|sse [--session-idle-timeout S]
    python -m bench.servers.official_sdk --stdio

Served the way the SDK serves itself (``run_streamable_http_async``: uvicorn, default options,
access log off as for every server in the bench), with ``max_sessions`` raised so the 10,000
idle-session figure fits.
"""

from __future__ import annotations

import anyio
import uvicorn
from mcp.server.mcpserver import Context, MCPServer

from bench.servers.cli import server_args

server = MCPServer("bench-official", version="1.0.0", log_level="WARNING")


@server.tool()
async def echo(text: str) -> str:
    """Echo the text back."""
    return text


@server.tool()
async def progress_stream(count: int, ctx: Context) -> str:
    """Send `count` progress notifications, then return."""
    for i in range(count):
        await ctx.report_progress(i + 1, count)
    return f"sent {count}"


def main(argv: list[str] | None = None) -> None:
    parser = server_args(__doc__)
    parser.add_argument("--max-sessions", type=int, default=100_000)
    args = parser.parse_args(argv)
    if args.stdio:
        server.run("stdio")
        return
    app = server.streamable_http_app(
        json_response=args.mode == "json",
        session_idle_timeout=30 * 60 if args.session_idle_timeout is None else args.session_idle_timeout,
        max_sessions=args.max_sessions,
        host=args.host,
    )
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    anyio.run(uvicorn.Server(config).serve)


if __name__ == "__main__":
    main()
