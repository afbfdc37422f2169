"""The EventLog's policy through its protocol (create, append, read, delivered, detach, close,
sweep): the newest event outlives the size bounds until delivered, a writer waits (bounded)
for its live reader instead of evicting, the total bound is fair between sessions, and no
structure outgrows the configured limits. Written against the protocol so a Redis log can
run the same checks."""

from __future__ import annotations

import time
import tracemalloc

import anyio
import pytest

from mcp_transport import jsonrpc
from mcp_transport.errors import ResumeGap
from mcp_transport.jsonrpc import Notification
from mcp_transport.state import MemoryEventLog

pytestmark = pytest.mark.anyio


async def test_final_event_larger_than_the_stream_bound_is_kept_until_delivered() -> None:
    log = MemoryEventLog(max_stream_bytes=100)
    await log.create("s", "session")
    await log.append("s", b"p" * 10)
    big = b"r" * 1_000  # a response ten times the per-stream bound
    assert await log.append("s", big, last=True) == 2
    # A reader caught up after the progress event still gets the response.
    assert await log.read("s", 1) == ([(2, big)], True)
    # A single oversized event that is not final is delivered live too, then bounded again.
    await log.create("t", "session")
    assert await log.append("t", big) == 1
    assert await log.read("t", 0) == ([(1, big)], False)
    await log.delivered("t", 1)
    await log.append("t", b"small")
    with pytest.raises(ResumeGap):  # the bound applies to replay: the delivered big one went
        await log.read("t", 0)


async def test_writer_waits_for_a_live_reader_instead_of_evicting() -> None:
    log = MemoryEventLog(max_stream_events=10, max_wait=5)
    await log.create("s", "session")
    await log.delivered("s", 0)  # a live reader attached
    got: list[int] = []

    async def writer() -> None:
        for i in range(200):  # a tight loop: never yields unless the log makes it wait
            await log.append("s", b"%d" % i)
        await log.append("s", b"done", last=True)

    async def reader() -> None:
        after, closed = 0, False
        while not closed:
            await log.wait("s", after, 1)
            events, closed = await log.read("s", after)  # a ResumeGap here fails the test
            got.extend(seq for seq, _ in events)
            after = events[-1][0] if events else after
            await log.delivered("s", after)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            tg.start_soon(writer)
    assert got == list(range(1, 202))


async def test_a_stalled_or_gone_reader_holds_the_writer_only_briefly() -> None:
    log = MemoryEventLog(max_stream_events=10, max_wait=0.2)
    await log.create("s", "session")
    await log.delivered("s", 0)  # attached, then never reads
    start = time.monotonic()
    for i in range(100):
        await log.append("s", b"%d" % i)
    # One bounded wait, then the reader counts as stalled and the bound applies.
    assert 0.15 < time.monotonic() - start < 2
    assert [seq for seq, _ in (await log.read("s", 90))[0]] == list(range(91, 101))
    with pytest.raises(ResumeGap):
        await log.read("s", 0)
    # Delivering again re-arms the wait; detaching (the reader is gone) drops it at once.
    await log.delivered("s", 100)
    await log.detach("s")
    start = time.monotonic()
    for i in range(100):
        await log.append("s", b"%d" % i)
    assert time.monotonic() - start < 0.15  # a single wait would take 0.2 s


async def test_closed_streams_with_nothing_to_replay_are_forgotten() -> None:
    log = MemoryEventLog()
    for i in range(100):  # slow requests, then cancelled: streams without a single event
        await log.create(f"s{i}", "session")
        await log.close(f"s{i}")
    assert len(log) == 0 and await log.owner("s0") is None
    await log.create("r", "session")
    await log.delivered("r", 0)
    await log.close("r")
    assert await log.owner("r") == "session"  # its reader is still finishing
    await log.detach("r")
    assert len(log) == 0


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


async def test_one_sessions_flood_never_evicts_another_sessions_events() -> None:
    log = MemoryEventLog(max_total_bytes=2_000)
    await log.create("quiet", "alice")
    for i in range(5):
        await log.append("quiet", b"a%02d" % i + b"." * 46)  # 250 bytes, unread
    await log.create("flood", "mallory")
    for i in range(1_000):  # 50 KB through a 2 KB log
        await log.append("flood", b"m%03d" % i + b"." * 45)
    events, _ = await log.read("quiet", 0)
    assert [data[:3] for _, data in events] == [b"a%02d" % i for i in range(5)]
    with pytest.raises(ResumeGap):  # the flooder lost its own old events
        await log.read("flood", 0)
    assert log.total_bytes <= 2_000


async def test_a_cursor_beyond_the_last_event_is_refused() -> None:
    log = MemoryEventLog()
    await log.create("s", "session")
    await log.append("s", b"one")
    assert await log.read("s", 1) == ([], False)
    with pytest.raises(ValueError):
        await log.read("s", 2)


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
