"""Client over stdio against a real subprocess: ``python -m servers.everything --stdio``."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest

from mcp_transport import (
    Client,
    ConnectionClosed,
    RemoteError,
    RequestTimeout,
    UsageError,
)
from mcp_transport.jsonrpc import (
    PARSE_ERROR,
    REQUEST_TOO_LARGE,
    Message,
    Notification,
    Request,
    Result,
)
from mcp_transport.transports.stdio import MAX_LINE_BYTES, StdioProcess
from tests.client_helpers import Recording, pending_calls_then, touch_watched_resource

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]
SERVER = [sys.executable, "-m", "servers.everything", "--stdio"]


def client(era: str = "legacy", **kwargs: Any) -> Client:
    return Client(SERVER, era=era, cwd=str(REPO), **kwargs)


class RecordingProcess(Recording, StdioProcess):
    """StdioProcess that keeps every message sent and received, for assertions."""

    def __init__(self, command: list[str], **kwargs: Any) -> None:
        super().__init__(command, **kwargs)
        self.sent: list[Message] = []

    async def send(self, message: Message, related_to: Any = None) -> None:
        self.sent.append(message)
        await super().send(message, related_to)


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_round_trip(era: str) -> None:
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with client(era) as c:
        assert c.protocol_version == ("2026-07-28" if era == "modern" else "2025-11-25")
        assert c.server_info["name"] == "everything"
        names = {tool["name"] for tool in await c.list_tools()}
        assert {"echo", "add", "sleep"} <= names
        result = await c.call_tool("add", {"a": 1, "b": 2})
        assert result["structuredContent"] == {"result": 3}
        assert (await c.call_tool("echo", {"text": "hé\nllo"}))["content"][0]["text"] == "hé\nllo"
        await c.call_tool("progress_stream", {"count": 5}, on_progress=on_progress)
        assert progress == [1, 2, 3, 4, 5]
        if era == "legacy":
            await c.ping()
        with pytest.raises(RemoteError) as info:
            await c.call_tool("no_such_tool", {})
        assert info.value.code == -32602


async def test_raising_callbacks_are_contained() -> None:
    """A progress or notification callback that raises is logged; the reader, the call and
    the client go on."""
    seen: list[str] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        seen.append(f"progress {value:g}")
        raise RuntimeError("a bug in the application's progress callback")

    async def on_notification(method: str, params: dict[str, Any]) -> None:
        seen.append(method)
        raise RuntimeError("a bug in the application's notification callback")

    async with client(on_notification=on_notification) as c:
        with anyio.fail_after(10):
            result = await c.call_tool("progress_stream", {"count": 2}, on_progress=on_progress)
            assert result["content"][0]["text"] == "sent 2"
            await c.call_tool("test_tool_with_logging", {})
            assert (await c.call_tool("echo", {"text": "still here"}))["content"][0]["text"] == "still here"
    assert seen[:2] == ["progress 1", "progress 2"] and "notifications/message" in seen


async def test_unknown_method_is_a_remote_error() -> None:
    async with client() as c:
        with pytest.raises(RemoteError) as info:
            await c.request("no/such/method")
        assert info.value.code == -32601


async def _raw_exchange(lines: list[bytes], expect: int) -> list[dict[str, Any]]:
    """Write raw bytes to the server's stdin; read ``expect`` response lines."""
    process = await anyio.open_process(SERVER, cwd=str(REPO), stderr=subprocess.DEVNULL)
    replies: list[dict[str, Any]] = []
    try:
        assert process.stdin and process.stdout
        for line in lines:
            await process.stdin.send(line)
        buffer = b""
        with anyio.fail_after(20):
            while len(replies) < expect:
                buffer += await process.stdout.receive()
                *complete, buffer = buffer.split(b"\n")
                replies.extend(orjson.loads(item) for item in complete if item.strip())
    finally:
        await process.stdin.aclose()  # type: ignore[union-attr]  # the process was started with a stdin pipe
        with anyio.move_on_after(5):
            await process.wait()
        if process.returncode is None:
            process.kill()
            await process.wait()
    return replies


INIT = (
    orjson.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"},
            },
        }
    )
    + b"\n"
)
PING = b'{"jsonrpc":"2.0","id":2,"method":"ping"}\n'


async def test_malformed_line_gets_parse_error_and_server_keeps_going() -> None:
    replies = await _raw_exchange([b"{not json at all\n", INIT, b"\xff\xfe garbage\n", PING], expect=4)
    errors = [r for r in replies if "error" in r]
    assert len(errors) == 2
    assert all(e["id"] is None and e["error"]["code"] == PARSE_ERROR for e in errors)
    assert {r.get("id") for r in replies if "result" in r} == {1, 2}


