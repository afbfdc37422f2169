"""A legacy request on Redis costs one round trip (docs/performance.md, "Shared state on
Redis"): the worker counts its own requests per session and its busy mark goes at the
sweeper's next flush or at shutdown; the acquire script is pipelined with the others of its
event-loop tick on a connection of its own. A real uvicorn endpoint on a real redis-server."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from redis import Redis
from servers_for_tests import RawSession, ServerThread

from mcp_transport.errors import StateUnavailable
from mcp_transport.server import MCPServer
from mcp_transport.state.records import SessionRecord
from mcp_transport.state.redis import RedisConnection, RedisSessionStore
from mcp_transport.state.shared import SharedState
from mcp_transport.transports.http import http_app
from tests.services import REQUEST_STATE_KEY, RedisServer
from tests.waiting import until

pytestmark = [pytest.mark.anyio, pytest.mark.redis, pytest.mark.timeout(60)]


@pytest.fixture
def prefix() -> str:
    return f"hot:{uuid.uuid4().hex[:8]}:"


@pytest.fixture
def worker_app(redis_server: RedisServer, prefix: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``worker_app(idle_timeout)``: an endpoint on the test's Redis prefix, one worker."""
    monkeypatch.setenv("MCP_TRANSPORT_REQUEST_STATE_KEYS", REQUEST_STATE_KEY)

    def make(idle_timeout: float) -> Any:
        state = SharedState.redis(redis_server.url, prefix=prefix, session_idle_timeout=idle_timeout)
        return http_app(
            MCPServer("hot"), state=state, session_idle_timeout=idle_timeout, response_mode="json"
        )

    return make


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as client:
        yield client


def busy_marks(redis: Redis, key: str) -> list[Any]:
    return [name for name in redis.hkeys(key) if name[:2] == b"b:"]


@asynccontextmanager
async def one_request(
    app: Any, client: httpx.AsyncClient, prefix: str
) -> AsyncIterator[tuple[ServerThread, RawSession, str]]:
    """A worker serving ``app`` and a session that made one request on it: (the worker, the
    session, its record's key). The worker stops at the end of the block (or before)."""
    thread = ServerThread(app)
    thread.start()
    try:
        raw = RawSession(client, f"http://127.0.0.1:{thread.port}/mcp")
        await raw.initialize()
        assert (await raw.call("ping"))["result"] == {}
        yield thread, raw, f"{prefix}session:{raw.session_id}"
    finally:
        thread.stop()


async def test_the_sweeper_clears_the_mark_of_a_finished_request_so_the_session_expires(
    worker_app: Callable[..., Any], redis_server: RedisServer, prefix: str, client: httpx.AsyncClient
) -> None:
    async with one_request(worker_app(0.6), client, prefix) as (_, raw, key):
        with Redis.from_url(redis_server.url) as redis:
            await until(lambda: not busy_marks(redis, key), interval=0.05)  # flushed by a sweep
            assert redis.exists(key)
            assert redis.pttl(key) > 0
        await anyio.sleep(1.2)  # idle past the timeout: a sweep ends it
        assert (await raw.post(raw.request("ping"))).status_code == 404


async def test_a_worker_that_stops_clears_its_busy_marks(
    worker_app: Callable[..., Any], redis_server: RedisServer, prefix: str, client: httpx.AsyncClient
) -> None:
    # It sweeps every 5 s: the stop comes first.
    async with one_request(worker_app(1800), client, prefix) as (thread, _, key):
        with Redis.from_url(redis_server.url) as redis:
            assert busy_marks(redis, key) and redis.pttl(key) == -1  # kept back for now
        thread.stop()
    with Redis.from_url(redis_server.url) as redis:
        assert redis.exists(key) and not busy_marks(redis, key)  # the session lives on, idle
        assert 0 < redis.pttl(key) <= (1800 + 60) * 1000
        assert not list(redis.scan_iter(match=f"{prefix}busy:*"))


async def test_acquires_of_one_tick_share_one_write(redis_server: RedisServer, prefix: str) -> None:
    conn = RedisConnection(redis_server.url, prefix=prefix)
    try:
        store = RedisSessionStore(conn, worker="w1")
        ids = [f"s{i}" for i in range(30)]
        for sid in ids:
            assert await store.create(SessionRecord.new(sid, "alice", ready=True), 100)
        assert await store.acquire("s0") is not None  # connected, the script loaded
        assert conn.pipeline is not None and conn.pipeline._transport is not None
        writes: list[bytes] = []
        transport = conn.pipeline._transport
        write = transport.write

        def counting(data: Any) -> None:
            writes.append(bytes(data))
            write(data)

        transport.write = counting  # type: ignore[method-assign]  # count the writes
        got: dict[str, SessionRecord | None] = {}

        async def acquire(sid: str) -> None:
            got[sid] = await store.acquire(sid)

        async with anyio.create_task_group() as tg:
            for sid in ids:
                tg.start_soon(acquire, sid)
        assert len(writes) == 1 and writes[0].count(b"EVALSHA") == 30
        assert [record and record.id for record in map(got.get, ids)] == ids  # each its own reply
    finally:
        await conn.aclose()


async def test_a_silent_redis_fails_the_pipelined_command_within_the_socket_timeout(prefix: str) -> None:
    """Something accepts the connection and never answers: the request gets StateUnavailable
    (503) after the socket timeout, not a hang; the next command tries again."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        conn = RedisConnection(url, prefix=prefix, socket_timeout=0.3)
        try:
            store = RedisSessionStore(conn, worker="w1")
            for _ in range(2):
                started = time.monotonic()
                with pytest.raises(StateUnavailable, match=r"did not answer within 0\.3 s"):
                    await store.acquire("s1")
                assert time.monotonic() - started < 1.5
        finally:
            await conn.aclose()


async def test_a_script_redis_forgot_is_sent_again(redis_server: RedisServer, prefix: str) -> None:
    conn = RedisConnection(redis_server.url, prefix=prefix)
    try:
        store = RedisSessionStore(conn, worker="w1")
        assert await store.create(SessionRecord.new("s1", "alice"), 10)
        assert await store.acquire("s1") is not None
        await conn.client.script_flush()  # as after a Redis restart or failover
        assert await store.acquire("s1") is not None
    finally:
        await conn.aclose()
