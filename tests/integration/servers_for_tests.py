"""Tools the HTTP integration tests need, and a small raw-HTTP MCP client for them.

The raw client speaks exactly what the tests want to see on the wire (status codes,
headers, SSE event ids), which a full client would hide.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import orjson
import uvicorn
from redis import Redis

from mcp_transport.jsonrpc import Notification
from mcp_transport.server import Context, MCPServer

JSON_AND_SSE = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def make_server() -> MCPServer:
    server = MCPServer("http-tests", "1.0.0")

    @server.tool()
    async def echo(text: str) -> str:
        """Echo the text back."""
        return text

    @server.tool()
    async def ticker(count: int, ctx: Context, pause_every: int = 10, pause: float = 0.001) -> str:
        """Send `count` progress notifications, pausing now and then, then return."""
        for i in range(count):
            await ctx.report_progress(i + 1, count)
            if pause_every and (i + 1) % pause_every == 0:
                await anyio.sleep(pause)
        return f"ticked {count}"

    @server.tool()
    async def slow(seconds: float, ctx: Context) -> str:
        """Report progress once, then work for a while: outlives a dropped connection."""
        await ctx.report_progress(0, 1)
        await anyio.sleep(seconds)
        return f"done after {seconds}"

    @server.tool()
    async def poll(ctx: Context) -> str:
        """Report progress, end the POST stream early (SSE polling), then finish."""
        await ctx.report_progress(1, 2)
        await ctx.close_stream()
        await anyio.sleep(0.2)
        await ctx.report_progress(2, 2)
        return "polled"

    @server.tool()
    async def cut(seconds: float, ctx: Context) -> str:
        """End the POST stream before sending anything (SSE polling), then work a while."""
        await ctx.close_stream()
        await anyio.sleep(seconds)
        return "cut"

    @server.tool()
    async def unrelated(count: int, tag: str, ctx: Context) -> str:
        """Send `count` notifications to this session's GET stream (they belong to no request)."""
        connection = ctx.request_context.connection
        assert connection.send_unrelated is not None
        for i in range(count):
            await connection.send_unrelated(
                Notification("notifications/message", {"level": "info", "data": f"{tag}-{i}"})
            )
        return "sent"

    @server.tool()
    async def broadcast(tag: str, ctx: Context) -> str:
        """server.notify_all: one notification to every session's GET stream."""
        await server.notify_all("notifications/message", {"level": "info", "data": tag})
        return "broadcast"

    @server.tool()
    async def roots(ctx: Context) -> str:
        """Ask the client for its roots (a server->client request on this POST's stream)."""
        found = await ctx.list_roots()
        return ",".join(r.uri for r in found)

    return server


def parse_sse(text: str) -> list[dict[str, Any]]:
    """Events of a complete SSE body: dicts with id, data (decoded JSON or ''), retry."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        event = _parse_block(block)
        if event is not None:
            events.append(event)
    return events


def _parse_block(block: str) -> dict[str, Any] | None:
    event: dict[str, Any] = {}
    data: list[str] = []
    for line in block.split("\n"):
        if not line or line.startswith(":"):
            if line.startswith(":"):
                event["comment"] = line[1:].strip()
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name in ("id", "event"):
            event[name] = value
        elif name == "retry":
            event["retry"] = int(value)
    if not event and not data:
        return None
    raw = "\n".join(data)
    event["data"] = orjson.loads(raw) if raw else ""
    return event


async def iter_sse(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """Events of a streaming response as they arrive (comments included, as 'comment')."""
    buffer = ""
    async for text in response.aiter_text():
        buffer += text.replace("\r\n", "\n")
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            event = _parse_block(block)
            if event is not None:
                yield event


def initialize_request(
    id: int = 1, version: str = "2025-11-25", capabilities: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A well-formed ``initialize`` request, for tests that post it raw."""
    return {
        "jsonrpc": "2.0",
        "id": id,
        "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": capabilities or {},
            "clientInfo": {"name": "raw", "version": "1"},
        },
    }


class RawSession:
    """A legacy MCP session driven with raw httpx requests."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self.client = client
        self.url = url
        self.session_id: str | None = None
        self.version = "2025-11-25"
        self._next_id = 0

    def next_id(self) -> int:
        self._next_id += 1
        return self._next_id

    @property
    def headers(self) -> dict[str, str]:
        headers = dict(JSON_AND_SSE)
        if self.session_id is not None:
            headers["mcp-session-id"] = self.session_id
            headers["mcp-protocol-version"] = self.version
        return headers

    async def initialize(
        self,
        version: str = "2025-11-25",
        capabilities: dict[str, Any] | None = None,
        *,
        initialized: bool = True,
    ) -> httpx.Response:
        response = await self.client.post(
            self.url,
            headers=JSON_AND_SSE,
            json=initialize_request(self.next_id(), version, capabilities),
        )
        assert response.status_code == 200, response.text
        self.session_id = response.headers["mcp-session-id"]
        self.version = version
        if initialized:
            ack = await self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
            assert ack.status_code == 202, ack.text
        return response

    async def post(self, message: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.post(
            self.url, headers={**self.headers, **(headers or {})}, content=orjson.dumps(message)
        )

    def request(
        self, method: str, params: dict[str, Any] | None = None, id: int | None = None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "jsonrpc": "2.0",
            "id": self.next_id() if id is None else id,
            "method": method,
        }
        if params is not None:
            message["params"] = params
        return message

    async def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a request and return its response message, from JSON or SSE."""
        response = await self.post(self.request(method, params))
        assert response.status_code == 200, response.text
        if response.headers["content-type"].startswith("application/json"):
            return response.json()
        messages = [e["data"] for e in parse_sse(response.text) if e.get("data")]
        return messages[-1]

    def tool_call(self, name: str, arguments: dict[str, Any], progress: bool = True) -> dict[str, Any]:
        params: dict[str, Any] = {"name": name, "arguments": arguments}
        if progress:
            params["_meta"] = {"progressToken": f"p-{name}"}
        return self.request("tools/call", params)

    def stream(self, method: str, message: Any = None, headers: dict[str, str] | None = None) -> Any:
        """A streaming POST (message given) or GET, as an httpx stream context manager."""
        all_headers = {**self.headers, **(headers or {})}
        if method == "GET":
            all_headers.pop("content-type", None)
            all_headers["accept"] = "text/event-stream"
            return self.client.stream("GET", self.url, headers=all_headers)
        return self.client.stream("POST", self.url, headers=all_headers, content=orjson.dumps(message))