async def test_oversized_line_gets_clear_error_and_server_keeps_going() -> None:
    huge = (
        b'{"jsonrpc":"2.0","id":9,"method":"ping","params":{"pad":"' + b"x" * (MAX_LINE_BYTES + 10) + b'"}}\n'
    )
    replies = await _raw_exchange([INIT, huge, PING], expect=3)
    too_large = [r for r in replies if "error" in r]
    assert len(too_large) == 1
    assert too_large[0]["id"] is None
    assert too_large[0]["error"]["code"] == REQUEST_TOO_LARGE
    assert "exceeds" in too_large[0]["error"]["message"]
    assert {r.get("id") for r in replies if "result" in r} == {1, 2}


async def test_cancelling_a_running_tool() -> None:
    transport = RecordingProcess(SERVER, cwd=str(REPO))
    async with Client(transport, era="legacy") as c:
        with anyio.move_on_after(0.5):
            await c.call_tool("sleep", {"seconds": 1.5})
            pytest.fail("the call should have been cancelled")
        cancelled = [m.id for m in transport.sent if isinstance(m, Request) and m.method == "tools/call"][-1]
        sent_cancel = [
            m for m in transport.sent if isinstance(m, Notification) and m.method == "notifications/cancelled"
        ]
        assert sent_cancel and (sent_cancel[-1].params or {}).get("requestId") == cancelled
        # The server stays usable, and the cancelled call never gets a response.
        assert (await c.call_tool("echo", {"text": "still here"}))["content"][0]["text"] == "still here"
        await anyio.sleep(1.5)
        assert not [m for m in transport.received if isinstance(m, Result) and m.id == cancelled]
        assert (await c.call_tool("add", {"a": 2, "b": 2}))["structuredContent"] == {"result": 4}


async def test_timeout_cancels_and_raises_request_timeout() -> None:
    async with client() as c:
        with pytest.raises(RequestTimeout):
            await c.call_tool("sleep", {"seconds": 5}, timeout=0.3)
        await c.ping()


async def test_fifty_concurrent_requests() -> None:
    results: dict[int, Any] = {}
    async with client() as c:

        async def call(i: int) -> None:
            result = await c.call_tool("add", {"a": i, "b": 1000})
            results[i] = result["structuredContent"]["result"]

        async with anyio.create_task_group() as tg:
            for i in range(50):
                tg.start_soon(call, i)
    assert results == {i: i + 1000 for i in range(50)}


async def test_close_with_requests_pending_resolves_them_all() -> None:
    async with client() as c:
        with anyio.fail_after(15):
            outcomes = await pending_calls_then(
                c.aclose, lambda: c.call_tool("sleep", {"seconds": 30}, timeout=math.inf), count=5, settle=0.5
            )
        assert len(outcomes) == 5 and all(isinstance(e, ConnectionClosed) for e in outcomes)
        with pytest.raises(UsageError):
            await c.ping()


async def test_server_exit_mid_request_fails_fast() -> None:
    # A server that exits after reading its first request after initialize.
    script = (
        "import sys, json\n"
        "for line in sys.stdin:\n"
        "    msg = json.loads(line)\n"
        "    if msg.get('method') == 'initialize':\n"
        "        print(json.dumps({'jsonrpc': '2.0', 'id': msg['id'], 'result': "
        "{'protocolVersion': '2025-11-25', 'capabilities': {}, "
        "'serverInfo': {'name': 'dies', 'version': '0'}}}), flush=True)\n"
        "    elif msg.get('method') == 'tools/call':\n"
        "        sys.exit(3)\n"
    )
    async with Client([sys.executable, "-c", script], timeout=60, era="legacy") as c:
        with anyio.fail_after(10):
            with pytest.raises(ConnectionClosed) as info:
                await c.call_tool("anything", {})
        assert "exit code" in str(info.value) or "closed" in str(info.value)
        with pytest.raises(ConnectionClosed):
            await c.ping()


async def test_command_that_cannot_start() -> None:
    from mcp_transport import ConnectError

    with pytest.raises(ConnectError):
        async with Client(["/nonexistent/mcp-server-binary"]):
            pass


