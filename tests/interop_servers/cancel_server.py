"""A server whose ``wait`` tool records in a file when it starts and when it is cancelled, so
a test can see that a client's (or a gateway's) cancellation reached it.

    python -m tests.interop_servers.cancel_server --stdio      # from the repository root
    python -m tests.interop_servers.cancel_server --port N
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import anyio

from mcp_transport import Context, MCPServer

server = MCPServer("cancel-probe")


@server.tool()
async def wait(marker: str, ctx: Context, seconds: float = 30.0) -> str:
    """Write this process's id to ``marker``.pid and "started" to ``marker``, report progress,
    sleep; "cancelled" to ``marker`` if cancelled."""
    _note(marker + ".pid", str(os.getpid()))  # for tests that kill the server mid-call
    _note(marker, "started")
    await ctx.report_progress(0, seconds)
    try:
        await anyio.sleep(seconds)
    except anyio.get_cancelled_exc_class():
        _note(marker, "cancelled")
        raise
    _note(marker, "finished")
    return "finished"


def _note(marker: str, text: str) -> None:
    Path(marker).write_text(text)  # a few bytes to a local file: not worth a thread


@server.tool()
async def echo(text: str) -> str:
    """Echo the text back."""
    return text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stdio", action="store_true")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.stdio:
        server.run_stdio()
        return
    from mcp_transport.transports.http import run_http

    run_http(server, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
