"""The EventLog contract, one suite for every backend: the in-memory log and the Redis log
(a real redis-server). ``peer(log)`` is a second worker: for Redis another connection with
the same key prefix, for memory the same log (one process is the whole deployment)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest

from mcp_transport.errors import ResumeGap
from mcp_transport.state import EventLog, MemoryEventLog
from mcp_transport.state.events import ONCE_KEPT
from mcp_transport.state.redis import RedisConnection, RedisEventLog

pytestmark = pytest.mark.anyio

Factory = Callable[..., Any]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Factory, Factory]]:
    """``(new_log(**bounds), peer(log))`` for one backend. ``fair_bytes`` is the bound a
    flooding session pays against: the memory log's total bound (of which a session gets a
    fair share), the Redis log's bound per session."""
    if request.param == "memory":

        def memory(fair_bytes: int | None = None, **bounds: Any) -> MemoryEventLog:
            return MemoryEventLog(**bounds, **({"max_total_bytes": fair_bytes} if fair_bytes else {}))

        yield memory, lambda log: log
        return
    url = request.getfixturevalue("redis_server").url
    prefix = f"contract:{uuid.uuid4().hex[:8]}:"
    conns: list[RedisConnection] = []
    made: dict[int, dict[str, Any]] = {}

    def connect(fair_bytes: int | None = None, **bounds: Any) -> RedisEventLog:
        conns.append(RedisConnection(url, prefix=prefix))
        if fair_bytes:
            bounds["max_session_bytes"] = fair_bytes
        log = RedisEventLog(conns[-1], **bounds)
        made[id(log)] = bounds
        return log

    def peer(log: RedisEventLog) -> RedisEventLog:
        return connect(**made[id(log)])

    yield connect, peer
    for conn in conns:
        await conn.aclose()


async def test_append_read_and_close(backend: tuple[Factory, Factory]) -> None:
    new_log, peer = backend
    log: EventLog = new_log()
    await log.create("s", "session")
    assert [await log.append("s", b"a"), await peer(log).append("s", b"b")] == [1, 2]  # one sequence
    assert await peer(log).read("s", 0) == ([(1, b"a"), (2, b"b")], False)
    assert await log.read("s", 1) == ([(2, b"b")], False)
    assert await log.read("s", 2) == ([], False)
    with pytest.raises(ValueError, match="no event s:3 was sent: the last is s:2"):
        await log.read("s", 3)  # a cursor past the last event was never sent: not a resume
    assert await log.append("s", b"c", last=True) == 3
    assert await log.read("s", 2) == ([(3, b"c")], True)
    assert await log.append("s", b"late") == 0  # closed streams take nothing more
    assert await log.owner("s") == "session" and await log.owner("other") is None
    with pytest.raises(KeyError):
        await log.read("other", 0)
    assert await log.append("other", b"x") == 0


async def test_an_append_once_is_taken_once_whichever_worker_repeats_it(
    backend: tuple[Factory, Factory],
) -> None:
    """Two workers deliver one broadcast notification to one GET stream (its publisher and
    the session's new holder): the stream takes it once; other streams, and other ids, are
    not affected; only the newest ONCE_KEPT ids are remembered (the bound)."""
    new_log, peer = backend
    log: EventLog = new_log()
    other = peer(log)
    for stream in ("s", "t"):
        await log.create(stream, "session")
    assert await log.append("s", b"n1", once="id-1") == 1
    assert await other.append("s", b"n1", once="id-1") == 0  # the repeat stores nothing
    assert await other.append("t", b"n1", once="id-1") == 1  # another stream: its own
    assert await other.append("s", b"plain") == 2  # appends without an id are never skipped
    assert await log.append("s", b"plain") == 3
    for i in range(2, ONCE_KEPT + 2):  # id-1 falls out of the newest ONCE_KEPT
        await log.append("s", b"n", once=f"id-{i}")
    assert await other.append("s", b"n", once=f"id-{ONCE_KEPT + 1}") == 0
    assert await other.append("s", b"n1 again", once="id-1") > 0
    events, _ = await log.read("s", 0)
    assert [data for _, data in events[:3]] == [b"n1", b"plain", b"plain"]
    assert len(events) == 3 + ONCE_KEPT + 1


