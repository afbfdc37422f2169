"""A server on ``run_http`` with one tool, ``gc_state``, that tells what the garbage collector
walks in this process: how many objects are frozen (never walked) and how many are tracked.

    python tests/interop_servers/gc_server.py --port N
"""

from __future__ import annotations

import argparse
import gc

from mcp_transport.server import MCPServer
from mcp_transport.transports.http import run_http

server = MCPServer("gc-state")


@server.tool()
async def gc_state() -> str:
    """``<frozen> <tracked>``: objects the collector's full collections skip and walk."""
    return f"{gc.get_freeze_count()} {len(gc.get_objects())}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    run_http(server, port=parser.parse_args().port, log_level="warning")
