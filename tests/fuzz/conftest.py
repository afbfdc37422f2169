"""Fixtures for the fuzz properties: one real uvicorn per module (on a free loopback port,
stopped at teardown) serving servers.everything with small, known bounds, and a raw HTTP
checker that every property shares."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The raw-HTTP helpers of the integration tests (servers_for_tests), shared, not copied.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))

from servers_for_tests import ServerThread

from mcp_transport.state.memory import MemoryEventLog
from mcp_transport.transports.http import http_app
from servers.everything import server as everything
from tests.fuzz.fuzz_http import BOUNDS, FuzzEndpoint


@pytest.fixture(scope="module")
def endpoint() -> Iterator[FuzzEndpoint]:
    """servers.everything on a real uvicorn, with the bounds the properties check."""
    log = MemoryEventLog(
        max_stream_events=BOUNDS["max_stream_events"],
        max_stream_bytes=BOUNDS["max_stream_bytes"],
        max_total_bytes=BOUNDS["max_total_bytes"],
    )
    app = http_app(
        everything,
        event_log=log,
        max_sessions=BOUNDS["max_sessions"],
        session_idle_timeout=BOUNDS["session_idle_timeout"],
        init_timeout=BOUNDS["init_timeout"],
        max_body_bytes=BOUNDS["max_body_bytes"],
        keepalive=0.5,
    )
    thread = ServerThread(app)
    thread.start()
    streamable = app.endpoint
    fuzz = FuzzEndpoint(f"http://127.0.0.1:{thread.port}/mcp", streamable)
    try:
        yield fuzz
    finally:
        fuzz.close()
        thread.stop()
