"""Our HTTP client against a server written with the official Python SDK, on 127.0.0.1
under uvicorn (a real subprocess): both response modes, progress, server->client requests,
the GET stream, a restart (404 -> re-initialize) and a crash (pending calls fail fast)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from mcp_transport import ChannelState, Client, TransportError
from tests.client_helpers import pending_calls_then
from tests.interop_servers import ServerProcess, sdk_server
from tests.waiting import until

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sse_server() -> Iterator[ServerProcess]:
    server = sdk_server().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def json_server() -> Iterator[ServerProcess]:
    server = sdk_server(None, "--json").start()
    yield server
    server.stop()


async def elicit(params: dict[str, Any]) -> dict[str, Any]:
    return {"action": "accept", "content": {"name": "Grace"}}  # age comes from the schema default


async def sample(params: dict[str, Any]) -> dict[str, Any]:
    prompt = params["messages"][0]["content"]["text"]
    return {
        "role": "assistant",
        "content": {"type": "text", "text": prompt.upper()},
        "model": "test",
        "stopReason": "endTurn",
    }


@pytest.mark.parametrize("mode", ["sse", "json"])
async def test_list_call_ping(mode: str, sse_server: ServerProcess, json_server: ServerProcess) -> None:
    server = sse_server if mode == "sse" else json_server
    async with Client(server.url, era="legacy") as client:
        assert client.protocol_version == "2025-11-25"
        assert client.transport.session_id
        assert {"add", "echo", "countdown", "ask_user", "sample"} <= {
            t["name"] for t in await client.list_tools()
        }
        assert (await client.call_tool("add", {"a": 2, "b": 40}))["content"][0]["text"] == "42"
        await client.ping()


async def test_progress_on_the_post_stream(sse_server: ServerProcess) -> None:
    seen: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total))

    async with Client(sse_server.url, era="legacy") as client:
        result = await client.call_tool("countdown", {"steps": 4}, on_progress=on_progress)
    assert result["content"][0]["text"] == "counted 4"
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


async def test_elicitation_and_sampling(sse_server: ServerProcess) -> None:
    # (The SDK's JSON mode has no back-channel for server->client requests.)
    async with Client(
        sse_server.url, elicitation_handler=elicit, sampling_handler=sample, era="legacy"
    ) as client:
        assert (await client.call_tool("ask_user", {}))["content"][0]["text"] == "accept: Grace/36"
        assert (await client.call_tool("sample", {"prompt": "hi"}))["content"][0]["text"] == "model said: HI"


async def test_get_stream_delivers_unrelated_notifications(sse_server: ServerProcess) -> None:
    received: list[str] = []
    arrived = anyio.Event()

    async def on_notification(method: str, params: dict[str, Any]) -> None:
        received.append(method)
        if method == "notifications/tools/list_changed":
            arrived.set()

    async with Client(sse_server.url, on_notification=on_notification, era="legacy") as client:
        await until(lambda: client.channel_state is ChannelState.CONNECTED, 10)
        with anyio.fail_after(10):
            await client.call_tool("change_tools", {})
            await arrived.wait()
    assert "notifications/tools/list_changed" in received
    assert client.channel_state is ChannelState.CLOSED


async def test_restart_reinitializes_transparently() -> None:
    server = sdk_server().start()
    try:
        async with Client(server.url, era="legacy") as client:
            first_session = client.transport.session_id
            assert (await client.call_tool("echo", {"text": "before"}))["content"][0]["text"] == "before"
            server.stop()
            server.start()  # same port, all sessions gone: the next request gets 404
            assert (await client.call_tool("echo", {"text": "after"}))["content"][0]["text"] == "after"
            assert client.transport.session_id not in (None, first_session)
            await client.ping()
    finally:
        server.stop()


async def test_killed_server_fails_pending_calls_fast() -> None:
    server = sdk_server().start()
    try:
        async with Client(server.url, timeout=60, era="legacy") as client:
            started = time.monotonic()
            outcomes = await pending_calls_then(
                server.kill, lambda: client.call_tool("sleep", {"seconds": 30}), count=3, settle=0.5
            )
            assert time.monotonic() - started < 10
            assert len(outcomes) == 3 and all(isinstance(e, TransportError) for e in outcomes), outcomes
            with pytest.raises(TransportError):
                await client.call_tool("echo", {"text": "anyone?"}, timeout=5)
    finally:
        server.stop()
