"""Our HTTP client against our HTTP server (servers.everything) on 127.0.0.1 under uvicorn."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from mcp_transport import ChannelState, Client, TransportError
from mcp_transport.transports.http import http_app
from servers.everything import server as everything
from tests.client_helpers import pending_calls_then
from tests.interop_servers import our_server
from tests.waiting import until

pytestmark = pytest.mark.anyio


async def accept_defaults(params: dict[str, Any]) -> dict[str, Any]:
    return {"action": "accept", "content": {}}


async def sample(params: dict[str, Any]) -> dict[str, Any]:
    text = params["messages"][0]["content"]["text"]
    return {
        "role": "assistant",
        "content": {"type": "text", "text": f"echo: {text}"},
        "model": "m",
        "stopReason": "endTurn",
    }


@pytest.mark.parametrize("mode", ["auto", "json", "sse"])
async def test_round_trip(mode: str, http_server: Callable[..., str]) -> None:
    url = http_server(everything, response_mode=mode)
    async with Client(url, era="legacy") as client:
        assert client.protocol_version == "2025-11-25"
        assert client.transport.session_id
        names = {tool["name"] for tool in await client.list_tools()}
        assert {"echo", "add", "sleep", "test_reconnection"} <= names
        assert (await client.call_tool("add", {"a": 1, "b": 2}))["structuredContent"] == {"result": 3}
        await client.ping()
        assert [r["uri"] for r in await client.list_resources()]
        assert [p["name"] for p in await client.list_prompts()]


@pytest.mark.parametrize("mode", ["auto", "sse"])
async def test_progress_and_logging(mode: str, http_server: Callable[..., str]) -> None:
    url = http_server(everything, response_mode=mode)
    progress: list[float] = []
    logs: list[str] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async def on_notification(method: str, params: dict[str, Any]) -> None:
        if method == "notifications/message":
            logs.append(params["data"])

    async with Client(url, on_notification=on_notification, era="legacy") as client:
        await client.call_tool("progress_stream", {"count": 5}, on_progress=on_progress)
        await client.call_tool("test_tool_with_logging", {})
    assert progress == [1, 2, 3, 4, 5]
    assert logs == ["Tool execution started", "Tool processing data", "Tool execution completed"]


async def test_elicitation_sampling_and_roots(http_server: Callable[..., str]) -> None:
    url = http_server(everything)
    roots = [{"uri": "file:///work", "name": "work"}]
    async with Client(
        url, elicitation_handler=accept_defaults, sampling_handler=sample, roots=roots, era="legacy"
    ) as client:
        text = (await client.call_tool("test_elicitation_sep1034_defaults", {}))["content"][0]["text"]
        assert '"name": "John Doe"' in text and '"verified": true' in text
        assert (await client.call_tool("test_sampling", {"prompt": "hi"}))["content"][0][
            "text"
        ] == "LLM response: echo: hi"
        assert "file:///work" in (await client.call_tool("list_client_roots", {}))["content"][0]["text"]


async def test_unhandled_server_request_gets_an_error_not_silence(http_server: Callable[..., str]) -> None:
    # Declares sampling but registers no handler: the request must get -32601, not silence.
    async with Client(http_server(everything), capabilities={"sampling": {}}, era="legacy") as client:
        with anyio.fail_after(10):
            result = await client.call_tool("test_sampling", {"prompt": "hi"})
        assert result.get("isError") is True
        assert "Method not found" in result["content"][0]["text"]


async def test_get_stream_delivers_resource_updates(http_server: Callable[..., str]) -> None:
    updated = anyio.Event()

    async def on_notification(method: str, params: dict[str, Any]) -> None:
        if method == "notifications/resources/updated":
            updated.set()

    async with Client(http_server(everything), on_notification=on_notification, era="legacy") as client:
        await until(lambda: client.channel_state is ChannelState.CONNECTED, 10)
        with anyio.fail_after(10):
            await client.subscribe_resource("test://watched-resource")
            await client.call_tool("touch_watched_resource", {})
            await updated.wait()


async def test_server_closed_stream_is_resumed(serve_app: Callable[..., str]) -> None:
    # test_reconnection closes its stream before sending anything: the POST must be answered
    # with SSE that ends early, and the result must come on a GET with Last-Event-ID. The
    # server side records what the client sent, so a call answered in one go cannot pass.
    endpoint = http_app(everything, retry_ms=100)
    resumes: list[bytes] = []

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            last_event_id = dict(scope["headers"]).get(b"last-event-id")
            if last_event_id is not None:
                resumes.append(last_event_id)
        await endpoint(scope, receive, send)

    async with Client(serve_app(recording), era="legacy") as client:
        result = await client.call_tool("test_reconnection", {})
        assert result["content"][0]["text"] == "Reconnection test completed successfully"
    assert len(resumes) == 1 and resumes[0].endswith(b":0"), resumes  # resumed after the priming event


async def test_get_stream_absent_is_not_an_error(http_server: Callable[..., str]) -> None:
    async with Client(http_server(everything, get_stream=False), era="legacy") as client:
        await client.ping()
        await until(lambda: client.channel_state is not ChannelState.CONNECTED)
        assert client.channel_state is ChannelState.NONE


async def test_user_supplied_http_client_with_asgi_transport() -> None:
    app = http_app(everything, response_mode="json")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app)) as http:
        async with Client(
            "http://testserver/mcp", http_client=http, headers={"X-Test": "1"}, era="legacy"
        ) as client:
            client.transport.open_get_stream = False  # type: ignore[attr-defined]  # a test switch on the HTTP transport, not in the contract
            assert (await client.call_tool("echo", {"text": "in-process"}))["content"][0][
                "text"
            ] == "in-process"
        assert not http.is_closed  # the user's client is the user's to close


async def test_restart_reinitializes_transparently() -> None:
    server = our_server().start()
    try:
        async with Client(server.url, era="legacy") as client:
            before = client.transport.session_id
            await client.call_tool("echo", {"text": "one"})
            server.stop()
            server.start()
            assert (await client.call_tool("echo", {"text": "two"}))["content"][0]["text"] == "two"
            assert client.transport.session_id != before
    finally:
        server.stop()


async def test_killed_server_fails_pending_calls_fast() -> None:
    server = our_server().start()
    try:
        async with Client(server.url, timeout=60, era="legacy") as client:
            started = time.monotonic()
            failures = await pending_calls_then(
                server.kill, lambda: client.call_tool("sleep", {"seconds": 30}), count=3, settle=0.5
            )
            assert time.monotonic() - started < 10
        assert len(failures) == 3 and all(isinstance(e, TransportError) for e in failures), failures
    finally:
        server.stop()


async def test_modern_era_over_http(http_server: Callable[..., str]) -> None:
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with Client(http_server(everything), era="modern") as client:
        assert client.protocol_version == "2026-07-28"
        assert client.server_info["name"] == "everything"
        assert client.transport.session_id is None
        assert "add" in {tool["name"] for tool in await client.list_tools()}
        result = await client.call_tool("add", {"a": 2, "b": 5}, on_progress=on_progress)
        assert result["structuredContent"] == {"result": 7}
        assert result.get("resultType", "complete") == "complete"


async def test_fifty_concurrent_calls_on_one_session(http_server: Callable[..., str]) -> None:
    results: dict[int, Any] = {}
    async with Client(http_server(everything, response_mode="sse"), era="legacy") as client:

        async def call(i: int) -> None:
            results[i] = (await client.call_tool("add", {"a": i, "b": 1}))["structuredContent"]["result"]

        async with anyio.create_task_group() as tg:
            for i in range(50):
                tg.start_soon(call, i)
    assert results == {i: i + 1 for i in range(50)}


async def test_close_deletes_the_session(http_server: Callable[..., str]) -> None:
    url = http_server(everything)
    async with Client(url, era="legacy") as client:
        session = client.transport.session_id
        version = client.protocol_version
    assert session is not None and version is not None
    headers = {
        "Mcp-Session-Id": session,
        "MCP-Protocol-Version": version,
        "Accept": "application/json, text/event-stream",
    }
    async with httpx.AsyncClient() as http:
        response = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=headers)
    assert response.status_code == 404
