"""fastmcp (``fastmcp`` 4.2, PyPI; the ``bench`` extra) with the bench tools, over Streamable HTTP
(JSON or SSE answers) or stdio.

    python -m bench.servers.fastmcp_server --port 8000 --mode json|sse [--session-idle-timeout S]
    python -m bench.servers.fastmcp_server --stdio

Served the way fastmcp serves itself (``FastMCP.http_app`` on uvicorn, default options, access log
off as for every server in the bench), with its own limits left as they are.
"""

from __future__ import annotations

import uvicorn
from fastmcp import Context, FastMCP

from bench.servers.cli import server_args

server = FastMCP("bench-fastmcp", version="1.0.0")


@server.tool
async def echo(text: str) -> str:
    """Echo the text back."""
    return text


@server.tool
async def progress_stream(count: int, ctx: Context) -> str:
    """Send `count` progress notifications, then return."""
    for i in range(count):
        await ctx.report_progress(i + 1, count)
    return f"sent {count}"


def main(argv: list[str] | None = None) -> None:
    args = server_args(__doc__).parse_args(argv)
    if args.stdio:
        server.run("stdio", show_banner=False)
        return
    app = server.http_app(
        path="/mcp", json_response=args.mode == "json", session_idle_timeout=args.session_idle_timeout
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
