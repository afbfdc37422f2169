"""The TaskStore contract, run against every store (memory, and Redis on a real redis-server),
and the wire shapes of the tasks extension (2026-07-28 extension io.modelcontextprotocol/tasks,
SEP-2663 "Tasks", "Task Update Requests", "Task Cancellation")."""

from __future__ import annotations

import ast
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

import mcp_transport.state
from mcp_transport.server.tasks import MemoryTaskStore, TaskLimitExceeded, TaskRecord, TaskStore
from mcp_transport.server.tasks.model import create_result, declares_tasks, detailed_task
from tests.services import RedisServer

pytestmark = pytest.mark.anyio

Make = Callable[..., TaskStore]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def make(request: pytest.FixtureRequest) -> AsyncIterator[Make]:
    """``make(worker=..., **bounds)``: a store; with Redis, each call is another worker (its own
    connection) on this test's own key prefix."""
    if request.param == "memory":
        yield lambda worker="w-a", **bounds: MemoryTaskStore(worker=worker, **bounds)
        return
    from mcp_transport.state.redis import RedisConnection, RedisTaskStore, WorkerRegistry

    redis_server: RedisServer = request.getfixturevalue("redis_server")
    prefix = f"tasks:{uuid.uuid4().hex[:8]}:"
    conns: list[RedisConnection] = []

    def new(worker: str = "w-a", lease: float = 10.0, **bounds: Any) -> TaskStore:
        conns.append(RedisConnection(redis_server.url, prefix=prefix))
        registry = WorkerRegistry(conns[-1], worker=worker, lease=lease)
        return RedisTaskStore(conns[-1], registry=registry, **bounds)

    yield new
    for conn in conns:
        await conn.aclose()


def record(task_id: str = "t1", principal: str = "alice", ttl_ms: int = 60_000) -> TaskRecord:
    return TaskRecord(task_id, principal, ttl_ms, 100)


async def test_create_then_get_returns_a_copy(make: Make) -> None:
    store = make()
    created = record()
    await store.create(created)
    assert created.worker == "w-a"  # the owner is the creating worker
    got = await store.get("t1")
    assert got is not None and got.status == "working" and got.worker == "w-a"
    assert (got.principal, got.ttl_ms, got.poll_interval_ms) == ("alice", 60_000, 100)
    assert got.created_at == created.created_at and got.updated_at == created.created_at
    got.status = "completed"  # a copy: the store is not changed behind its back
    assert (await store.get("t1")).status == "working"  # type: ignore[union-attr]  # the task was created just above
    assert await store.get("nope") is None


async def test_results_and_answers_round_trip_exactly(make: Make) -> None:
    """JSON is stored as written: big integers, floats and text survive unchanged."""
    store = make()
    await store.create(record())
    value = {"n": 2**60 + 1, "x": 0.1, "text": "héllo \u2603", "nested": [None, True, {"k": []}]}
    assert await store.add_input_request("t1", "k1", {"method": "elicitation/create", "params": value})
    await store.answer("t1", {"k1": value})
    assert await store.take_answer("t1", "k1") == value
    assert await store.finish("t1", "completed", result={"content": [], "structuredContent": value})
    assert (await store.get("t1")).result == {"content": [], "structuredContent": value}  # type: ignore[union-attr]  # the task was created just above


async def test_partial_answers_keep_input_required_until_all_are_in(make: Make) -> None:
    store = make()
    await store.create(record())
    # Issue order is kept (it is the order inputRequests shows), also once the record is too
    # big for a compact encoding (Redis: a hash over 64-byte values forgets insertion order).
    keys = ["b", "a", "c", *(f"k{i}" for i in range(20))]
    for key in keys:
        request = {"method": "elicitation/create", "params": {"message": key * 100}}
        assert await store.add_input_request("t1", key, request)
    before = await store.get("t1")
    assert before is not None and list(before.input_requests) == keys
    await store.answer("t1", {f"k{i}": {"action": "decline"} for i in range(20)})
    await store.answer("t1", {"a": {"action": "accept"}, "never-issued": {}})
    task = await store.get("t1")
    assert task is not None and task.status == "input_required" and list(task.input_requests) == ["b", "c"]
    await store.answer("t1", {"b": {"action": "decline"}})
    await store.answer("t1", {"c": {"action": "cancel"}, "a": {"action": "late"}})  # a: not outstanding
    assert (await store.get("t1")).status == "working"  # type: ignore[union-attr]  # the task was created just above
    assert await store.take_answer("t1", "a") == {"action": "accept"}
    assert await store.take_answer("t1", "a") is None  # consumed once
    assert not await store.add_input_request("t1", "a", {})  # a key is never reused
    assert await store.answer("nope", {}) is False and await store.take_answer("nope", "a") is None