async def test_close_without_a_final_event(backend: tuple[Factory, Factory]) -> None:
    new_log, peer = backend
    log: EventLog = new_log()
    await log.create("s", "session")
    await log.append("s", b"a")
    await peer(log).close("s")
    assert await log.read("s", 0) == ([(1, b"a")], True)
    assert await log.read("s", 1) == ([], True)
    assert await log.append("s", b"b") == 0
    await log.create("empty", "session")
    await log.delivered("empty", 0)  # with a reader: kept until it ends (see the next test)
    await log.close("empty")
    assert await log.read("empty", 0) == ([], True)


async def test_event_bound_gives_an_explicit_gap_never_a_partial_replay(
    backend: tuple[Factory, Factory],
) -> None:
    new_log, peer = backend
    log: EventLog = new_log(max_stream_events=3)
    await log.create("s", "session")
    for i in range(5):
        await log.append("s", b"%d" % i)
    assert await peer(log).read("s", 2) == ([(3, b"2"), (4, b"3"), (5, b"4")], False)
    # From a cursor inside what is held, after evictions: exactly the later events, in order.
    assert await log.read("s", 3) == ([(4, b"3"), (5, b"4")], False)
    assert await log.read("s", 4) == ([(5, b"4")], False)
    for after in (0, 1):  # event 2 (or 1 and 2) is gone: no replay of 3..5 as if complete
        with pytest.raises(ResumeGap) as gap:
            await peer(log).read("s", after)
        assert gap.value.data == {"streamId": "s", "oldestAvailable": 3} and gap.value.http_status == 409
        assert "s:2" in gap.value.message


async def test_replay_is_exact_across_thousands_of_evictions(backend: tuple[Factory, Factory]) -> None:
    # Events of varied sizes (empty ones too) through far more evictions than the stream holds:
    # every cursor still held replays exactly the later events, every older one is a gap.
    new_log, peer = backend
    log: EventLog = new_log(max_stream_events=1500)
    await log.create("s", "session")
    sent = [b"%d:" % i + b"x" * (i % 7) * (i % 3) for i in range(5000)]
    for i, data in enumerate(sent):
        await log.append("s", b"" if i % 11 == 0 else data)
    expected = [(i + 1, b"" if i % 11 == 0 else data) for i, data in enumerate(sent)]
    for after in (3500, 3501, 4000, 4998, 4999, 5000):
        assert await peer(log).read("s", after) == (expected[after:], False)
    with pytest.raises(ResumeGap) as gap:
        await log.read("s", 3499)
    assert gap.value.data == {"streamId": "s", "oldestAvailable": 3501}


async def test_byte_bound(backend: tuple[Factory, Factory]) -> None:
    new_log, _ = backend
    log: EventLog = new_log(max_stream_bytes=10)
    await log.create("s", "session")
    await log.append("s", b"12345")
    await log.append("s", b"12345")
    assert (await log.read("s", 0))[0] == [(1, b"12345"), (2, b"12345")]
    await log.append("s", b"x" * 9)  # 19 bytes held: the two oldest go
    assert await log.read("s", 2) == ([(3, b"x" * 9)], False)
    with pytest.raises(ResumeGap):
        await log.read("s", 1)


async def test_age_bound_on_sweep(backend: tuple[Factory, Factory]) -> None:
    new_log, peer = backend
    log: EventLog = new_log(max_age=0.3)
    await log.create("open", "session")
    await log.create("closed", "session")
    await log.append("open", b"old")
    await log.append("closed", b"final", last=True)
    await anyio.sleep(0.4)
    await log.append("open", b"new")
    await peer(log).sweep()
    with pytest.raises(ResumeGap):
        await log.read("open", 0)
    assert await log.read("open", 1) == ([(2, b"new")], False)
    assert await log.owner("closed") is None  # closed and fully evicted: nothing to resume


