"""The Redis backend's own promises, on a real redis-server: Redis down is one typed error and
service comes back by itself; keys are exactly the documented ones (docs/deployment.md),
under the prefix, with TTLs; a missing extra says what to install."""

from __future__ import annotations

import functools
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import pytest
from redis.asyncio import Connection

from mcp_transport.errors import ResumeGap, StateUnavailable
from mcp_transport.state.redis import Inbox, RedisConnection, RedisEventLog, WorkerRegistry
from tests.interop_servers import REPO
from tests.services import RedisServer

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


@pytest.fixture
async def conn(redis_server: RedisServer) -> AsyncIterator[RedisConnection]:
    conn = RedisConnection(redis_server.url, prefix=f"state:{uuid.uuid4().hex[:8]}:")
    yield conn
    await conn.aclose()


async def test_redis_down_is_state_unavailable_and_service_resumes(
    conn: RedisConnection, redis_server: RedisServer
) -> None:
    log = RedisEventLog(conn)
    await log.create("s", "session")
    await log.append("s", b"a")
    failures: list[StateUnavailable] = []

    async def waiter() -> None:
        with pytest.raises(StateUnavailable) as failed:
            await log.wait("s", 1, 30)
        failures.append(failed.value)

    calls = [
        lambda: log.append("s", b"b"),
        lambda: log.read("s", 0),
        lambda: log.create("t", "session"),
        lambda: log.owner("s"),
        lambda: log.drop_session("session"),
        lambda: log.sweep(),
        lambda: WorkerRegistry(conn).renew(),
        lambda: Inbox(conn).send("w", b"x"),
    ]
    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await anyio.sleep(0.2)
        with redis_server.stopped():
            for call in calls:
                started = time.monotonic()
                with pytest.raises(StateUnavailable) as failed:
                    await call()
                failures.append(failed.value)
                assert time.monotonic() - started < 1.0  # fails fast, no hang
    assert len(failures) == len(calls) + 1  # the blocked wait too
    for error in failures:
        assert error.http_status == 503 and error.code == -32013 and error.retry_after == 1.0
        assert (
            f"Redis at 127.0.0.1:{redis_server.port}/0" in error.message and "retry in 1 s" in error.message
        )
    # The same connection works again once Redis is back (the restart lost the data: no
    # persistence in tests, so the stream is gone).
    assert await log.owner("s") is None
    await log.create("s", "session")
    assert await log.append("s", b"again") == 1


async def test_keys_are_the_documented_ones_under_the_prefix_with_ttls(conn: RedisConnection) -> None:
    log = RedisEventLog(conn, ttl=120, max_stream_events=1, max_wait=0.05)
    await log.create("s", "sess")
    await log.delivered("s", 0)
    await log.append("s", b"event")
    await log.append("s", b"event")  # waits for the reader (a full bound behind), then appends
    await log.delivered("s", 2)  # the reader's progress goes to the waiting writers' cursor stream
    await log.create("idle", "sess")  # no event yet: no entries key
    await WorkerRegistry(conn, worker="w1", lease=10).renew()
    await Inbox(conn, "w1").send("w2", b"message")
    p = conn.prefix
    keys = {key.decode() async for key in conn.client.scan_iter(match=p + "*")}
    assert keys == {
        f"{p}stream:s",
        f"{p}stream:s:events",
        f"{p}stream:s:cursor",
        f"{p}stream:idle",
        f"{p}session:sess:streams",
        f"{p}session:sess:bytes",
        f"{p}streams:by-age",
        f"{p}worker:w1",
        f"{p}workers",
        f"{p}inbox:w2",
    }
    for key, ttl in [
        ("stream:s", 120),
        ("stream:s:events", 120),
        ("stream:s:cursor", 10),
        ("stream:idle", 120),
        ("session:sess:streams", 120),
        ("session:sess:bytes", 120),
        ("worker:w1", 10),
    ]:
        assert 0 < await conn.client.pttl(p + key) <= ttl * 1000, key
    for key in ("streams:by-age", "workers"):  # indexes: their entries are removed, not expired
        assert await conn.client.pttl(p + key) == -1
    other = RedisEventLog(RedisConnection(f"redis://{conn.where}", prefix=p + "x:"))
    assert await other.owner("s") is None  # another prefix, another deployment
    await other.conn.aclose()