async def test_server_requests_are_answered_by_registered_handlers() -> None:
    async def elicit(params: dict[str, Any]) -> dict[str, Any]:
        return {"action": "accept", "content": {"age": 41}}

    async def sample(params: dict[str, Any]) -> dict[str, Any]:
        return {
            "role": "assistant",
            "content": {"type": "text", "text": "forty-two"},
            "model": "m",
            "stopReason": "endTurn",
        }

    logs: list[Any] = []

    async def on_notification(method: str, params: dict[str, Any]) -> None:
        if method == "notifications/message":
            logs.append(params["data"])

    roots = [{"uri": "file:///srv", "name": "srv"}]
    async with client(
        elicitation_handler=elicit, sampling_handler=sample, roots=roots, on_notification=on_notification
    ) as c:
        text = (await c.call_tool("test_elicitation_sep1034_defaults", {}))["content"][0]["text"]
        assert '"age": 41' in text and '"name": "John Doe"' in text  # ours kept, defaults filled
        assert (await c.call_tool("test_sampling", {"prompt": "q"}))["content"][0][
            "text"
        ] == "LLM response: forty-two"
        assert "file:///srv" in (await c.call_tool("list_client_roots", {}))["content"][0]["text"]
        await c.set_roots([{"uri": "file:///other", "name": "other"}])
        assert "file:///other" in (await c.call_tool("list_client_roots", {}))["content"][0]["text"]
        await c.call_tool("test_tool_with_logging", {})
        assert len(logs) == 3


async def test_resources_prompts_completion_and_logging_wrappers() -> None:
    updates: list[str] = []

    async def on_notification(method: str, params: dict[str, Any]) -> None:
        if method == "notifications/resources/updated":
            updates.append(params["uri"])

    async with client(on_notification=on_notification) as c:
        assert "test://static-text" in {r["uri"] for r in await c.list_resources()}
        assert "test://template/{id}/data" in {t["uriTemplate"] for t in await c.list_resource_templates()}
        contents = (await c.read_resource("test://template/7/data"))["contents"]
        assert '"id": "7"' in contents[0]["text"]
        assert "test_prompt_with_arguments" in {p["name"] for p in await c.list_prompts()}
        prompt = await c.get_prompt("test_prompt_with_arguments", {"arg1": "a", "arg2": "b"})
        assert prompt["messages"]
        completion = await c.complete(
            {"type": "ref/prompt", "name": "test_prompt_with_arguments"}, {"name": "arg1", "value": "par"}
        )
        assert completion["values"] == ["paris", "park", "parrot"]
        await c.set_logging_level("debug")
        await touch_watched_resource(c, updates)
        assert updates == ["test://watched-resource"]
        await c.unsubscribe_resource("test://watched-resource")


PAGED_SERVER = (
    "from mcp_transport import MCPServer\n"
    "server = MCPServer('paged', page_size=2)\n"
    "for i in range(5):\n"
    "    server.tool(name=f'tool{i}', description='t')(lambda: 'x')\n"
    "server.run_stdio()\n"
)


async def test_list_methods_follow_next_cursor() -> None:
    async with Client([sys.executable, "-c", PAGED_SERVER], cwd=str(REPO), era="legacy") as c:
        assert [t["name"] for t in await c.list_tools()] == [f"tool{i}" for i in range(5)]


async def test_open_and_aclose_without_async_with() -> None:
    c = client()
    await c.open()
    try:
        assert (await c.call_tool("echo", {"text": "manual"}))["content"][0]["text"] == "manual"
    finally:
        await c.aclose()
    await c.aclose()  # idempotent
    with pytest.raises(UsageError, match="closed"):
        await c.ping()
    with pytest.raises(UsageError):
        await c.open()


class MessagesOnly:
    """A transport of one's own with only the three message methods (no session, channel or
    header schemas): what ``Client`` accepts besides its own transports."""

    def __init__(self) -> None:
        self.process = StdioProcess(SERVER, cwd=str(REPO))

    async def start(self, receive: Any, task_group: Any, on_closed: Any) -> None:
        await self.process.start(receive, task_group, on_closed)

    async def send(self, message: Message, related_to: Any = None) -> None:
        await self.process.send(message, related_to)

    async def close(self) -> None:
        await self.process.close()


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_a_three_method_transport_of_ones_own(era: str) -> None:
    own = MessagesOnly()
    async with Client(own, era=era) as c:
        result = await c.call_tool("add", {"a": 2, "b": 3})
        assert result["structuredContent"] == {"result": 5.0}
        assert c.transport.session_id is None and c.channel_state is None
    assert own.process.returncode is not None  # closing the client closed the process


async def test_a_server_that_dies_on_start_is_reported_with_its_stderr() -> None:
    """The error names the real cause (the last lines of the server's stderr and its exit code),
    not only "the server closed its output"."""
    dies = "import sys; sys.stderr.write('Traceback (most recent call last):\\n' + 'x' * 5000 + '\\n'"
    dies += " + 'ModuleNotFoundError: No module named acme_tools\\n'); sys.exit(3)"
    with pytest.raises(ConnectionClosed) as caught:
        async with Client([sys.executable, "-c", dies]):
            pass
    message = str(caught.value)
    assert "exit code 3" in message
    assert message.endswith("ModuleNotFoundError: No module named acme_tools")
    assert len(message) < 1000  # a bounded tail, not the whole stderr