async def test_the_cursor_outlives_its_reader(backend: tuple[Factory, Factory]) -> None:
    # A GET stream's next response, on any worker, continues where the last one stopped.
    new_log, peer = backend
    log: EventLog = new_log()
    await log.create("s", "one")
    assert await log.cursor("s") == 0 and await log.cursor("unknown") == 0
    for data in (b"a", b"b", b"c"):
        await log.append("s", data)
    await log.delivered("s", 2)
    assert await peer(log).cursor("s") == 2
    await log.detach("s")
    assert await peer(log).cursor("s") == 2
    await peer(log).delivered("s", 3)
    assert await log.cursor("s") == 3


async def test_drop_session(backend: tuple[Factory, Factory]) -> None:
    new_log, peer = backend
    log: EventLog = new_log()
    await log.create("s1", "one")
    await log.create("s2", "two")
    await log.append("s1", b"data")
    await log.append("s2", b"data")
    await peer(log).drop_session("one")
    assert await log.owner("s1") is None and await log.owner("s2") == "two"
    with pytest.raises(KeyError):
        await log.read("s1", 0)
    assert await log.append("s1", b"more") == 0
    assert await log.read("s2", 0) == ([(1, b"data")], False)


async def test_newest_event_outlives_the_size_bounds_until_delivered(
    backend: tuple[Factory, Factory],
) -> None:
    new_log, peer = backend
    log: EventLog = new_log(max_stream_bytes=100)
    await log.create("s", "session")
    await log.append("s", b"p" * 10)
    big = b"r" * 1_000  # a response ten times the per-stream bound
    assert await log.append("s", big, last=True) == 2
    # A reader caught up after the progress event still gets the response.
    assert await peer(log).read("s", 1) == ([(2, big)], True)
    # A single oversized event that is not final is delivered live too, then bounded again.
    await log.create("t", "session")
    assert await log.append("t", big) == 1
    assert await log.read("t", 0) == ([(1, big)], False)
    await peer(log).delivered("t", 1)
    await log.append("t", b"small")
    with pytest.raises(ResumeGap):  # the bound applies to replay: the delivered big one went
        await log.read("t", 0)


async def test_writer_waits_for_a_live_reader_instead_of_evicting(backend: tuple[Factory, Factory]) -> None:
    """The reader runs on another worker: its progress wakes the waiting writer (each stall
    would otherwise cost the whole wait)."""
    new_log, peer = backend
    log: EventLog = new_log(max_stream_events=10, max_wait=5)
    reading: EventLog = peer(log)
    await log.create("s", "session")
    await reading.delivered("s", 0)  # a live reader attached
    got: list[int] = []

    async def writer() -> None:
        for i in range(200):  # a tight loop: never yields unless the log makes it wait
            await log.append("s", b"%d" % i)
        await log.append("s", b"done", last=True)

    async def reader() -> None:
        after, closed = 0, False
        while not closed:
            await reading.wait("s", after, 1)
            events, closed = await reading.read("s", after)  # a ResumeGap here fails the test
            got.extend(seq for seq, _ in events)
            after = events[-1][0] if events else after
            await anyio.sleep(0.005)  # a client slower than the writer
            await reading.delivered("s", after)

    with anyio.fail_after(10):  # each stall would cost max_wait (5 s)
        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            tg.start_soon(writer)
    assert got == list(range(1, 202))


async def test_a_stalled_or_gone_reader_holds_the_writer_only_briefly(
    backend: tuple[Factory, Factory],
) -> None:
    new_log, peer = backend
    log: EventLog = new_log(max_stream_events=10, max_wait=0.5)
    await log.create("s", "session")
    await peer(log).delivered("s", 0)  # attached, then never reads
    start = time.monotonic()
    for i in range(30):
        await log.append("s", b"%d" % i)
    # One bounded wait, then the reader counts as stalled and the bound applies.
    assert 0.45 < time.monotonic() - start < 3
    assert [seq for seq, _ in (await log.read("s", 20))[0]] == list(range(21, 31))
    with pytest.raises(ResumeGap):
        await log.read("s", 0)
    # Delivering again re-arms the wait; detaching (the reader is gone) drops it at once.
    await peer(log).delivered("s", 30)
    await peer(log).detach("s")
    start = time.monotonic()
    for i in range(30):
        await log.append("s", b"%d" % i)
    assert time.monotonic() - start < 0.45  # a single wait would take 0.5 s