async def test_a_stream_in_use_outlives_its_ttl_with_its_session_set(conn: RedisConnection) -> None:
    """Appends and reads renew the stream's keys and its session's set, so a stream used for
    longer than ``ttl`` is still found and dropped with its session."""
    log = RedisEventLog(conn, ttl=0.5)
    await log.create("s", "sess")
    for i in range(8):  # 0.8 s of use, reads and appends alternating
        await (log.append("s", b"e") if i % 2 else log.read("s", 0))
        await anyio.sleep(0.1)
    await log.drop_session("sess")
    assert await log.owner("s") is None
    await log.create("idle", "sess")
    await anyio.sleep(0.7)
    assert await log.owner("idle") is None  # untouched for ttl: gone


async def test_sweep_keeps_its_age_index_bounded(conn: RedisConnection) -> None:
    """The index sweep() uses loses the streams whose keys expired and those it emptied."""
    log = RedisEventLog(conn, ttl=0.3, max_age=0.2)
    index = conn.key("streams", "by-age")
    for sid in ("expires", "ages"):
        await log.create(sid, "sess")
        await log.append(sid, b"e")
    assert await conn.client.zcard(index) == 2
    await anyio.sleep(0.25)
    await log.read("ages", 1)  # in use: its keys live on, its event is past max_age
    await anyio.sleep(0.1)
    await log.sweep()
    assert await conn.client.zcard(index) == 0
    assert await log.owner("expires") is None and await log.read("ages", 1) == ([], False)


class _Counting(Connection):
    """A connection that counts what it sends: one send is one round trip (a pipeline too)."""

    sent = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        _Counting.sent += 1
        await super().send_packed_command(command, check_health)


async def test_one_round_trip_per_append_and_per_reader_step(redis_server: RedisServer) -> None:
    """docs/deployment.md "Round trips": an append is one script, with or without a live
    reader keeping up; so are the reader's read and delivered."""
    conn = RedisConnection(redis_server.url, prefix=f"trips:{uuid.uuid4().hex[:8]}:")
    conn.client.connection_pool.connection_class = _Counting
    log = RedisEventLog(conn, max_stream_events=100)
    try:
        await log.create("s", "sess")
        await log.append("s", b"warm")  # loads the scripts (EVALSHA, NOSCRIPT, EVAL)
        await log.delivered("s", 1)
        await log.read("s", 1)

        async def trips(step: Callable[[], Awaitable[object]]) -> int:
            before = _Counting.sent
            await step()
            return _Counting.sent - before

        for seq in range(2, 302):  # 300 events through a 100-event bound: the reader keeps up
            assert await trips(functools.partial(log.append, "s", b"event")) == 1
            assert await trips(functools.partial(log.read, "s", seq - 1)) == 1
            assert await trips(functools.partial(log.delivered, "s", seq)) == 1
        assert await trips(lambda: log.create("t", "sess")) == 1
    finally:
        await conn.aclose()


async def test_a_sessions_byte_count_heals_after_a_stream_expired(conn: RedisConnection) -> None:
    """A stream whose keys expired (ttl) leaves its bytes in its session's counter; over the
    bound, the counter is recomputed from the streams that exist before anything is evicted."""
    log = RedisEventLog(conn, max_session_bytes=100)
    for sid, size in (("gone", 60), ("kept", 30)):
        await log.create(sid, "sess")
        await log.append(sid, b"x" * size)
    await conn.client.delete(conn.key("stream", "gone"), conn.key("stream", "gone", "events"))  # as ttl does
    await log.append("kept", b"y" * 20)  # 110 counted, 50 held
    assert [seq for seq, _ in (await log.read("kept", 0))[0]] == [1, 2]
    assert await conn.client.get(conn.key("session", "sess", "bytes")) == b"50"
    await log.append("kept", b"z" * 60)  # 110 held: now the session pays, with its oldest event
    with pytest.raises(ResumeGap):
        await log.read("kept", 0)
    assert await conn.client.get(conn.key("session", "sess", "bytes")) == b"80"


def test_the_prefix_must_not_be_empty() -> None:
    with pytest.raises(ValueError, match="prefix"):
        RedisConnection("redis://127.0.0.1:1/0", prefix="")


def test_missing_extra_names_it() -> None:
    code = "import sys; sys.modules['redis'] = None; import mcp_transport.state.redis"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0 and "pip install 'mcp-transport[redis]'" in result.stderr
