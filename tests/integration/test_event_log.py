"""The in-memory event log's own costs: no structure outgrows the configured bounds however
many appends, and a held event costs about its size. The policy every backend shares
(bounds, flow control, fairness, forgetting) is the contract in test_event_log_contract.py."""

from __future__ import annotations

import tracemalloc

import pytest

from mcp_transport import jsonrpc
from mcp_transport.jsonrpc import Notification
from mcp_transport.state import MemoryEventLog

pytestmark = pytest.mark.anyio


async def test_memory_stays_within_the_stream_bounds_however_many_appends() -> None:
    log = MemoryEventLog(max_stream_events=10)
    await log.create("s", "session")
    event = b'{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}'
    for _ in range(1_000):  # warm up allocator pools
        await log.append("s", event)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(100_000):
            await log.append("s", event)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 100_000, f"the log grew by {grown} bytes while holding 10 events"


async def test_a_held_event_costs_about_its_size() -> None:
    # jsonrpc.dump (orjson) returns bytes that keep a ~4 KiB buffer: the log must not hold it.
    log = MemoryEventLog()
    await log.create("s", "session")
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(10_000):
            message = Notification("notifications/progress", {"progressToken": "t", "progress": i})
            await log.append("s", jsonrpc.dump(message))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 10_000 * 400, f"10,000 events of ~80 bytes hold {held} bytes"
