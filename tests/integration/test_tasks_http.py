"""Tasks (2026-07-28 extension io.modelcontextprotocol/tasks, SEP-2663) over a real uvicorn
on 127.0.0.1: the lifecycle, input rounds with partial answers, cooperative cancellation,
capability gating (-32021), Mcp-Name routing (-32020), removed methods (-32601), TTL expiry
and the per-principal bound; each with the memory store and with Redis (a real
redis-server)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
from pydantic import BaseModel
from test_modern_http import Modern, messages

from mcp_transport.server import Context, MCPServer
from mcp_transport.server.tasks import MemoryTaskStore, TaskStore

pytestmark = pytest.mark.anyio

TASKS: dict[str, Any] = {"extensions": {"io.modelcontextprotocol/tasks": {}}, "elicitation": {"form": {}}}


class Ok(BaseModel):
    ok: bool


Stores = Callable[..., TaskStore]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    """``stores(**bounds)``: a new task store of the kind under test (Redis: on its own
    connection and this test's own key prefix, first used on the server's event loop)."""
    if request.param == "memory":
        yield MemoryTaskStore
        return
    from mcp_transport.state.redis import RedisConnection, RedisTaskStore

    url, prefix = request.getfixturevalue("redis_server").url, f"tasks-http-{uuid.uuid4().hex[:8]}:"
    yield lambda **bounds: RedisTaskStore(RedisConnection(url, prefix=prefix), **bounds)


def make_server(store: TaskStore) -> MCPServer:
    server = MCPServer("tasks-test", task_store=store)
    server.tasks.poll_interval_ms = 50

    @server.tool(task="optional")
    async def work(seconds: float, ctx: Context) -> str:
        await ctx.report_progress(1, 2, "half way")
        await anyio.sleep(seconds)
        return f"worked {seconds}"

    @server.tool(task="required")
    async def ask_two(ctx: Context) -> str:
        a, b = await ctx.ask_all(ctx.elicit("A?", Ok, key="a"), ctx.elicit("B?", Ok, key="b"))
        return f"a={a.action} b={b.action}"

    return server


async def post(
    modern: Modern,
    method: str,
    params: dict[str, Any],
    caps: dict[str, Any] | None = TASKS,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    message = modern.message(method, params, caps)
    return await modern.post(message, headers)


async def call(
    modern: Modern, method: str, params: dict[str, Any], caps: dict[str, Any] | None = TASKS
) -> dict[str, Any]:
    response = await post(modern, method, params, caps)
    body = messages(response)[-1]
    assert "result" in body, body
    result: dict[str, Any] = body["result"]
    return result


async def until(modern: Modern, task_id: str, *statuses: str) -> dict[str, Any]:
    with anyio.fail_after(5):
        # polling tasks/get is the protocol (SEP-2663 "Task Polling")
        while (task := await call(modern, "tasks/get", {"taskId": task_id}))["status"] not in statuses:  # noqa: ASYNC110
            await anyio.sleep(0.02)
    return task


@pytest.fixture
def start(http_server: Callable[..., str], stores: Stores) -> Callable[..., Any]:
    async def started(client: httpx.AsyncClient, **bounds: Any) -> Modern:
        return Modern(client, http_server(make_server(stores(**bounds))))

    return started


async def test_lifecycle_create_poll_complete(start: Callable[..., Any]) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        modern = await start(client)
        created = await call(modern, "tools/call", {"name": "work", "arguments": {"seconds": 0.3}})
        assert created["resultType"] == "task" and created["status"] == "working"
        assert isinstance(created["ttlMs"], int) and isinstance(created["pollIntervalMs"], int)
        assert not {"result", "requestState", "inputRequests"} & set(created)
        at_once = await call(modern, "tasks/get", {"taskId": created["taskId"]})  # durable before the answer
        assert at_once["taskId"] == created["taskId"] and at_once["resultType"] == "complete"
        assert (await until(modern, created["taskId"], "working"))["statusMessage"] == "1/2 half way"
        done = await until(modern, created["taskId"], "completed")
        assert done["result"]["content"][0]["text"] == "worked 0.3"


async def test_input_required_answered_in_parts(start: Callable[..., Any]) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        modern = await start(client)
        task_id = (await call(modern, "tools/call", {"name": "ask_two", "arguments": {}}))["taskId"]
        with anyio.fail_after(5):
            while len((task := await until(modern, task_id, "input_required")).get("inputRequests", {})) < 2:  # noqa: ASYNC110
                await anyio.sleep(0.02)
        first, second = task["inputRequests"]
        assert task["inputRequests"][first]["method"] == "elicitation/create"
        ack = await call(
            modern,
            "tasks/update",
            {"taskId": task_id, "inputResponses": {first: {"action": "accept", "content": {"ok": True}}}},
        )
        assert set(ack) == {"resultType", "_meta"}
        partial = await call(modern, "tasks/get", {"taskId": task_id})
        assert partial["status"] == "input_required" and list(partial["inputRequests"]) == [second]
        await call(
            modern, "tasks/update", {"taskId": task_id, "inputResponses": {second: {"action": "decline"}}}
        )
        done = await until(modern, task_id, "completed")
        assert done["result"]["content"][0]["text"] == "a=accept b=decline"


async def test_cancel_is_cooperative_and_idempotent(start: Callable[..., Any]) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        modern = await start(client)
        task_id = (await call(modern, "tools/call", {"name": "work", "arguments": {"seconds": 30}}))["taskId"]
        ack = await call(modern, "tasks/cancel", {"taskId": task_id})
        assert set(ack) == {"resultType", "_meta"} and ack["resultType"] == "complete"
        assert (await until(modern, task_id, "cancelled", "completed", "failed"))["status"] == "cancelled"
        assert (await call(modern, "tasks/cancel", {"taskId": task_id}))["resultType"] == "complete"


async def test_gating_headers_and_removed_methods(start: Callable[..., Any]) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        modern = await start(client)
        plain = await call(modern, "tools/call", {"name": "work", "arguments": {"seconds": 0}}, caps={})
        assert plain["resultType"] == "complete" and plain["content"][0]["text"] == "worked 0.0"
        refused = messages(await post(modern, "tools/call", {"name": "ask_two", "arguments": {}}, caps={}))[
            -1
        ]
        assert refused["error"]["code"] == -32021
        assert refused["error"]["data"] == {
            "requiredCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}
        }
        gated = messages(await post(modern, "tasks/get", {"taskId": "x"}, caps={}))[-1]
        assert gated["error"]["code"] == -32021
        task_id = (await call(modern, "tools/call", {"name": "work", "arguments": {"seconds": 5}}))["taskId"]
        wrong = await post(modern, "tasks/get", {"taskId": task_id}, headers={"Mcp-Name": "another-task"})
        assert wrong.status_code == 400 and wrong.json()["error"]["code"] == -32020
        for removed in ("tasks/result", "tasks/list"):
            body = messages(await post(modern, removed, {"taskId": task_id}))[-1]
            assert body["error"]["code"] == -32601, body
        unknown = messages(await post(modern, "tasks/get", {"taskId": "no-such-task"}))[-1]
        assert unknown["error"]["code"] == -32602
        await call(modern, "tasks/cancel", {"taskId": task_id})


async def test_ttl_expiry_and_per_principal_bound(start: Callable[..., Any]) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        modern = await start(client, max_tasks_per_principal=2)
        first = await call(modern, "tools/call", {"name": "work", "arguments": {"seconds": 0}})
        await call(modern, "tools/call", {"name": "work", "arguments": {"seconds": 0}})
        over = messages(await post(modern, "tools/call", {"name": "work", "arguments": {"seconds": 0}}))[-1]
        assert over["error"]["code"] == -32010 and "at most 2 live tasks" in over["error"]["message"], over
        await until(modern, first["taskId"], "completed")


async def test_ttl_elapsed_task_is_gone(http_server: Callable[..., str], stores: Stores) -> None:
    server = make_server(stores())
    server.tasks.ttl_ms = 300
    async with httpx.AsyncClient(timeout=10) as client:
        modern = Modern(client, http_server(server))
        created = await call(modern, "tools/call", {"name": "work", "arguments": {"seconds": 0}})
        assert created["ttlMs"] == 300
        await until(modern, created["taskId"], "completed")
        await anyio.sleep(0.5)
        gone = messages(await post(modern, "tasks/get", {"taskId": created["taskId"]}))[-1]
        assert gone["error"]["code"] == -32602 and "ttlMs" in gone["error"]["message"]
