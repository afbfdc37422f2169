"""``Client`` and durable tasks (2026-07-28 extension io.modelcontextprotocol/tasks, SEP-2663)
over a real uvicorn on 127.0.0.1: ``call_tool`` drives a task to its result, a
``start_tool_task`` handle polls, answers input rounds through the client's handlers,
cancels; a failed task raises the JSON-RPC error; and a task outlives the client process
that started it (a new process re-attaches by id)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import BaseModel

from mcp_transport import Client
from mcp_transport.client import TaskCancelled
from mcp_transport.errors import InternalError, RemoteError, UsageError
from mcp_transport.server import Context, MCPServer
from mcp_transport.server.tasks import TaskContext

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]


class Confirm(BaseModel):
    send: bool


def make_server() -> MCPServer:
    server = MCPServer("client-tasks")
    server.tasks.poll_interval_ms = 20

    @server.tool(task="optional")
    async def which(ctx: TaskContext) -> str:
        """Say whether this call runs as a task."""
        await anyio.sleep(0.05)
        return f"task={ctx.task_id is not None}"

    @server.tool(task="required")
    async def slow(seconds: float, ctx: Context) -> str:
        for _ in range(int(seconds * 20)):
            await anyio.sleep(0.05)
        await ctx.report_progress(1, 1, "done")
        return f"slept {seconds}"

    @server.tool(task="required")
    async def confirm(ctx: Context) -> str:
        first, second = await ctx.ask_all(
            ctx.elicit("Send?", Confirm, key="a"), ctx.elicit("Really?", Confirm, key="b")
        )
        third = await ctx.elicit("Sure?", Confirm, key="a")  # a key reused in a later round
        return ",".join(str(bool(x.data and x.data.send)) for x in (first, second, third))

    @server.tool()
    async def plain() -> str:
        return "never a task"

    @server.tool(task="required")
    async def broken() -> str:
        raise InternalError("broken on purpose")

    @server.tool(task="required")
    async def tool_error() -> str:
        raise RuntimeError("tool failed on purpose")

    return server


async def accept(params: dict[str, Any]) -> dict[str, Any]:
    return {"action": "accept", "content": {"send": True}}


async def test_call_tool_drives_a_task_to_its_result(http_server: Callable[..., str]) -> None:
    url = http_server(make_server())
    async with Client(url, era="modern") as client:
        assert "io.modelcontextprotocol/tasks" in client.capabilities["extensions"]
        assert (await client.call_tool("which"))["content"][0]["text"] == "task=True"
        assert (await client.call_tool("slow", {"seconds": 0.2}))["content"][0]["text"] == "slept 0.2"
        errored = await client.call_tool("tool_error")
        assert errored["isError"] is True
        with pytest.raises(RemoteError) as failed:
            await client.call_tool("broken")
        assert failed.value.code == -32603 and "broken on purpose" in failed.value.message


async def test_without_the_extension_optional_is_plain_and_required_is_refused(
    http_server: Callable[..., str],
) -> None:
    url = http_server(make_server())
    async with Client(url, era="modern", tasks=False) as client:
        assert "extensions" not in client.capabilities
        assert (await client.call_tool("which"))["content"][0]["text"] == "task=False"
        with pytest.raises(RemoteError) as refused:
            await client.call_tool("slow", {"seconds": 0})
        assert refused.value.code == -32021


async def test_handle_polls_answers_input_rounds_and_reports_status(http_server: Callable[..., str]) -> None:
    url = http_server(make_server())
    asked: list[str] = []

    async def elicit(params: dict[str, Any]) -> dict[str, Any]:
        asked.append(params["message"])
        return {"action": "accept", "content": {"send": params["message"] != "Really?"}}

    async with Client(url, era="modern", elicitation_handler=elicit) as client:
        task = await client.start_tool_task("confirm")
        assert task.task_id and task.last["status"] == "working"
        assert isinstance(task.last["ttlMs"], int) and isinstance(task.last["pollIntervalMs"], int)
        with anyio.fail_after(10):
            result = await task.result()
        assert result["content"][0]["text"] == "True,False,True"
        assert sorted(asked) == ["Really?", "Send?", "Sure?"]
        assert (await task.status())["status"] == "completed"


async def test_cancel_ends_the_task_cancelled(http_server: Callable[..., str]) -> None:
    url = http_server(make_server())
    async with Client(url, era="modern") as client:
        task = await client.start_tool_task("slow", {"seconds": 30})
        assert (await task.status())["status"] == "working"
        await task.cancel()
        await task.cancel()  # idempotent
        with anyio.fail_after(10), pytest.raises(TaskCancelled):
            await task.result()


async def test_result_timeout_leaves_the_task_running(http_server: Callable[..., str]) -> None:
    url = http_server(make_server())
    async with Client(url, era="modern") as client:
        task = await client.start_tool_task("slow", {"seconds": 1})
        with pytest.raises(TimeoutError):
            await task.result(timeout=0.2)
        with anyio.fail_after(10):
            assert (await client.task(task.task_id or "").result())["content"][0]["text"] == "slept 1.0"


async def test_a_cancelled_call_tool_cancels_its_task(http_server: Callable[..., str]) -> None:
    url = http_server(make_server())
    async with Client(url, era="modern") as client:
        started: list[str] = []
        original = client._task_from

        def spy(method: str, result: dict[str, Any]) -> Any:
            started.append(result["taskId"])
            return original(method, result)

        client._task_from = spy  # type: ignore[method-assign]  # observe the task id only
        with anyio.move_on_after(0.5):
            await client.call_tool("slow", {"seconds": 30})
        assert len(started) == 1
        with anyio.fail_after(5):
            while (await client.task(started[0]).status())["status"] != "cancelled":  # noqa: ASYNC110
                await anyio.sleep(0.02)


CLIENT_SCRIPT = textwrap.dedent(
    """
    import sys, anyio
    from mcp_transport import Client

    async def main(url, command, arg):
        async with Client(url, era="modern") as client:
            if command == "start":
                task = await client.start_tool_task("slow", {"seconds": float(arg)})
                print(task.task_id, flush=True)
            else:
                result = await client.task(arg).result(timeout=20)
                print(result["content"][0]["text"], flush=True)

    anyio.run(main, *sys.argv[1:])
    """
)


async def test_a_task_outlives_the_client_process_that_started_it(
    http_server: Callable[..., str], tmp_path: Path
) -> None:
    url = http_server(make_server())
    script = tmp_path / "tasks_client.py"
    script.write_text(CLIENT_SCRIPT)

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, str(script), url, *args],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},  # this checkout's package, not an installed one
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    task_id = await anyio.to_thread.run_sync(run, "start", "1.5")
    assert task_id and task_id != "None"
    assert await anyio.to_thread.run_sync(run, "attach", task_id) == "slept 1.5"


async def test_unknown_task_id_is_a_clear_error(http_server: Callable[..., str]) -> None:
    url = http_server(make_server())
    async with Client(url, era="modern") as client:
        with pytest.raises(RemoteError) as unknown:
            await client.task("no-such-task").status()
        assert unknown.value.code == -32602


async def test_result_with_listen_wakes_on_the_tasks_notification(http_server: Callable[..., str]) -> None:
    server = make_server()
    server.tasks.poll_interval_ms = 60_000  # polling alone would wait 30 s (our cap) per round
    url = http_server(server)
    async with Client(url, era="modern", elicitation_handler=accept) as client:
        task = await client.start_tool_task("slow", {"seconds": 0.3})
        with anyio.fail_after(8):
            assert (await task.result(listen=True))["content"][0]["text"] == "slept 0.3"
        asking = await client.start_tool_task("confirm")
        with anyio.fail_after(8):
            assert (await asking.result(listen=True))["content"][0]["text"] == "True,True,True"


async def test_a_call_the_server_answers_at_once_gives_a_finished_handle(
    http_server: Callable[..., str],
) -> None:
    url = http_server(make_server())
    async with Client(url, era="modern") as client:
        handle = await client.start_tool_task("plain")
        assert handle.task_id is None and (await handle.status())["status"] == "completed"
        await handle.cancel()  # nothing to cancel
        assert (await handle.result())["content"][0]["text"] == "never a task"
    async with Client(url, era="modern", tasks=False) as client:
        with pytest.raises(UsageError, match="tasks=False"):
            await client.start_tool_task("plain")
