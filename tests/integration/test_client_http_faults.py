"""Fault handling of the HTTP client against real misbehaving servers on 127.0.0.1."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
from anyio.abc import SocketStream, TaskGroup, TaskStatus
from servers_for_tests import RawSession, make_server

from mcp_transport import (
    ChannelState,
    Client,
    ConnectError,
    ConnectionClosed,
    ReconnectPolicy,
    RequestTimeout,
    ResumeGap,
    StreamGap,
)
from mcp_transport.jsonrpc import Result
from mcp_transport.state.memory import MemoryEventLog
from mcp_transport.transports.http_client.reconnect import MIN_SERVER_RETRY
from mcp_transport.transports.http_client.streamable import HTTPTransport
from tests.client_helpers import Recording, pending_calls_then, wait_until
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
                    seen.append(client.channel_state)  # type: ignore[arg-type]  # channel_state is never None on HTTP
                await anyio.sleep(0.005)
        assert ChannelState.RECONNECTING in seen
        # The dead channel does not affect requests.
        assert (await client.call_tool("echo", {}))["content"][0]["text"] == "echo"
    async with httpx.AsyncClient() as http:
        gets = (await http.get(faulty.url.replace("/mcp", "/stats"))).json()["flaky_gets"]
    # One stream, then the whole budget of reconnects, each resuming from the last event id.
    assert gets == [None, "g-1", "g-1", "g-1"]


async def _stats(faulty: ServerProcess, key: str) -> list[str | None]:
    async with httpx.AsyncClient() as http:
        stats: dict[str, list[str | None]] = (await http.get(faulty.url.replace("/mcp", "/stats"))).json()
    return stats[key]


async def test_get_stream_gap_is_reported_then_a_fresh_stream_follows(faulty: ServerProcess) -> None:
    """A resume refused with 409 -32011 (the events are evicted) is a gap, not a failure to
    retry: the application hears what was lost, and a plain GET continues the stream."""
    gaps: list[StreamGap] = []
    after_gap = anyio.Event()

    async def on_stream_gap(gap: StreamGap) -> None:
        gaps.append(gap)

    async def on_notification(method: str, params: dict[str, Any]) -> None:
        if method == "notifications/resources/list_changed":
            after_gap.set()

    url = faulty.url.replace("/mcp", "/gap/mcp")
    policy = ReconnectPolicy(max_attempts=3, initial_delay=0.05, max_delay=0.2)
    before = len(await _stats(faulty, "gap_gets"))
    async with Client(
        url, reconnect=policy, on_notification=on_notification, on_stream_gap=on_stream_gap, era="legacy"
    ) as client:
        with anyio.fail_after(5):
            await after_gap.wait()
        assert client.channel_state is ChannelState.CONNECTED
    assert len(gaps) == 1
    reported = [(g.last_event_id, g.error.code, g.error.data) for g in gaps]
    assert reported == [("gap-1", -32011, {"oldestAvailable": 7})]
    assert (await _stats(faulty, "gap_gets"))[before:] == [None, "gap-1", None]


async def test_priming_events_do_not_renew_the_reconnect_budget(faulty: ServerProcess) -> None:
    """A server that sends ``retry: 0`` and an empty priming event, then closes, gets one GET
    and the budget of reconnects, spaced by the retry floor; then the channel fails."""
    url = faulty.url.replace("/mcp", "/spin/mcp")
    policy = ReconnectPolicy(max_attempts=3, initial_delay=0.05, max_delay=0.2)
    started = time.monotonic()
    async with Client(url, reconnect=policy, era="legacy") as client:
        with anyio.move_on_after(3):
            await wait_until(lambda: client.channel_state is ChannelState.FAILED)
        assert client.channel_state is ChannelState.FAILED
    gets = await _stats(faulty, "spin_gets")
    assert gets == [None, "s-1", "s-2", "s-3"]
    assert time.monotonic() - started >= 3 * MIN_SERVER_RETRY


async def test_retry_zero_reconnects_no_faster_than_the_floor(faulty: ServerProcess) -> None:
    """Each GET delivers a message (renewing the budget) with ``retry: 0`` and ends: the
    stream lives on, polled at most once per MIN_SERVER_RETRY, not in a busy loop."""
    url = faulty.url.replace("/mcp", "/chatty/mcp")
    async with Client(url, era="legacy") as client:
        await anyio.sleep(1)
        assert client.channel_state is not ChannelState.FAILED
    gets = await _stats(faulty, "chatty_gets")
    assert 3 <= len(gets) <= 1 / MIN_SERVER_RETRY + 2


class Outage:
    """A TCP proxy on a loopback port in front of ``target_port``. ``cut()`` breaks every open
    connection and stops listening, so new connections are refused, until ``restore()``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._scope: anyio.CancelScope | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        with anyio.CancelScope() as self._scope:
            listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=self.port)
            task_status.started()
            async with listener:
                await listener.serve(self._forward)

    def cut(self) -> None:
        assert self._scope is not None
        self._scope.cancel()

    async def restore(self, task_group: TaskGroup) -> None:
        await task_group.start(self.serve)

    async def _forward(self, downstream: SocketStream) -> None:
        upstream = await anyio.connect_tcp("127.0.0.1", self.target_port)
        async with downstream, upstream, anyio.create_task_group() as tg:
            tg.start_soon(_pipe, downstream, upstream, tg.cancel_scope)
            tg.start_soon(_pipe, upstream, downstream, tg.cancel_scope)