@asynccontextmanager
async def sse_stream(raw: RawSession, method: str, body: Any = None, **headers: str) -> AsyncIterator[Any]:
    """``raw.stream(...)`` answered 200: its SSE events as they arrive."""
    async with raw.stream(method, body, headers=headers or None) as response:
        assert response.status_code == 200, await response.aread()
        yield iter_sse(response)


# The tools of servers.everything that ask the client something, the answer a test gives and
# the result that shows the answer reached the tool (2025-11-25 client/elicitation,
# client/sampling): (tool, arguments, answer, result text).
ASKING_TOOLS: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    (
        "test_elicitation",
        {"message": "who?"},
        {"action": "accept", "content": {"username": "ada", "email": "ada@example.com"}},
        'User response: action=accept, content={"username": "ada", "email": "ada@example.com"}',
    ),
    (
        "test_sampling",
        {"prompt": "hi"},
        {"role": "assistant", "content": {"type": "text", "text": "hello"}, "model": "m"},
        "LLM response: hello",
    ),
]


async def response_of(
    events: AsyncIterator[dict[str, Any]], on_request: Callable[[dict[str, Any]], Awaitable[None]]
) -> dict[str, Any]:
    """Read a POST's SSE events to its response, handing every server request on the stream
    to ``on_request`` (which answers it) on the way."""
    with anyio.fail_after(10):
        async for event in events:
            message = event.get("data")
            if not message or ("method" in message and "id" not in message):
                continue  # a priming event or a notification
            if "method" in message:
                await on_request(message)
                continue
            return message
    raise AssertionError("the stream ended without a response")


async def cancel_midway(events: AsyncIterator[dict[str, Any]], cancel: Callable[[], Awaitable[None]]) -> None:
    """Read the POST stream of a long tool; at its first message (the handler runs) call
    ``cancel()``; the stream must then end without a response, long before the tool would
    (2025-11-25 basic/utilities/cancellation)."""
    progressed = False
    with anyio.fail_after(10):
        async for event in events:
            message = event.get("data")
            if not message:
                continue
            assert "result" not in message and "error" not in message, message
            if not progressed:
                progressed = True
                await cancel()
    assert progressed, "the stream ended before the tool ran"


def cancellation(request: dict[str, Any]) -> dict[str, Any]:
    """The ``notifications/cancelled`` of ``request``."""
    params = {"requestId": request["id"], "reason": "test"}
    return {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params}


def has_writer(store: Redis, prefix: str, stream_id: str) -> bool:
    """Whether a worker sharing ``store`` under ``prefix`` counts itself the writer of the SSE
    stream ``stream_id`` (a handler of it still runs there)."""
    return any(store.hexists(key, stream_id) for key in store.keys(prefix + "writing:*"))


async def read_with_random_cuts(
    raw: RawSession, request: dict[str, Any], count: int, resume: Callable[[int, str], Any], *, seed: int
) -> tuple[list[dict[str, Any]], dict[str, Any], int]:
    """POST ``request`` (a tool that sends ``count`` progress notifications) and read its
    stream with 100 connection cuts at random places, resuming each time with
    ``resume(connection, last_event_id)`` (a GET stream context). Returns the messages
    before the result, the result and the number of connections used
    (2025-11-25 basic/transports#resumability-and-redelivery)."""
    cuts = sorted(random.Random(seed).sample(range(1, count), 100))
    received: list[dict[str, Any]] = []
    last_id: str | None = None
    result: dict[str, Any] | None = None
    connection = 0
    while result is None:
        stop_at = cuts[connection] if connection < len(cuts) else None
        source = raw.stream("POST", request) if last_id is None else resume(connection, last_id)
        async with source as response:
            assert response.status_code == 200, await response.aread()
            with anyio.fail_after(20):
                async for event in iter_sse(response):
                    last_id = event.get("id", last_id)
                    if not event.get("data"):
                        continue
                    if "result" in event["data"]:
                        result = event["data"]
                        break
                    received.append(event["data"])
                    if stop_at is not None and len(received) >= stop_at:
                        break  # cut the connection here
        connection += 1
    return received, result, connection


class ServerThread:
    """One uvicorn server on a free loopback port, serving ``app`` in a background thread."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(5)
        self.sock.close()
