"""``subscriptions/listen`` over HTTP (2026-07-28 basic/patterns/subscriptions,
basic/transports/streamable-http#receiving-messages) against a real
uvicorn: the acknowledgement first, only opted-in notifications, each tagged with the
subscription id, keepalive comments, a result when the server ends it, and the client
closing the stream ending the subscription."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx
import orjson
import pytest
from servers_for_tests import JSON_AND_SSE

from mcp_transport.protocol import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION, META_SUBSCRIPTION_ID
from mcp_transport.server import MCPServer
from mcp_transport.transports.http.headers import request_headers
from tests.waiting import until

pytestmark = pytest.mark.anyio


def make_server() -> MCPServer:
    server = MCPServer("listen")

    @server.tool()
    async def change_tools() -> str:
        """Register one more tool."""
        server.tool(name=f"extra_{len(server.tools)}", description="Extra.")(lambda: "x")
        return "ok"

    @server.tool()
    async def change_prompts() -> str:
        """Register one more prompt."""
        server.prompt(name=f"extra_{len(server.prompts)}", description="Extra.")(lambda: "x")
        return "ok"

    @server.tool()
    async def touch(uri: str) -> str:
        """Say that a resource changed."""
        await server.notify_resource_updated(uri)
        return "ok"

    @server.tool()
    async def end_listens() -> str:
        """End every listen stream gracefully (what a shutdown does)."""
        server.close_subscriptions()
        return "ok"

    @server.resource("test://a")
    def a() -> str:
        """A."""
        return "a"

    return server


class Wire:
    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self.client = client
        self.url = url
        self.next_id = 0

    def message(self, method: str, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        self.next_id += 1
        params = {**params, "_meta": {META_PROTOCOL_VERSION: "2026-07-28", META_CLIENT_CAPABILITIES: {}}}
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        return message, {**JSON_AND_SSE, **request_headers(method, params)}

    async def call(self, tool: str, **arguments: Any) -> None:
        message, headers = self.message("tools/call", {"name": tool, "arguments": arguments})
        response = await self.client.post(self.url, headers=headers, content=orjson.dumps(message))
        assert response.status_code == 200 and "result" in response.json(), response.text

    def listen(self, notifications: dict[str, Any]) -> Any:
        message, headers = self.message("subscriptions/listen", {"notifications": notifications})
        return message["id"], self.client.stream(
            "POST", self.url, headers=headers, content=orjson.dumps(message)
        )


async def frames(response: httpx.Response) -> AsyncIterator[dict[str, Any] | str]:
    """Each SSE data payload (decoded) or comment line, as it arrives."""
    async for line in response.aiter_lines():
        if line.startswith("data:"):
            yield orjson.loads(line[5:])
        elif line.startswith(":"):
            yield line


async def next_data(stream: AsyncIterator[dict[str, Any] | str]) -> dict[str, Any]:
    with anyio.fail_after(5):
        async for frame in stream:
            if isinstance(frame, dict):
                return frame
    raise AssertionError("the stream ended")


async def test_listen_stream(http_server: Callable[..., str]) -> None:
    server = make_server()
    url = http_server(server, keepalive=0.2)
    async with httpx.AsyncClient(timeout=10) as client:
        wire = Wire(client, url)
        wanted = {
            "toolsListChanged": True,
            "promptsListChanged": False,
            "resourceSubscriptions": ["test://a"],
            "somethingElse": True,
        }
        listen_id, request = wire.listen(wanted)
        async with request as response:
            assert response.status_code == 200 and response.headers["content-type"] == "text/event-stream"
            stream = frames(response)
            ack = await next_data(stream)
            tag = {META_SUBSCRIPTION_ID: listen_id}
            assert ack["method"] == "notifications/subscriptions/acknowledged"
            assert ack["params"] == {
                "notifications": {"toolsListChanged": True, "resourceSubscriptions": ["test://a"]},
                "_meta": tag,
            }
            await wire.call("change_prompts")  # not opted in
            await wire.call("touch", uri="test://b")  # not subscribed
            await wire.call("change_tools")
            await wire.call("touch", uri="test://a")
            changed = await next_data(stream)
            assert changed == {
                "jsonrpc": "2.0",
                "method": "notifications/tools/list_changed",
                "params": {"_meta": tag},
            }
            updated = await next_data(stream)
            assert updated["method"] == "notifications/resources/updated" and updated["params"] == {
                "uri": "test://a",
                "_meta": tag,
            }
            with anyio.fail_after(5):
                assert await stream.__anext__() == ": keepalive"
            await wire.call("end_listens")
            final = await next_data(stream)
            assert final["id"] == listen_id and final["result"]["resultType"] == "complete"
            assert final["result"]["_meta"][META_SUBSCRIPTION_ID] == listen_id
            with anyio.fail_after(5):
                assert [f async for f in stream if isinstance(f, dict)] == []  # the stream ended
        assert not server.subscriptions


async def test_closing_the_stream_ends_the_subscription(http_server: Callable[..., str]) -> None:
    server = make_server()
    url = http_server(server)
    async with httpx.AsyncClient(timeout=10) as client:
        wire = Wire(client, url)
        _, request = wire.listen({"toolsListChanged": True})
        async with request as response:
            await next_data(frames(response))
            assert len(server.subscriptions) == 1
    await until(lambda: not server.subscriptions)


async def test_server_shutdown_ends_listen_streams_with_their_result() -> None:
    from tests.interop_servers import our_server

    process = our_server().start()
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            listen_id, request = Wire(client, process.url).listen({"toolsListChanged": True})
            async with request as response:
                stream = frames(response)
                assert (await next_data(stream))["method"] == "notifications/subscriptions/acknowledged"
                assert process.process is not None
                process.process.terminate()  # SIGTERM: run_http ends listens before waiting for connections
                final = await next_data(stream)
        assert final["id"] == listen_id and final["result"]["resultType"] == "complete"
        assert final["result"]["_meta"][META_SUBSCRIPTION_ID] == listen_id
        await anyio.to_thread.run_sync(process.process.wait, 10)  # uvicorn re-raises SIGTERM once it is done
    finally:
        process.stop()