async def _pipe(source: SocketStream, sink: SocketStream, scope: anyio.CancelScope) -> None:
    try:
        async for chunk in source:
            await sink.send(chunk)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        pass
    scope.cancel()  # one side is gone: close both


async def test_refused_resume_is_retried_with_the_reconnect_policy(faulty: ServerProcess) -> None:
    """A request's stream breaks and its resume is refused for 2.5 s (the server unreachable):
    the resume backs off under the default policy, the GET stream's, and the call succeeds."""
    proxy = Outage(faulty.port)
    async with anyio.create_task_group() as tg:
        await proxy.restore(tg)
        async with Client(proxy.url, timeout=20, era="legacy") as client:
            progressed = anyio.Event()

            async def on_progress(value: float, total: float | None, message: str | None) -> None:
                progressed.set()

            async def outage() -> None:
                with anyio.fail_after(5):
                    await progressed.wait()
                proxy.cut()
                await anyio.sleep(2.5)
                await proxy.restore(tg)

            tg.start_soon(outage)
            started = time.monotonic()
            with anyio.fail_after(15):
                result = await client.call_tool("outage", {}, on_progress=on_progress)
            assert result["content"][0]["text"].startswith("resumed after")
            assert time.monotonic() - started >= 2.5
        proxy.cut()


@pytest.mark.parametrize("mode", ["auto", "json"])
async def test_raising_progress_callback_is_contained(mode: str, http_server: Callable[..., str]) -> None:
    """auto: progress on the POST's SSE stream; json: progress on the GET stream. A callback
    that raises is logged; the call completes and the client stays usable."""
    calls: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        calls.append(value)
        raise RuntimeError("a bug in the application's progress callback")

    url = http_server(make_server(), response_mode=mode)
    async with Client(url, era="legacy", timeout=10) as client:
        with anyio.fail_after(10):
            if mode == "json":  # progress goes to the GET stream: wait until it is open
                await wait_until(lambda: client.channel_state is ChannelState.CONNECTED)
            result = await client.call_tool("slow", {"seconds": 0.3}, on_progress=on_progress)
            assert result["content"] == [{"type": "text", "text": "done after 0.3"}]
            echoed = await client.call_tool("echo", {"text": "still here"})
            assert echoed["content"][0]["text"] == "still here"
        assert client.channel_state is ChannelState.CONNECTED
    assert calls == [0]


async def test_raising_stream_gap_callback_is_contained(faulty: ServerProcess) -> None:
    after_gap = anyio.Event()
    gaps: list[StreamGap] = []

    async def on_stream_gap(gap: StreamGap) -> None:
        gaps.append(gap)
        raise RuntimeError("a bug in the application's gap callback")

    async def on_notification(method: str, params: dict[str, Any]) -> None:
        if method == "notifications/resources/list_changed":
            after_gap.set()

    url = faulty.url.replace("/mcp", "/gap/mcp")
    async with Client(
        url, on_notification=on_notification, on_stream_gap=on_stream_gap, era="legacy"
    ) as client:
        with anyio.fail_after(5):
            await after_gap.wait()
        assert client.channel_state is ChannelState.CONNECTED
    assert len(gaps) == 1


async def test_gap_in_a_request_stream_fails_the_call_with_resume_gap(faulty: ServerProcess) -> None:
    """The response itself is gone: no retry, no fresh GET; the caller decides to re-send."""
    url = faulty.url.replace("/mcp", "/gap/mcp")
    async with Client(url, timeout=10, era="legacy") as client:
        started = time.monotonic()
        with pytest.raises(ResumeGap, match="evicted") as caught:
            await client.call_tool("drop", {})
        assert caught.value.data == {"oldestAvailable": 7}
        assert time.monotonic() - started < 2


async def test_gap_on_our_server_is_reported_and_the_stream_goes_on(http_server: Callable[..., str]) -> None:
    """End to end against our server with a 3-event log: the client's GET stream is cut, five
    broadcasts evict what it has not seen, the resume gets 409 -32011, a fresh GET follows."""
    url = http_server(make_server(), event_log=MemoryEventLog(max_stream_events=3), retry_ms=300)
    port = int(url.split(":")[2].split("/")[0])
    proxy = Outage(port)
    gaps: list[StreamGap] = []
    logs: list[str] = []

    async def on_stream_gap(gap: StreamGap) -> None:
        gaps.append(gap)

    async def on_notification(method: str, params: dict[str, Any]) -> None:
        if method == "notifications/message":
            logs.append(params["data"])

    async with anyio.create_task_group() as tg, httpx.AsyncClient() as http:
        await proxy.restore(tg)
        async with Client(
            proxy.url, on_notification=on_notification, on_stream_gap=on_stream_gap, era="legacy"
        ) as client:
            with anyio.fail_after(10):
                await wait_until(lambda: client.channel_state is ChannelState.CONNECTED)
                await client.call_tool("broadcast", {"tag": "seen"})
                await wait_until(lambda: logs == ["seen"])
                proxy.cut()
                other = RawSession(http, url)
                await other.initialize()
                for i in range(5):
                    await other.call("tools/call", {"name": "broadcast", "arguments": {"tag": f"missed-{i}"}})
                await proxy.restore(tg)
                await wait_until(lambda: bool(gaps) and client.channel_state is ChannelState.CONNECTED)
                await client.call_tool("broadcast", {"tag": "after"})
                await wait_until(lambda: "after" in logs)
        proxy.cut()
    assert len(gaps) == 1 and gaps[0].error.code == -32011
    assert "missed-0" not in logs  # evicted: that is the gap the application was told about
