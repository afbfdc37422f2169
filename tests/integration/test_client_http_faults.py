"""Fault handling of the HTTP client against real misbehaving servers on 127.0.0.1."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from mcp_transport import (
    Client,
    ConnectError,
    ConnectionClosed,
    RequestTimeout,
)
from mcp_transport.client.http import HTTPTransport
from mcp_transport.jsonrpc import Result
from tests.client_helpers import Recording, pending_calls_then
from tests.interop_servers import HERE, ServerProcess, free_port

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def faulty() -> Iterator[ServerProcess]:
    port = free_port()
    server = ServerProcess([sys.executable, str(HERE / "fault_server.py"), "--port", str(port)], port).start()
    yield server
    server.kill()  # its 'hang' connections would hold a graceful shutdown for seconds


class RecordingHTTP(Recording, HTTPTransport):
    pass


async def test_stream_closed_mid_call_resumes_and_delivers_the_result_once(faulty: ServerProcess) -> None:
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    transport = RecordingHTTP(faulty.url)
    async with Client(transport, timeout=10, era="legacy") as client:
        result = await client.call_tool("drop", {}, on_progress=on_progress)
        assert result["content"][0]["text"].startswith("resumed after")
        assert progress == [1, 2]
        results = [m for m in transport.received if isinstance(m, Result) and "content" in m.result]
        assert len(results) == 1
        # The connection stays usable.
        assert (await client.call_tool("echo", {}))["content"][0]["text"] == "echo"


async def test_stream_without_event_ids_fails_fast(faulty: ServerProcess) -> None:
    async with Client(faulty.url, timeout=30, era="legacy") as client:
        started = time.monotonic()
        with pytest.raises(ConnectionClosed, match="no event id"):
            await client.call_tool("noid", {})
        assert time.monotonic() - started < 5


async def test_server_that_never_answers_times_out(faulty: ServerProcess) -> None:
    async with Client(faulty.url, timeout=30, era="legacy") as client:
        started = time.monotonic()
        with pytest.raises(RequestTimeout):
            await client.call_tool("hang", {}, timeout=0.5)
        assert time.monotonic() - started < 3
        assert (await client.call_tool("echo", {}))["content"][0]["text"] == "echo"


async def test_silent_tcp_server_times_out_the_handshake() -> None:
    """A socket that accepts and reads but never writes a byte."""

    async def swallow(stream: Any) -> None:
        async with stream:
            async for _ in stream:
                pass

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, swallow)
        started = time.monotonic()
        with pytest.raises(RequestTimeout):
            async with Client(f"http://127.0.0.1:{port}/mcp", timeout=0.5, era="legacy"):
                pass
        assert time.monotonic() - started < 5
        tg.cancel_scope.cancel()


async def test_nothing_listening_is_a_connect_error() -> None:
    started = time.monotonic()
    with pytest.raises(ConnectError):
        async with Client(f"http://127.0.0.1:{free_port()}/mcp", timeout=10, era="legacy"):
            pass
    assert time.monotonic() - started < 5


async def test_close_with_requests_pending_resolves_them(faulty: ServerProcess) -> None:
    async with Client(faulty.url, timeout=60, era="legacy") as client:
        with anyio.fail_after(10):
            outcomes = await pending_calls_then(
                client.aclose, lambda: client.call_tool("hang", {}), count=3, settle=0.3
            )
    assert len(outcomes) == 3 and all(isinstance(e, ConnectionClosed) for e in outcomes)


async def test_get_stream_reconnects_then_fails_observably(faulty: ServerProcess) -> None:
    from mcp_transport import ChannelState, ReconnectPolicy

    seen: list[ChannelState] = []
    changed = anyio.Event()

    async def on_notification(method: str, params: dict[str, Any]) -> None:
        if method == "notifications/tools/list_changed":
            changed.set()

    url = faulty.url.replace("/mcp", "/flaky/mcp")
    policy = ReconnectPolicy(max_attempts=3, initial_delay=0.05, max_delay=0.2)
    async with Client(url, reconnect=policy, on_notification=on_notification, era="legacy") as client:
        with anyio.fail_after(10):
            await changed.wait()
            while client.channel_state is not ChannelState.FAILED:
                if client.channel_state not in seen:
                    seen.append(client.channel_state)  # type: ignore[arg-type]
                await anyio.sleep(0.005)
        assert ChannelState.RECONNECTING in seen
        # The dead channel does not affect requests.
        assert (await client.call_tool("echo", {}))["content"][0]["text"] == "echo"
    async with httpx.AsyncClient() as http:
        gets = (await http.get(faulty.url.replace("/mcp", "/stats"))).json()["flaky_gets"]
    # One stream, then the whole budget of reconnects, each resuming from the last event id.
    assert gets == [None, "g-1", "g-1", "g-1"]
