"""Tasks shared by several workers through Redis (2026-07-28 extension
io.modelcontextprotocol/tasks, SEP-2663 "Streamable HTTP: Routing Headers": any worker may
serve a task's polls). Two real ``servers.everything`` processes on one real redis-server, hit
directly: a task created through one is polled, answered (partially) and cancelled through the
other; a worker killed with SIGKILL leaves its task ``failed`` once its lease lapses. Two
in-process workers share the per-principal bound and see each other's tasks expire; the keys
of expired tasks are all gone."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from test_modern_http import Modern, messages

from mcp_transport.server import Context, MCPServer
from mcp_transport.state.redis import RedisConnection, RedisTaskStore, WorkerRegistry
from tests.interop_servers import ServerProcess, our_server
from tests.services import RedisServer, worker_options

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

TASKS: dict[str, Any] = {"extensions": {"io.modelcontextprotocol/tasks": {}}, "elicitation": {"form": {}}}
LEASE = 3.0  # the workers' lease: a killed worker is declared dead within about 1.33 leases


@pytest.fixture
def prefix() -> str:
    return f"tasks-{uuid.uuid4().hex[:8]}:"


@pytest.fixture
def workers(redis_server: RedisServer, prefix: str) -> Iterator[list[ServerProcess]]:
    """Two servers.everything processes sharing tasks through this test's Redis prefix."""
    shared = worker_options(redis_server.url, prefix, LEASE)
    started: list[ServerProcess] = []
    try:
        for _ in range(2):
            started.append(our_server(None, *shared).start())
        yield started
    finally:
        for process in started:
            process.stop()


async def call(modern: Modern, method: str, params: dict[str, Any]) -> dict[str, Any]:
    response = await modern.post(modern.message(method, params, TASKS))
    body = messages(response)[-1]
    assert "result" in body, body
    return body["result"]


async def until(modern: Modern, task_id: str, *statuses: str, within: float = 10) -> dict[str, Any]:
    with anyio.fail_after(within):
        # polling tasks/get is the protocol (SEP-2663 "Task Polling")
        while (task := await call(modern, "tasks/get", {"taskId": task_id}))["status"] not in statuses:  # noqa: ASYNC110
            await anyio.sleep(0.05)
    return task


