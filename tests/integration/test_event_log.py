"""The in-memory event log's own costs: no structure outgrows the configured bounds however
many appends, a held event costs about its size, and the garbage collector finds nothing per
held event to walk. The policy every backend shares
(bounds, flow control, fairness, forgetting) is the contract in test_event_log_contract.py."""

from __future__ import annotations

import gc
import tracemalloc
import types

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


def _visited_by_a_full_collection(root: object) -> int:
    """How many references a full garbage collection follows from ``root``'s own containers:
    what each tracked container reachable from it hands to the collector (``gc.get_referents``
    is its ``tp_traverse``), each walked once; classes and modules (shared code, not the
    log's data) are counted but not entered."""
    seen, todo, visits = {id(root)}, [root], 0
    while todo:
        for ref in gc.get_referents(todo.pop()):
            visits += 1
            shared = isinstance(ref, (type, types.ModuleType, types.FunctionType))
            if gc.is_tracked(ref) and not shared and id(ref) not in seen:
                seen.add(id(ref))
                todo.append(ref)
    return visits


async def test_a_full_collection_walks_nothing_per_held_event() -> None:
    # Every full collection visits each reference a tracked container holds: a log holding
    # its events in a deque of per-event tuples made that O(events held), a stall on whatever
    # request it landed on (about 10 ms at 150,000 events).
    async def visits(events: int) -> int:
        log = MemoryEventLog()
        await log.create("s", "session")
        for i in range(events):
            await log.append("s", b'{"progress":%d}' % i)
        gc.collect()  # so no tuple built by the calls is still tracked
        return _visited_by_a_full_collection(log)

    # one reference per block of 128 events, plus the open block: 20,000 per-event ones before
    assert await visits(20_000) - await visits(10) < 20_000 / 50


async def test_evicted_events_are_let_go_and_what_is_held_replays_exactly() -> None:
    # Events are held in blocks of 128; the data of evicted events must not stay alive in the
    # block that held them (200 events of 60 kB held is 12 MB in memory, not 12 MB plus the
    # evicted part of the oldest block: 32 events, 1.9 MB, at the end here), and the events
    # still held replay exactly, wherever the blocks were cut.
    log = MemoryEventLog(max_stream_events=200)
    await log.create("s", "session")
    tracemalloc.start()
    try:
        for i in range(1000):
            await log.append("s", bytes([i % 251]) * 60_000)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held < 210 * 60_000, f"200 events of 60 kB held, {held} bytes in memory"
    events, _ = await log.read("s", 800)
    assert events == [(i + 1, bytes([i % 251]) * 60_000) for i in range(800, 1000)]
