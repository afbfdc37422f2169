"""Workers meeting on a real redis-server: the registry (leases, a kill -9 noticed by a
survivor), the per-worker inbox and the broadcast channel, each across separate connections
(separate "workers"), and the process-wide worker id."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import pytest

from mcp_transport.errors import StateUnavailable
from mcp_transport.state.redis import Broadcast, Inbox, RedisConnection, WorkerRegistry
from mcp_transport.state.workers import worker_id
from tests.interop_servers import REPO
from tests.services import RedisServer

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

Connect = Callable[[], RedisConnection]

# One worker process: holds a lease (heartbeat) until it is killed.
_WORKER = """
import sys, anyio
from mcp_transport.state.redis import RedisConnection, WorkerRegistry
async def main():
    registry = WorkerRegistry(RedisConnection(sys.argv[1], prefix=sys.argv[2]), lease=float(sys.argv[3]))
    async with registry.running() as r:
        print(r.id, flush=True)
        await anyio.sleep_forever()
anyio.run(main)
"""


@pytest.fixture
async def connect(redis_server: RedisServer) -> AsyncIterator[Connect]:
    """``connect()``: a new connection (a new worker) with this test's own key prefix."""
    prefix = f"workers:{uuid.uuid4().hex[:8]}:"
    conns: list[RedisConnection] = []

    def new() -> RedisConnection:
        conns.append(RedisConnection(redis_server.url, prefix=prefix))
        return conns[-1]

    yield new
    for conn in conns:
        await conn.aclose()


async def test_a_killed_worker_is_noticed_by_a_survivor_once(
    connect: Connect, redis_server: RedisServer
) -> None:
    lease = 0.6
    conn = connect()
    argv = [sys.executable, "-c", _WORKER, redis_server.url, conn.prefix, str(lease)]
    child = await anyio.open_process(argv, cwd=REPO, stderr=None)
    try:
        assert child.stdout is not None
        with anyio.fail_after(20):
            dead = (await child.stdout.receive()).decode().strip()
        lapsed: list[tuple[str, float]] = []
        noticed = anyio.Event()

        async def on_lapsed(worker: str) -> None:
            lapsed.append((worker, time.monotonic()))
            noticed.set()

        survivor = WorkerRegistry(conn, worker="survivor", lease=lease)
        async with survivor.running(on_lapsed):
            assert set(await survivor.live()) == {dead, "survivor"}
            child.kill()
            killed = time.monotonic()
            with anyio.fail_after(5):
                await noticed.wait()
            assert [w for w, _ in lapsed] == [dead]
            assert lapsed[0][1] - killed < lease * 4 / 3 + 1.5  # lease + a heartbeat + slack
            assert set(await survivor.live()) == {"survivor"}
            await anyio.sleep(lease)
            assert len(lapsed) == 1  # claimed once
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()


async def test_a_lapse_is_claimed_by_exactly_one_survivor(connect: Connect) -> None:
    gone = WorkerRegistry(connect(), worker="gone", lease=0.2)
    assert not await gone.renew()  # first registration
    assert await gone.renew()  # still live
    await anyio.sleep(0.3)
    assert await WorkerRegistry(connect()).live() == {}
    claims: list[list[str]] = []

    async def claim() -> None:
        claims.append(await WorkerRegistry(connect()).claim_lapsed())

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(claim)
    assert sorted(claims) == [[], [], [], ["gone"]]
    assert not await gone.renew()  # the worker learns its lease had lapsed