async def test_created_on_one_worker_polled_answered_and_cancelled_on_another(
    workers: list[ServerProcess],
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        a, b = (Modern(client, worker.url) for worker in workers)
        created = await call(a, "tools/call", {"name": "multi_input", "arguments": {}})
        task_id = created["taskId"]
        assert (await call(b, "tasks/get", {"taskId": task_id}))["taskId"] == task_id  # durable at once
        with anyio.fail_after(10):
            while len((task := await until(b, task_id, "input_required")).get("inputRequests", {})) < 2:  # noqa: ASYNC110
                await anyio.sleep(0.05)
        first, second = task["inputRequests"]
        answer = {"action": "accept", "content": {"name": "Ada"}}
        await call(b, "tasks/update", {"taskId": task_id, "inputResponses": {first: answer}})
        partial = await call(a, "tasks/get", {"taskId": task_id})  # the other worker sees it too
        assert partial["status"] == "input_required" and list(partial["inputRequests"]) == [second]
        answer = {"action": "accept", "content": {"name": "Lovelace"}}
        await call(b, "tasks/update", {"taskId": task_id, "inputResponses": {second: answer}})
        done = await until(b, task_id, "completed")  # A's handler found both answers in Redis
        assert done["result"]["content"][0]["text"] == "got Ada and Lovelace"
        assert (await call(a, "tasks/get", {"taskId": task_id}))["result"] == done["result"]

        slow = await call(a, "tools/call", {"name": "slow_compute", "arguments": {"seconds": 60}})
        working = await until(b, slow["taskId"], "working")
        assert working["pollIntervalMs"] == 500
        ack = await call(b, "tasks/cancel", {"taskId": slow["taskId"]})
        assert ack["resultType"] == "complete"
        # A, running the handler, sees the flag at its next store poll and stops it.
        cancelled = await until(a, slow["taskId"], "cancelled", "completed", "failed", within=5)
        assert cancelled["status"] == "cancelled"
        assert (await call(b, "tasks/cancel", {"taskId": slow["taskId"]}))["resultType"] == "complete"


async def test_task_status_reaches_a_listen_stream_on_another_worker(workers: list[ServerProcess]) -> None:
    """``notifications/tasks`` (SEP-2663 "Task Status Notifications") of a task running on
    worker A reach a ``subscriptions/listen`` stream held by worker B."""
    async with httpx.AsyncClient(timeout=10) as client:
        a, b = (Modern(client, worker.url) for worker in workers)
        created = await call(a, "tools/call", {"name": "slow_compute", "arguments": {"seconds": 60}})
        task_id = created["taskId"]
        listen = b.message("subscriptions/listen", {"notifications": {"taskIds": [task_id]}}, TASKS)
        async with client.stream("POST", b.url, headers=b.headers_for(listen), json=listen) as stream:
            assert stream.status_code == 200
            lines = stream.aiter_lines()
            await call(b, "tasks/cancel", {"taskId": task_id})  # A stops the handler, then publishes
            with anyio.fail_after(10):
                async for line in lines:
                    if line.startswith("data:") and '"notifications/tasks"' in line and "cancelled" in line:
                        break


async def test_a_killed_worker_leaves_its_task_failed_in_bounded_time(workers: list[ServerProcess]) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        a, b = (Modern(client, worker.url) for worker in workers)
        created = await call(a, "tools/call", {"name": "slow_compute", "arguments": {"seconds": 60}})
        task_id = created["taskId"]
        assert (await until(b, task_id, "working"))["status"] == "working"
        workers[0].kill()  # SIGKILL: no clean-up, its lease just stops being renewed
        killed = time.monotonic()
        failed = await until(b, task_id, "failed", "completed", "cancelled", within=4 * LEASE)
        took = time.monotonic() - killed
        assert failed["status"] == "failed", failed
        assert failed["error"]["code"] == -32603 and "lease lapsed" in failed["error"]["message"]
        assert "call the tool again" in failed["error"]["message"]
        assert LEASE * 0.5 < took < LEASE * 4, took  # not before the lease could lapse, not much after


# -- two workers in this process, on one Redis prefix ------------------------------------------


@pytest.fixture
async def two_workers(
    redis_server: RedisServer, prefix: str, http_server: Callable[..., str]
) -> AsyncIterator[Callable[..., list[str]]]:
    """``two_workers(**bounds) -> [url, url]``: two uvicorn servers, each with its own worker id
    and Redis connection, sharing tasks."""
    conns: list[RedisConnection] = []

    def start(ttl_ms: int = 60_000, **bounds: Any) -> list[str]:
        urls = []
        for name in ("worker-a", "worker-b"):
            # Made here, first used on the server's own event loop (redis-py binds lazily).
            conns.append(RedisConnection(redis_server.url, prefix=prefix))
            store = RedisTaskStore(conns[-1], registry=WorkerRegistry(conns[-1], worker=name), **bounds)
            server = MCPServer("tasks-test", task_store=store)
            server.tasks.ttl_ms = ttl_ms

            @server.tool(task="optional")
            async def work(seconds: float, ctx: Context) -> str:
                await anyio.sleep(seconds)
                return f"worked {seconds}"

            urls.append(http_server(server))
        return urls

    yield start


async def test_the_per_principal_bound_is_shared_by_all_workers(
    two_workers: Callable[..., list[str]],
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        a, b = (Modern(client, url) for url in two_workers(max_tasks_per_principal=2))
        work = {"name": "work", "arguments": {"seconds": 0}}
        await call(a, "tools/call", work)
        await call(b, "tools/call", work)
        for worker in (a, b):
            over = messages(await worker.post(worker.message("tools/call", work, TASKS)))[-1]
            assert over["error"]["code"] == -32010 and "at most 2 live tasks" in over["error"]["message"]


async def test_a_task_expires_for_every_worker(two_workers: Callable[..., list[str]]) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        a, b = (Modern(client, url) for url in two_workers(ttl_ms=400))
        created = await call(a, "tools/call", {"name": "work", "arguments": {"seconds": 0}})
        assert created["ttlMs"] == 400
        done = await until(b, created["taskId"], "completed")
        assert done["result"]["content"][0]["text"] == "worked 0.0"
        await anyio.sleep(0.6)
        get = {"taskId": created["taskId"]}
        for worker in (a, b):
            gone = messages(await worker.post(worker.message("tasks/get", get, TASKS)))
            assert gone[-1]["error"]["code"] == -32602 and "ttlMs" in gone[-1]["error"]["message"]


async def test_expired_tasks_leave_no_keys(redis_server: RedisServer, prefix: str) -> None:
    """A task's hash and its entries in every index go with its TTL: nothing leaks."""
    from mcp_transport.state.tasks import TaskRecord

    conn = RedisConnection(redis_server.url, prefix=prefix)
    try:
        store = RedisTaskStore(conn, registry=WorkerRegistry(conn, worker="w1"))
        for i in range(3):
            await store.create(TaskRecord(f"t{i}", f"principal-{i % 2}", 300 + 100 * i, 100))
        await store.add_input_request("t0", "k", {"method": "elicitation/create", "params": {}})
        await store.finish("t1", "completed", result={"content": []})
        keys = {key.decode() async for key in conn.client.scan_iter(match=prefix + "*")}
        assert keys == {
            *(f"{prefix}task:t{i}" for i in range(3)),
            f"{prefix}tasks:principal:principal-0",
            f"{prefix}tasks:principal:principal-1",
            f"{prefix}tasks:worker:w1",
            f"{prefix}tasks:all",
        }
        for key in keys:
            assert 0 < await conn.client.pttl(key) <= 500, key
        await anyio.sleep(0.6)
        assert [key async for key in conn.client.scan_iter(match=prefix + "*")] == []
    finally:
        await conn.aclose()


async def test_redis_unreachable_is_a_clear_retryable_error(
    http_server: Callable[..., str], tmp_path: Path
) -> None:
    """No Redis, no task: -32013 (state unavailable: retry) for the call and the polls, never a
    hang or an internal error; the same worker serves tasks once Redis answers."""
    redis = RedisServer(tmp_path)  # not started yet: connections are refused
    store = RedisTaskStore(RedisConnection(redis.url, prefix="down:"))
    server = MCPServer("tasks-test", task_store=store)

    @server.tool(task="optional")
    async def work() -> str:
        return "worked"

    try:
        async with httpx.AsyncClient(timeout=10) as client:
            modern = Modern(client, http_server(server))
            for method, params in [("tools/call", {"name": "work"}), ("tasks/get", {"taskId": "t"})]:
                response = await modern.post(modern.message(method, params, TASKS))
                body = messages(response)[-1]
                assert body["error"]["code"] == -32013 and "retry" in body["error"]["message"], body
                assert body["error"]["data"] == {"retryAfter": 1.0}
            redis.start()
            created = await call(modern, "tools/call", {"name": "work", "arguments": {}})
            assert (await until(modern, created["taskId"], "completed"))["result"]["content"][0][
                "text"
            ] == "worked"
    finally:
        redis.stop()


async def test_a_redis_outage_while_tasks_run_loses_nothing(tmp_path: Path) -> None:
    """Redis goes away (and comes back with its data) while handlers run, report progress, wait
    for input and end: the store calls that fail are retried (polls, answers) or skipped
    (progress), the outcome is written once Redis is back, and the worker keeps serving."""
    from pydantic import BaseModel

    from mcp_transport.testing import MemoryClient

    class Ok(BaseModel):
        ok: bool

    redis = RedisServer(tmp_path).start()
    conn = RedisConnection(redis.url, prefix="outage:")
    server = MCPServer("tasks-test", task_store=RedisTaskStore(conn))
    server.tasks.poll_interval_ms = 50

    @server.tool(task="optional")
    async def work(seconds: float, ctx: Context) -> str:
        for step in range(int(seconds * 10)):
            await anyio.sleep(0.1)
            await ctx.report_progress(step + 1)
        return f"worked {seconds}"

    @server.tool(task="optional")
    async def ask(ctx: Context) -> str:
        return (await ctx.elicit("Ok?", Ok, key="ok")).action

    async def request(client: MemoryClient, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return await client.modern_request(method, params, capabilities=TASKS)

    try:
        async with MemoryClient.connect(server, initialize=False) as client:
            working = await request(client, "tools/call", {"name": "work", "arguments": {"seconds": 0.5}})
            asking = await request(client, "tools/call", {"name": "ask", "arguments": {}})
            get = {"taskId": asking["taskId"]}
            with anyio.fail_after(5):
                while "inputRequests" not in (task := await request(client, "tasks/get", get)):  # noqa: ASYNC110
                    await anyio.sleep(0.02)
            await conn.client.save()  # what the restarted Redis will load
            redis.stop()
            await anyio.sleep(0.8)  # work reports progress and ends, ask waits: Redis is down
            redis.start()
            (key,) = task["inputRequests"]
            update = {"taskId": asking["taskId"], "inputResponses": {key: {"action": "decline"}}}
            await request(client, "tasks/update", update)
            for created, text in [(working, "worked 0.5"), (asking, "decline")]:
                with anyio.fail_after(10):
                    get = {"taskId": created["taskId"]}
                    while (task := await request(client, "tasks/get", get))["status"] == "working":  # noqa: ASYNC110
                        await anyio.sleep(0.05)
                assert task["status"] == "completed" and task["result"]["content"][0]["text"] == text, task
            again = await request(client, "tools/call", {"name": "work", "arguments": {"seconds": 0}})
            assert again["resultType"] == "task"
    finally:
        await conn.aclose()
        redis.stop()
