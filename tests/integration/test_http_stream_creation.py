"""A stream id is published only once the EventLog holds the stream: with a store whose
``create`` yields (a network round trip, as to Redis), a message sent while the stream is
being created waits for it and is delivered, never appended to a stream that does not exist
yet and silently lost. Real uvicorn on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from servers_for_tests import RawSession, iter_sse, parse_sse

from mcp_transport.server import Context, MCPServer
from mcp_transport.state import MemoryEventLog

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


class SlowCreateLog(MemoryEventLog):
    """A log whose ``create`` yields for a while before the stream exists."""

    async def create(self, stream_id: str, session_id: str) -> None:
        await anyio.sleep(0.2)
        await super().create(stream_id, session_id)


def chatty_server() -> MCPServer:
    server = MCPServer("chatty")

    @server.tool()
    async def two_at_once(ctx: Context) -> str:
        """Send two log messages concurrently: the first opens a stream, the second comes
        while that stream is being created."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(ctx.log, "info", "first")
            tg.start_soon(ctx.log, "info", "second")
        return "done"

    return server


@pytest.fixture
async def client() -> Any:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def logged(messages: list[dict[str, Any]]) -> list[str]:
    return sorted(m["params"]["data"] for m in messages if m.get("method") == "notifications/message")


async def test_messages_sent_while_a_post_stream_is_created_are_delivered(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    raw = RawSession(client, http_server(chatty_server(), event_log=SlowCreateLog()))
    await raw.initialize()
    with anyio.fail_after(5):
        response = await raw.post(raw.tool_call("two_at_once", {}, progress=False))
    assert response.headers["content-type"].startswith("text/event-stream"), response.text
    messages = [e["data"] for e in parse_sse(response.text) if e.get("data")]
    assert logged(messages) == ["first", "second"], messages
    assert messages[-1]["result"]["content"][0]["text"] == "done"


async def test_messages_sent_while_the_get_stream_is_created_are_delivered(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    # JSON answers: the tool's log messages travel on the session's GET stream.
    raw = RawSession(client, http_server(chatty_server(), response_mode="json", event_log=SlowCreateLog()))
    await raw.initialize()
    with anyio.fail_after(5):
        response = await raw.post(raw.tool_call("two_at_once", {}, progress=False))
    assert response.json()["result"]["content"][0]["text"] == "done", response.text
    received: list[dict[str, Any]] = []
    with anyio.move_on_after(2):
        async with raw.stream("GET") as get:
            async for event in iter_sse(get):
                if event.get("data"):
                    received.append(event["data"])
                if len(received) == 2:
                    break
    assert logged(received) == ["first", "second"], received