async def test_a_failed_clean_up_is_logged_and_retried(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    await WorkerRegistry(connect(), worker="gone", lease=0.2).renew()
    calls: list[str] = []
    retried = anyio.Event()

    async def on_lapsed(worker: str) -> None:
        calls.append(worker)
        if len(calls) == 1:
            raise RuntimeError("clean-up failed")
        retried.set()

    async with WorkerRegistry(connect(), worker="survivor", lease=0.3).running(on_lapsed):
        with anyio.fail_after(5):
            await retried.wait()
        await anyio.sleep(0.3)
    assert calls == ["gone", "gone"] and "cleaning up after dead worker gone failed" in caplog.text


async def test_a_clean_exit_is_not_a_death(connect: Connect) -> None:
    lapsed: list[str] = []

    async def on_lapsed(worker: str) -> None:
        lapsed.append(worker)

    watcher = WorkerRegistry(connect(), worker="watcher", lease=0.3)
    async with watcher.running(on_lapsed):
        async with WorkerRegistry(connect(), worker="leaver", lease=0.3).running():
            assert set(await watcher.live()) == {"watcher", "leaver"}
        await anyio.sleep(0.8)
        assert set(await watcher.live()) == {"watcher"} and lapsed == []


async def test_nested_holders_share_one_heartbeat_and_each_hears_every_death(connect: Connect) -> None:
    """The endpoint holds the lease from the worker's start and the task store nests inside:
    one lease, renewed by one heartbeat, and both clean-ups run for a dead worker."""
    await WorkerRegistry(connect(), worker="gone", lease=0.3).renew()
    heard: dict[str, list[str]] = {"sessions": [], "tasks": []}
    both = anyio.Event()

    def hears(name: str) -> Callable[[str], Awaitable[None]]:
        async def on_lapsed(worker: str) -> None:
            heard[name].append(worker)
            if all(heard.values()):
                both.set()

        return on_lapsed

    registry = WorkerRegistry(connect(), worker="both", lease=0.3)
    async with registry.running(hears("sessions")):
        async with registry.running(hears("tasks")):
            with anyio.fail_after(5):
                await both.wait()
        await anyio.sleep(0.5)  # the inner block left: the lease is still renewed
        assert set(await registry.live()) == {"both"}
    assert heard == {"sessions": ["gone"], "tasks": ["gone"]}
    assert await registry.live() == {}  # the outermost block left


async def test_inbox_between_two_workers(connect: Connect) -> None:
    a, b = Inbox(connect(), "a", maxlen=5), Inbox(connect(), "b")
    for i in range(3):
        await a.send("b", b"m%d" % i)
    assert await b.receive(1) == [b"m0", b"m1", b"m2"]
    assert await b.receive(0) == [] and await a.receive(0) == []  # each message once, to its worker only
    for i in range(20):
        await a.send("b", b"n%d" % i)
    assert await b.receive(1) == [b"n%d" % i for i in range(15, 20)]  # bounded: the oldest dropped
    await b.receive(0)
    assert await b.conn.client.xlen(b.conn.key("inbox", "b")) <= 1  # read messages are trimmed
    assert 0 < await b.conn.client.pttl(b.conn.key("inbox", "b")) <= 600_000


async def test_inbox_receive_wakes_on_a_send_from_another_worker(connect: Connect) -> None:
    a, b = Inbox(connect(), "a"), Inbox(connect(), "b")
    async with anyio.create_task_group() as tg:

        async def send_later() -> None:
            await anyio.sleep(0.2)
            await a.send("b", b"hello")

        tg.start_soon(send_later)
        started = time.monotonic()
        assert await b.receive(3) == [b"hello"]
        assert time.monotonic() - started < 1.0


async def test_broadcast_reaches_every_listener_and_survives_a_redis_restart(
    connect: Connect, redis_server: RedisServer
) -> None:
    sender = Broadcast(connect())
    async with Broadcast(connect()).listen() as one, Broadcast(connect()).listen() as two:
        assert await sender.publish(b"list_changed") == 2
        assert await one.receive(2) == b"list_changed" and await two.receive(2) == b"list_changed"
        assert await one.receive(0.1) is None
        with redis_server.stopped(), pytest.raises(StateUnavailable):
            await sender.publish(b"lost")
        with anyio.fail_after(10):  # the listener reconnects and subscribes again by itself
            while True:
                try:
                    await sender.publish(b"back")
                    if await one.receive(0.2) == b"back":
                        break
                except StateUnavailable:
                    await anyio.sleep(0.1)


def test_worker_id_is_short_stable_and_per_process() -> None:
    assert worker_id() == worker_id() and len(worker_id()) == 8
    other = subprocess.run(
        [sys.executable, "-c", "from mcp_transport.state.workers import worker_id; print(worker_id())"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    read, write = os.pipe()
    if (pid := os.fork()) == 0:
        os.write(write, worker_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    forked = os.read(read, 64).decode()
    assert len({worker_id(), other, forked}) == 3


async def test_a_worker_starting_while_redis_is_away_takes_its_lease_when_it_returns(
    connect: Connect, redis_server: RedisServer
) -> None:
    """A worker is not refused at start by an outage: it holds its lease once Redis answers."""
    registry = WorkerRegistry(connect(), worker="early", lease=0.6)
    async with contextlib.AsyncExitStack() as stack:
        with redis_server.stopped():
            async with registry.running():  # a clean exit while Redis is away: no error either
                await anyio.sleep(0.3)
            await stack.enter_async_context(registry.running())
        with anyio.fail_after(10):
            while "early" not in await registry.live():  # noqa: ASYNC110  (polling Redis is the point)
                await anyio.sleep(0.1)