async def test_closed_streams_with_nothing_to_replay_are_forgotten(backend: tuple[Factory, Factory]) -> None:
    new_log, peer = backend
    log: EventLog = new_log()
    for i in range(20):  # slow requests, then cancelled: streams without a single event
        await log.create(f"s{i}", "session")
        await peer(log).close(f"s{i}")
    assert [await log.owner(f"s{i}") for i in range(20)] == [None] * 20
    await log.create("r", "session")
    await log.delivered("r", 0)
    await log.close("r")
    assert await log.owner("r") == "session"  # its reader is still finishing
    await peer(log).detach("r")
    assert await log.owner("r") is None


async def test_one_sessions_flood_never_evicts_another_sessions_events(
    backend: tuple[Factory, Factory],
) -> None:
    new_log, _ = backend
    log: EventLog = new_log(fair_bytes=2_000)
    await log.create("quiet", "alice")
    for i in range(5):
        await log.append("quiet", b"a%02d" % i + b"." * 46)  # 250 bytes, unread
    await log.create("flood", "mallory")
    await log.create("flood2", "mallory")
    for i in range(1_000):  # 50 KB through a 2 KB bound, over two streams
        await log.append("flood2" if i % 10 == 0 else "flood", b"m%03d" % i + b"." * 45)
    events, _ = await log.read("quiet", 0)
    assert [data[:3] for _, data in events] == [b"a%02d" % i for i in range(5)]
    for stream in ("flood", "flood2"):  # the flooder lost its own old events, on both streams
        with pytest.raises(ResumeGap):
            await log.read(stream, 0)
    assert await log.read("flood", 899) == ([(900, b"m999" + b"." * 45)], False)  # 900 of the 1,000
    if isinstance(log, MemoryEventLog):
        assert log.total_bytes <= 2_000


async def _elapsed_wait(log: EventLog, stream_id: str, after: int, timeout: float, act: Any = None) -> float:
    """Seconds ``log.wait`` took while ``act()`` (if any) runs 0.1 s after it started."""
    started = time.monotonic()
    async with anyio.create_task_group() as tg:

        async def later() -> None:
            await anyio.sleep(0.1)
            await act()

        if act is not None:
            tg.start_soon(later)
        await log.wait(stream_id, after, timeout)
        elapsed = time.monotonic() - started
    return elapsed


async def test_wait_returns_at_once_or_after_the_timeout(backend: tuple[Factory, Factory]) -> None:
    new_log, _ = backend
    log: EventLog = new_log()
    await log.create("s", "session")
    await log.append("s", b"a")
    assert await _elapsed_wait(log, "s", 0, 5) < 0.5  # events after the cursor already
    assert 0.25 <= await _elapsed_wait(log, "s", 1, 0.3) < 1.5
    await log.close("s")
    assert await _elapsed_wait(log, "s", 1, 5) < 0.5  # closed


@pytest.mark.parametrize("action", ["append", "close", "drop_session", "wake"])
async def test_wait_is_woken(backend: tuple[Factory, Factory], action: str) -> None:
    """By an append, a close or a drop on another worker; by wake() on this one."""
    new_log, peer = backend
    log: EventLog = new_log()
    other = peer(log)
    await log.create("s", "session")
    await log.append("s", b"a")
    acts = {
        "append": lambda: other.append("s", b"b"),
        "close": lambda: other.close("s"),
        "drop_session": lambda: other.drop_session("session"),
        "wake": _async(lambda: log.wake("s")),
    }
    assert await _elapsed_wait(log, "s", 1, 30, acts[action]) < 2.0
    if action == "wake":  # the interrupted wait left nothing behind: the log still answers right
        for _ in range(3):
            assert await log.append("s", b"next") > 1
            assert (await log.read("s", 0))[0][0] == (1, b"a")


def _async(fn: Callable[[], None]) -> Callable[[], Any]:
    async def run() -> None:
        fn()

    return run
