"""The event log's flow policy on a real uvicorn: a response larger than the stream bound
reaches its reader, a chatty tool's reader gets every event and the result, and the stream
races (a response appended after the handler ends, a Last-Event-ID beyond the last event,
one-shot answers) lose nothing. Spec: 2025-11-25 basic/transports#resumability-and-redelivery."""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from servers_for_tests import RawSession, iter_sse, make_server, parse_sse

from mcp_transport.server import Context, MCPServer
from mcp_transport.state import MemoryEventLog

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client() -> Any:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def server_with_big_result() -> MCPServer:
    server = make_server()

    @server.tool()
    async def big(size: int, ctx: Context) -> str:
        """One progress notification (the answer becomes a logged stream), then `size` bytes."""
        await ctx.report_progress(1, 1)
        return "x" * size

    return server


def data_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    return [e["data"] for e in parse_sse(response.text) if e.get("data")]


@pytest.mark.parametrize("mode", ["auto", "sse"])
async def test_a_response_larger_than_the_stream_bound_is_delivered(
    mode: str, http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    log = MemoryEventLog(max_stream_bytes=4096)
    raw = RawSession(client, http_server(server_with_big_result(), response_mode=mode, event_log=log))
    await raw.initialize()
    sent = data_of(await raw.post(raw.tool_call("big", {"size": 100_000})))
    assert sent[0]["method"] == "notifications/progress"
    assert "error" not in sent[-1], sent[-1]
    assert len(sent[-1]["result"]["content"][0]["text"]) == 100_000


async def test_a_chatty_tool_outrunning_its_reader_loses_nothing(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    # A tight loop of notifications, six times the stream bound, read as fast as we can.
    raw = RawSession(client, http_server(make_server(), event_log=MemoryEventLog(max_stream_events=500)))
    await raw.initialize()
    with anyio.fail_after(20):
        sent = data_of(await raw.post(raw.tool_call("ticker", {"count": 3_000, "pause_every": 0})))
    assert "error" not in sent[-1], sent[-1]
    assert sent[-1]["result"]["content"][0]["text"] == "ticked 3000"
    assert [m["params"]["progress"] for m in sent[:-1]] == list(range(1, 3_001))


class SlowAppendLog(MemoryEventLog):
    """A log whose final append takes a while (a network round trip, as to Redis)."""

    async def append(
        self, stream_id: str, data: bytes, *, last: bool = False, once: str | None = None
    ) -> int:
        if last:
            await anyio.sleep(0.5)
        return await super().append(stream_id, data, last=last, once=once)


async def test_the_stream_stays_open_until_its_response_is_appended(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    raw = RawSession(client, http_server(make_server(), keepalive=0.1, event_log=SlowAppendLog()))
    await raw.initialize()
    with anyio.fail_after(5):
        sent = data_of(await raw.post(raw.tool_call("slow", {"seconds": 0.2})))
    assert sent[-1].get("result", {}).get("content", [{}])[0].get("text") == "done after 0.2", sent


async def test_a_last_event_id_beyond_the_last_event_is_refused_and_the_get_stream_goes_on(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    raw = RawSession(client, http_server(make_server()))
    await raw.initialize()
    async with raw.stream("GET") as get:
        priming = await iter_sse(get).__anext__()
    stream_id = priming["id"].rsplit(":", 1)[0]
    response = await client.get(
        raw.url, headers={**raw.headers, "accept": "text/event-stream", "last-event-id": f"{stream_id}:999"}
    )
    assert response.status_code == 400 and "names no event" in response.json()["error"]["message"]
    await raw.call("tools/call", {"name": "unrelated", "arguments": {"count": 2, "tag": "later"}})
    got: list[dict[str, Any]] = []
    async with raw.stream("GET") as get:
        events = iter_sse(get)
        with anyio.fail_after(5):
            while len(got) < 2:
                event = await events.__anext__()
                if event.get("data"):
                    got.append(event["data"])
    assert [m["params"]["data"] for m in got] == ["later-0", "later-1"]


async def test_one_shot_sse_answers_advertise_no_id_a_resume_would_refuse(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    raw = RawSession(client, http_server(make_server(), response_mode="sse"))
    await raw.initialize()
    response = await raw.post(raw.tool_call("echo", {"text": "hi"}, progress=False))
    events = parse_sse(response.text)
    assert events[-1]["data"]["result"]["content"][0]["text"] == "hi"
    for event_id in [e["id"] for e in events if e.get("id")]:
        resume = await client.get(
            raw.url, headers={**raw.headers, "accept": "text/event-stream", "last-event-id": event_id}
        )
        assert resume.status_code == 200, resume.text


async def test_cancelled_slow_requests_leave_no_stream_behind(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    server = make_server()

    @server.tool()
    async def nap(seconds: float) -> str:
        """Silent and slow: in sse mode the answer becomes a logged stream with no event."""
        await anyio.sleep(seconds)
        return "rested"

    log = MemoryEventLog()
    raw = RawSession(client, http_server(server, response_mode="sse", event_log=log))
    await raw.initialize()
    for _ in range(10):
        request = raw.tool_call("nap", {"seconds": 30}, progress=False)
        async with raw.stream("POST", request) as response:
            with anyio.fail_after(5):
                async for event in iter_sse(response):
                    if event.get("id", "").endswith(":0"):  # primed: the stream exists
                        cancel = {
                            "jsonrpc": "2.0",
                            "method": "notifications/cancelled",
                            "params": {"requestId": request["id"]},
                        }
                        assert (await raw.post(cancel)).status_code == 202
    assert len(log) == 0, f"{len(log)} cancelled streams are still held"


async def test_a_reader_that_never_reads_holds_the_tool_briefly_and_memory_stays_bounded(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    server = make_server()
    finished = threading.Event()

    @server.tool()
    async def flood(count: int, ctx: Context) -> str:
        """`count` progress notifications in a tight loop."""
        for i in range(count):
            await ctx.report_progress(i + 1, count)
        finished.set()
        return "flooded"

    log = MemoryEventLog(max_stream_events=1_000, max_wait=0.2)
    raw = RawSession(client, http_server(server, event_log=log))
    await raw.initialize()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        async with raw.stream("POST", raw.tool_call("flood", {"count": 30_000})) as response:
            await response.aiter_raw().__anext__()  # then never read again
            # The handler waited for us only briefly (set in the server's thread).
            assert await anyio.to_thread.run_sync(finished.wait, 30)
            grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # 1,000 held events of ~110 bytes, socket buffers and a chunk or two in flight.
    assert grown < 3_000_000, f"the server grew by {grown} bytes for a reader that reads nothing"
