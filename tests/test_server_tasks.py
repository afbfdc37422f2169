"""The task runner in process (2026-07-28 extension io.modelcontextprotocol/tasks,
SEP-2663): how a call becomes a task, how it ends, and the store-only paths another worker
would take (an answer or a cancel that arrives through the store, not this worker); each with
the memory store and with Redis (a real redis-server)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest
from pydantic import BaseModel

from mcp_transport.errors import InternalError, RemoteError
from mcp_transport.server import Context, MCPServer, TaskContext
from mcp_transport.server.tasks import MemoryTaskStore, TaskStore
from mcp_transport.testing import MemoryClient

pytestmark = pytest.mark.anyio

TASKS: dict[str, Any] = {"extensions": {"io.modelcontextprotocol/tasks": {}}, "elicitation": {}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Name(BaseModel):
    name: str


MakeServer = Callable[[], MCPServer]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def make_server(request: pytest.FixtureRequest) -> AsyncIterator[MakeServer]:
    """``make_server()``: the test server on a new store of the kind under test."""
    if request.param == "memory":
        yield lambda: build_server(MemoryTaskStore())
        return
    from mcp_transport.state.redis import RedisConnection, RedisTaskStore

    url, prefix = request.getfixturevalue("redis_server").url, f"runner-{uuid.uuid4().hex[:8]}:"
    conns: list[RedisConnection] = []

    def make() -> MCPServer:
        conns.append(RedisConnection(url, prefix=prefix))
        return build_server(RedisTaskStore(conns[-1]))

    yield make
    for conn in conns:
        await conn.aclose()


def build_server(store: TaskStore) -> MCPServer:
    server = MCPServer("runner-test", task_store=store)
    server.tasks.poll_interval_ms = 20

    @server.tool(task="optional")
    async def wait(seconds: float) -> str:
        await anyio.sleep(seconds)
        return "waited"

    @server.tool(task="optional")
    async def broken() -> str:
        raise ValueError("bad input")

    @server.tool(task="optional")
    async def internal() -> str:
        raise InternalError("the database is down")

    @server.tool(task="optional")
    async def huge() -> str:
        return "x" * 2000

    @server.tool(task="optional")
    async def ask(ctx: Context) -> str:
        answer = await ctx.elicit("Name?", Name)
        return f"hi {answer.data.name}" if isinstance(answer.data, Name) else answer.action

    @server.tool(task="required", task_start="on_detach")
    async def gather_then_run(ctx: TaskContext) -> str:
        answer = await ctx.elicit("Name?", Name, key="who")
        await ctx.detach()
        assert ctx.task_id is not None
        return f"task for {answer.data.name if isinstance(answer.data, Name) else '?'}"

    return server


async def request(
    client: MemoryClient, method: str, params: dict[str, Any], caps: dict[str, Any] = TASKS
) -> dict[str, Any]:
    return await client.modern_request(method, params, capabilities=caps)


async def settle(client: MemoryClient, task_id: str, *statuses: str) -> dict[str, Any]:
    with anyio.fail_after(5):
        # polling tasks/get is the protocol (SEP-2663 "Task Polling")
        while (task := await request(client, "tasks/get", {"taskId": task_id}))["status"] not in statuses:  # noqa: ASYNC110
            await anyio.sleep(0.01)
    return task


async def start(client: MemoryClient, tool: str, arguments: dict[str, Any] | None = None) -> str:
    created = await request(client, "tools/call", {"name": tool, "arguments": arguments or {}})
    assert created["resultType"] == "task", created
    return str(created["taskId"])


async def test_tool_error_completes_with_is_error_and_rpc_error_fails(make_server: MakeServer) -> None:
    async with MemoryClient.connect(make_server(), initialize=False) as client:
        done = await settle(client, await start(client, "broken"), "completed", "failed")
        assert done["status"] == "completed" and done["result"]["isError"] is True
        failed = await settle(client, await start(client, "internal"), "completed", "failed")
        assert failed["status"] == "failed" and "result" not in failed
        assert failed["error"] == {"code": -32603, "message": "the database is down"}


async def test_result_over_the_size_limit_fails_the_task(make_server: MakeServer) -> None:
    server = make_server()
    server.tasks.max_result_bytes = 1000
    async with MemoryClient.connect(server, initialize=False) as client:
        failed = await settle(client, await start(client, "huge"), "completed", "failed")
        assert failed["status"] == "failed" and "1000 bytes" in failed["error"]["message"]


async def test_answer_arriving_through_the_store_only_is_picked_up(make_server: MakeServer) -> None:
    """Another worker's tasks/update writes the store and cannot wake this worker: the
    waiting input call must find the answer by polling."""
    server = make_server()
    async with MemoryClient.connect(server, initialize=False) as client:
        task_id = await start(client, "ask")
        task = await settle(client, task_id, "input_required")
        (key,) = task["inputRequests"]
        await server.tasks.store.answer(task_id, {key: {"action": "accept", "content": {"name": "Ada"}}})
        done = await settle(client, task_id, "completed")
        assert done["result"]["content"][0]["text"] == "hi Ada"


async def test_cancel_arriving_through_the_store_only_cancels_the_handler(make_server: MakeServer) -> None:
    server = make_server()
    async with MemoryClient.connect(server, initialize=False) as client:
        task_id = await start(client, "wait", {"seconds": 30})
        await server.tasks.store.request_cancel(task_id)  # as another worker's tasks/cancel would
        assert (await settle(client, task_id, "cancelled", "completed"))["status"] == "cancelled"


async def test_mrtr_rounds_before_detach_then_a_task(make_server: MakeServer) -> None:
    async with MemoryClient.connect(make_server(), initialize=False) as client:
        first = await request(client, "tools/call", {"name": "gather_then_run", "arguments": {}})
        assert first["resultType"] == "input_required" and "taskId" not in first
        retry = {
            "name": "gather_then_run",
            "arguments": {},
            "inputResponses": {"who": {"action": "accept", "content": {"name": "Alice"}}},
            "requestState": first["requestState"],
        }
        created = await request(client, "tools/call", retry)
        assert created["resultType"] == "task" and "requestState" not in created
        done = await settle(client, created["taskId"], "completed")
        assert done["result"]["content"][0]["text"] == "task for Alice"


async def test_without_the_extension_optional_is_plain_and_required_is_refused(
    make_server: MakeServer,
) -> None:
    async with MemoryClient.connect(make_server(), initialize=False) as client:
        plain = await request(client, "tools/call", {"name": "wait", "arguments": {"seconds": 0}}, caps={})
        assert plain["resultType"] == "complete" and plain["content"][0]["text"] == "waited"
        with pytest.raises(RemoteError) as refused:
            await request(client, "tools/call", {"name": "gather_then_run", "arguments": {}}, caps={})
        assert refused.value.code == -32021
    async with MemoryClient.connect(make_server(), capabilities=TASKS) as legacy:  # 2025 session
        result = await legacy.call_tool("wait", {"seconds": 0})
        assert "taskId" not in result and result["content"][0]["text"] == "waited"
        with pytest.raises(RemoteError) as missing:
            await legacy.request("tasks/get", {"taskId": "x"})
        assert missing.value.code == -32601


async def test_listen_with_task_ids_streams_task_states(make_server: MakeServer) -> None:
    async with MemoryClient.connect(make_server(), initialize=False) as client:
        task_id = await start(client, "ask")
        await settle(client, task_id, "input_required")
        async with anyio.create_task_group() as tg:
            listen = {"notifications": {"taskIds": [task_id, "unknown-task"]}}
            tg.start_soon(request, client, "subscriptions/listen", listen)
            with anyio.fail_after(5):
                while not (acks := client.notifications_of("notifications/subscriptions/acknowledged")):  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            assert acks[0]["notifications"]["taskIds"] == [task_id]
            await request(
                client,
                "tasks/update",
                {"taskId": task_id, "inputResponses": {"elicitation-1": {"action": "decline"}}},
            )
            await settle(client, task_id, "completed")

            def completed() -> list[dict[str, Any]]:
                return [
                    n for n in client.notifications_of("notifications/tasks") if n["status"] == "completed"
                ]

            with anyio.fail_after(5):
                while not completed():  # noqa: ASYNC110 -- notifications arrive asynchronously
                    await anyio.sleep(0.01)
            final = completed()[-1]
            assert final["taskId"] == task_id and final["result"]["content"][0]["text"] == "decline"
            tg.cancel_scope.cancel()
        with pytest.raises(RemoteError) as gated:
            await request(client, "subscriptions/listen", {"notifications": {"taskIds": [task_id]}}, caps={})
        assert gated.value.code == -32021


async def test_server_shutdown_fails_running_tasks_and_the_next_call_starts_afresh(
    make_server: MakeServer,
) -> None:
    server = make_server()
    async with MemoryClient.connect(server, initialize=False) as client:
        task_id = await start(client, "wait", {"seconds": 30})
        await server.tasks.aclose()
        stopped = await request(client, "tasks/get", {"taskId": task_id})
        assert stopped["status"] == "failed" and "server stopped" in stopped["error"]["message"]
        again = await settle(client, await start(client, "wait", {"seconds": 0}), "completed")
        assert again["result"]["content"][0]["text"] == "waited"


async def test_a_task_failed_for_a_dead_worker_stops_its_handler(make_server: MakeServer) -> None:
    """A worker taken for dead (paused past its lease, say) has its tasks failed by a survivor:
    the handler still running here stops at its next store poll, and the failure stands."""
    server = make_server()
    stopped = anyio.Event()

    @server.tool(task="optional")
    async def long() -> str:
        try:
            await anyio.sleep(30)
        finally:
            stopped.set()
        return "never"

    async with MemoryClient.connect(server, initialize=False) as client:
        task_id = await start(client, "long")
        assert await server.tasks.store.fail_worker(server.tasks.store.worker) == [task_id]
        with anyio.fail_after(5):
            await stopped.wait()
        failed = await settle(client, task_id, "failed", "cancelled", "completed")
        assert failed["status"] == "failed" and "lease lapsed" in failed["error"]["message"]
