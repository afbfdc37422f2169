"""``run_http`` freezes what exists once the server is up: the process's long-lived heap
(modules, classes, the app's tools and schemas) is then not walked by the garbage collector's
full collections, which otherwise stall whatever request is running for tens of milliseconds."""

from __future__ import annotations

import sys

import httpx
import pytest

from tests.interop_servers import HERE, ServerProcess, free_port

pytestmark = pytest.mark.anyio

VERSION = "2025-11-25"


async def call_gc_state(url: str) -> tuple[int, int]:
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": VERSION}
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": VERSION,
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    async with httpx.AsyncClient(timeout=10, headers=headers) as client:
        response = await client.post(url, json=init)
        headers["Mcp-Session-Id"] = response.headers["mcp-session-id"]
        await client.post(
            url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers
        )
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "gc_state", "arguments": {}},
        }
        response = await client.post(url, json=call, headers={**headers, "Accept": "application/json"})
    frozen, tracked = response.json()["result"]["content"][0]["text"].split()
    return int(frozen), int(tracked)


async def test_run_http_leaves_the_startup_heap_to_no_full_collection() -> None:
    port = free_port()
    server = ServerProcess([sys.executable, str(HERE / "gc_server.py"), "--port", str(port)], port).start()
    try:
        frozen, tracked = await call_gc_state(server.url)
    finally:
        server.stop()
    # tens of thousands of startup objects frozen; what the collector still walks is what
    # was made since (sessions, requests), a small fraction
    assert frozen > 20_000 and tracked < frozen / 4, (frozen, tracked)