async def test_first_terminal_status_wins(make: Make) -> None:
    store = make()
    await store.create(record())
    await store.add_input_request("t1", "k", {"method": "elicitation/create", "params": {}})
    flagged = await store.request_cancel("t1")
    assert flagged is not None and flagged.cancel_requested and flagged.status == "input_required"
    assert await store.finish("t1", "cancelled")
    assert not await store.finish("t1", "completed", result={"content": []})
    done = await store.get("t1")
    assert done is not None and done.status == "cancelled" and done.input_requests == {}
    assert not await store.add_input_request("t1", "k2", {})  # terminal: no more input
    await store.set_message("t1", "too late")
    assert (await store.get("t1")).status_message is None  # type: ignore[union-attr]  # the task was created just above
    await store.create(record("t2"))
    assert await store.finish("t2", "failed", error={"code": -32603, "message": "boom"})
    after = await store.request_cancel("t2")
    assert after is not None and not after.cancel_requested  # terminal: nothing to cancel
    assert after.error == {"code": -32603, "message": "boom"} and after.result is None
    assert await store.request_cancel("nope") is None
    assert not await store.finish("nope", "completed")


async def test_status_message_and_last_updated(make: Make) -> None:
    store = make()
    await store.create(record())
    created = (await store.get("t1")).updated_at  # type: ignore[union-attr]  # the task was created just above
    await anyio.sleep(0.01)
    await store.set_message("t1", "1/2 half way")
    task = await store.get("t1")
    assert task is not None and task.status_message == "1/2 half way" and task.updated_at > created
    await store.set_message("t1", None)
    assert (await store.get("t1")).status_message is None  # type: ignore[union-attr]  # the task was created just above


async def test_ttl_expiry_removes_the_task(make: Make) -> None:
    store = make()
    await store.create(record(ttl_ms=300))
    await store.create(record("keeps"))
    assert await store.expire(time.time()) == []
    assert await store.count("alice") == 2
    await anyio.sleep(0.4)
    assert await store.expire(time.time()) == ["t1"]
    assert await store.get("t1") is None and await store.count("alice") == 1
    assert not await store.finish("t1", "completed") and not await store.answer("t1", {})
    assert await store.request_cancel("t1") is None and await store.get("keeps") is not None


async def test_per_principal_and_total_bounds(make: Make) -> None:
    store = make(max_tasks_per_principal=2, max_tasks=3)
    await store.create(record("a1"))
    await store.create(record("a2", ttl_ms=300))
    with pytest.raises(TaskLimitExceeded, match="at most 2 live tasks") as refused:
        await store.create(record("a3"))
    assert refused.value.code == -32010
    assert await store.get("a3") is None
    await store.create(record("b1", principal="bob"))  # another principal is not affected
    assert await store.count("alice") == 2 and await store.count("bob") == 1
    with pytest.raises(TaskLimitExceeded, match="maximum of 3 tasks"):
        await store.create(record("c1", principal="carol"))
    await anyio.sleep(0.4)  # a2 expired: room again, for alice and in all
    await store.create(record("a3"))
    assert await store.count("alice") == 2


async def test_a_dead_workers_tasks_fail(make: Make) -> None:
    store = make()
    for task_id in ("running", "asking", "done"):
        await store.create(record(task_id))
    await store.add_input_request("asking", "k", {"method": "elicitation/create", "params": {}})
    await store.finish("done", "completed", result={"content": []})
    assert sorted(await store.fail_worker("w-a")) == ["asking", "running"]
    for task_id in ("running", "asking"):
        task = await store.get(task_id)
        assert task is not None and task.status == "failed" and task.input_requests == {}
        assert task.error is not None and task.error["code"] == -32603
        assert "w-a" in task.error["message"] and "lease" in task.error["message"]
    assert (await store.get("done")).status == "completed"  # type: ignore[union-attr]  # the task was created just above
    assert not await store.finish("running", "completed", result={"content": []})  # too late
    assert await store.fail_worker("w-a") == [] and await store.fail_worker("w-other") == []


def test_wire_shapes() -> None:
    task = record()
    created = create_result(task)
    assert created["resultType"] == "task" and isinstance(created["ttlMs"], int)
    assert created["createdAt"].endswith("Z") and not {
        "result",
        "error",
        "inputRequests",
        "requestState",
    } & set(created)
    task.status, task.result = "completed", {"content": [{"type": "text", "text": "ok"}]}
    assert detailed_task(task)["result"] == task.result and "resultType" not in detailed_task(task)
    assert declares_tasks({"extensions": {"io.modelcontextprotocol/tasks": {}}})
    assert not declares_tasks({"extensions": {}}) and not declares_tasks(None)


def test_state_never_imports_server() -> None:
    """Layering: state/ (the stores) knows nothing of server/ (which uses them)."""
    root = Path(mcp_transport.state.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        depth = len(path.relative_to(root).parts)  # state/x.py: 1, state/redis/x.py: 2
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                absolute = module.startswith("mcp_transport.server")
                relative = node.level == depth + 1 and (node.module or "").startswith("server")
                if absolute or relative:
                    offenders.append(f"{path.relative_to(root)}: {module}")
            elif isinstance(node, ast.Import):
                offenders += [a.name for a in node.names if a.name.startswith("mcp_transport.server")]
    assert offenders == []
