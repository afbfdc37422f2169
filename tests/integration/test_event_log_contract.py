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
from mcp_transport.state.redis import RedisConnection, RedisEventLog

pytestmark = pytest.mark.anyio

Factory = Callable[..., Any]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Factory, Factory]]:
    """``(new_log(**bounds), peer(log))`` for one backend."""
    if request.param == "memory":
        yield MemoryEventLog, lambda log: log
        return
    url = request.getfixturevalue("redis_server").url
    prefix = f"contract:{uuid.uuid4().hex[:8]}:"
    conns: list[RedisConnection] = []

    def connect(**bounds: Any) -> RedisEventLog:
        conns.append(RedisConnection(url, prefix=prefix))
        return RedisEventLog(conns[-1], **bounds)

    def peer(log: RedisEventLog) -> RedisEventLog:
        return connect(
            max_stream_events=log.max_stream_events,
            max_stream_bytes=log.max_stream_bytes,
            max_age=log.max_age,
        )

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
    assert await log.read("s", 7) == ([], False)  # nothing after a cursor past the end
    assert await log.append("s", b"c", last=True) == 3
    assert await log.read("s", 2) == ([(3, b"c")], True)
    assert await log.append("s", b"late") == 0  # closed streams take nothing more
    assert await log.owner("s") == "session" and await log.owner("other") is None
    with pytest.raises(KeyError):
        await log.read("other", 0)
    assert await log.append("other", b"x") == 0


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
    for after in (0, 1):  # event 2 (or 1 and 2) is gone: no replay of 3..5 as if complete
        with pytest.raises(ResumeGap) as gap:
            await peer(log).read("s", after)
        assert gap.value.data == {"streamId": "s", "oldestAvailable": 3} and gap.value.http_status == 409
        assert "s:2" in gap.value.message


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
