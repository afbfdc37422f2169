"""The task store and wire shapes of the tasks extension (2026-07-28 extension
io.modelcontextprotocol/tasks, SEP-2663 "Tasks", "Task Update Requests")."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

import mcp_transport.state

from mcp_transport.server.tasks import MemoryTaskStore, TaskLimitExceeded, TaskRecord
from mcp_transport.server.tasks.model import create_result, declares_tasks, detailed_task

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def record(task_id: str = "t1", principal: str = "alice", ttl_ms: int = 60_000) -> TaskRecord:
    return TaskRecord(task_id, principal, ttl_ms, 100)


async def test_create_then_get_returns_a_copy() -> None:
    store = MemoryTaskStore()
    await store.create(record())
    got = await store.get("t1")
    assert got is not None and got.status == "working"
    got.status = "completed"  # a copy: the store is not changed behind its back
    assert (await store.get("t1")).status == "working"  # type: ignore[union-attr]
    assert await store.get("nope") is None


async def test_partial_answers_keep_input_required_until_all_are_in() -> None:
    store = MemoryTaskStore()
    await store.create(record())
    assert await store.add_input_request("t1", "a", {"method": "elicitation/create", "params": {}})
    assert await store.add_input_request("t1", "b", {"method": "elicitation/create", "params": {}})
    await store.answer("t1", {"a": {"action": "accept"}, "never-issued": {}})
    task = await store.get("t1")
    assert task is not None and task.status == "input_required" and list(task.input_requests) == ["b"]
    await store.answer("t1", {"b": {"action": "decline"}})
    assert (await store.get("t1")).status == "working"  # type: ignore[union-attr]
    assert await store.take_answer("t1", "a") == {"action": "accept"}
    assert await store.take_answer("t1", "a") is None  # consumed once
    assert not await store.add_input_request("t1", "a", {})  # a key is never reused


async def test_first_terminal_status_wins() -> None:
    store = MemoryTaskStore()
    await store.create(record())
    assert await store.finish("t1", "cancelled")
    assert not await store.finish("t1", "completed", result={"content": []})
    assert (await store.get("t1")).status == "cancelled"  # type: ignore[union-attr]
    flagged = await store.request_cancel("t1")
    assert flagged is not None and not flagged.cancel_requested  # terminal: nothing to cancel


async def test_ttl_expiry_removes_the_task() -> None:
    store = MemoryTaskStore()
    await store.create(record(ttl_ms=50))
    assert await store.expire(time.time()) == []
    assert await store.expire(time.time() + 0.1) == ["t1"]
    assert await store.get("t1") is None


async def test_per_principal_bound() -> None:
    store = MemoryTaskStore(max_tasks_per_principal=2)
    await store.create(record("a1"))
    await store.create(record("a2"))
    with pytest.raises(TaskLimitExceeded, match="at most 2 live tasks"):
        await store.create(record("a3"))
    await store.create(record("b1", principal="bob"))  # another principal is not affected
    assert await store.count("alice") == 2


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
                offenders += [f"{path.name}: {a.name}" for a in node.names if "mcp_transport.server" in a.name]
    assert offenders == []
