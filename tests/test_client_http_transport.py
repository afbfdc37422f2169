"""HTTPTransport through Client, against scripted servers (httpx.MockTransport): headers,
response kinds, session renewal, resumption, the modern headers and the error mapping."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mcp_transport import (
    Client,
    ConnectError,
    ConnectionClosed,
    RemoteError,
    RequestTimeout,
    TransportError,
)
from mcp_transport.errors import MCPError, SessionNotFound
from mcp_transport.transports.http_client.http_errors import map_httpx_error, status_error

pytestmark = pytest.mark.anyio

URL = "http://mcp.test/mcp"
INIT_RESULT = {
    "protocolVersion": "2025-11-25",
    "capabilities": {"tools": {}, "logging": {}},
    "serverInfo": {"name": "mock", "version": "1"},
}


def result(rid: Any, value: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "result": value}


class Script:
    """A tiny scripted MCP server: records every request, answers via ``on_call``."""

    def __init__(
        self, on_call: Callable[[httpx.Request, dict[str, Any]], httpx.Response] | None = None
    ) -> None:
        self.requests: list[httpx.Request] = []
        self.on_call = on_call
        self.sessions = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "GET":
            return httpx.Response(405)
        if request.method == "DELETE":
            return httpx.Response(200)
        body = json.loads(request.content)
        if body.get("method") == "initialize":
            self.sessions += 1
            return httpx.Response(
                200, json=result(body["id"], INIT_RESULT), headers={"Mcp-Session-Id": f"s{self.sessions}"}
            )
        if "id" not in body or "method" not in body:
            return httpx.Response(202)
        if self.on_call is not None:
            return self.on_call(request, body)
        return httpx.Response(200, json=result(body["id"], {}))

    def posts(self, method: str) -> list[httpx.Request]:
        return [
            r for r in self.requests if r.method == "POST" and json.loads(r.content).get("method") == method
        ]


def client(script: Script, **kwargs: Any) -> Client:
    return Client(URL, http_client=httpx.AsyncClient(transport=httpx.MockTransport(script)), **kwargs)


def sse(*events: str) -> httpx.Response:
    return httpx.Response(
        200, content="".join(events).encode(), headers={"Content-Type": "text/event-stream"}
    )


async def test_headers_before_and_after_initialize() -> None:
    script = Script()
    async with client(script, headers={"X-Custom": "yes"}) as c:
        await c.ping()
    init, initialized, ping = (
        script.posts("initialize")[0],
        script.posts("notifications/initialized")[0],
        script.posts("ping")[0],
    )
    assert init.headers["accept"] == "application/json, text/event-stream"
    assert init.headers["content-type"] == "application/json"
    assert "mcp-session-id" not in init.headers and "mcp-protocol-version" not in init.headers
    for later in (initialized, ping):
        assert later.headers["mcp-session-id"] == "s1"
        assert later.headers["mcp-protocol-version"] == "2025-11-25"
        assert later.headers["x-custom"] == "yes"
    for post, method in ((init, "initialize"), (initialized, "notifications/initialized"), (ping, "ping")):
        assert post.headers["mcp-method"] == method  # Mcp-Method on every POST
    assert [r.method for r in script.requests][-1] == "DELETE"


async def test_sse_response_with_notifications_before_the_result() -> None:
    seen: list[str] = []

    def on_call(request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        token = body["params"]["_meta"]["progressToken"]
        progress = {
            "jsonrpc": "2.0",
            "method": "notifications/progress",
            "params": {"progressToken": token, "progress": 1},
        }
        log = {"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "hi"}}
        return sse(
            ": keep-alive\n\n",
            "id: a\nretry: 10\ndata:\n\n",
            f"event: message\ndata: {json.dumps(progress)}\n\n",
            f"data: {json.dumps(log)}\n\n",
            f"id: b\ndata: {json.dumps(result(body['id'], {'content': []}))}\n\n",
        )

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        seen.append(f"progress {value}")

    async def on_notification(method: str, params: dict[str, Any]) -> None:
        seen.append(method)

    async with client(Script(on_call), on_notification=on_notification) as c:
        assert await c.call_tool("t", {}, on_progress=on_progress) == {"content": []}
    assert seen == ["progress 1", "notifications/message"]


async def test_404_renews_the_session_and_retries_once() -> None:
    calls = {"n": 0}

    def on_call(request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        calls["n"] += 1
        if request.headers.get("mcp-session-id") == "s1":
            return httpx.Response(
                404,
                json={
                    "jsonrpc": "2.0",
                    "id": None,
                    "error": {"code": -32001, "message": "Session not found"},
                },
            )
        return httpx.Response(200, json=result(body["id"], {"ok": True}))

    script = Script(on_call)
    async with client(script) as c:
        assert await c.request("tools/list") == {"ok": True}
        assert c.transport.session_id == "s2"
    assert script.sessions == 2 and calls["n"] == 2


async def test_404_after_renewal_is_session_not_found() -> None:
    script = Script(lambda request, body: httpx.Response(404))
    async with client(script) as c:
        with pytest.raises(SessionNotFound):
            await c.request("tools/list")
    assert script.sessions == 2


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(202), TransportError),
        (httpx.Response(200, text="<html>", headers={"Content-Type": "text/html"}), TransportError),
        (httpx.Response(500, text="boom"), TransportError),
        (
            httpx.Response(
                400, json={"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "bad"}}
            ),
            RemoteError,
        ),
        (httpx.Response(200, json={"jsonrpc": "2.0", "id": 999, "result": {}}), ConnectionClosed),
    ],
)
async def test_bad_answers_fail_the_request_with_a_typed_error(
    response: httpx.Response, error: type[MCPError]
) -> None:
    async with client(Script(lambda request, body: response), timeout=5) as c:
        with pytest.raises(error):
            await c.request("tools/list")


async def test_stream_ending_without_result_resumes_with_last_event_id() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.headers.get("last-event-id") == "e1":
            return sse(f"id: e2\ndata: {json.dumps(result(pending['id'], {'resumed': True}))}\n\n")
        return script(request)

    pending: dict[str, Any] = {}

    def on_call(request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        pending["id"] = body["id"]
        return sse("id: e1\nretry: 20\ndata:\n\n")

    script = Script(on_call)
    async with Client(URL, http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler))) as c:
        assert await c.request("tools/call", {"name": "x"}) == {"resumed": True}


async def test_modern_requests_carry_the_envelope_and_mirror_headers() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        value: dict[str, Any] = {"resultType": "complete"}
        if body["method"] == "server/discover":
            value.update(
                supportedVersions=["2026-07-28"],
                capabilities={},
                _meta={"io.modelcontextprotocol/serverInfo": {"name": "m"}},
            )
        return httpx.Response(200, json=result(body["id"], value))

    recorded: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        recorded.append(request)
        return handler(request)

    async with Client(
        URL, era="modern", http_client=httpx.AsyncClient(transport=httpx.MockTransport(recording))
    ) as c:
        await c.call_tool("weather", {"city": "Paris"})
        assert c.server_info == {"name": "m"}
    # tools/list first: Mcp-Param-* headers need the tool's inputSchema (listed lazily, once).
    assert [json.loads(r.content)["method"] for r in recorded] == [
        "server/discover",
        "tools/list",
        "tools/call",
    ]
    call = recorded[2]
    assert call.headers["mcp-protocol-version"] == "2026-07-28"
    assert call.headers["mcp-method"] == "tools/call"
    assert call.headers["mcp-name"] == "weather"
    assert "mcp-session-id" not in call.headers
    meta = json.loads(call.content)["params"]["_meta"]
    assert meta["io.modelcontextprotocol/protocolVersion"] == "2026-07-28"
    # A modern client declares the tasks extension by default (Client(tasks=True)).
    assert meta["io.modelcontextprotocol/clientCapabilities"] == {
        "extensions": {"io.modelcontextprotocol/tasks": {}}
    }
    assert not any(r.method == "DELETE" for r in recorded)


def test_every_httpx_transport_error_maps_to_a_typed_error() -> None:
    request = httpx.Request("POST", URL)
    expected = {
        httpx.ConnectError: ConnectError,
        httpx.ConnectTimeout: ConnectError,
        httpx.PoolTimeout: ConnectError,
        httpx.ReadTimeout: RequestTimeout,
        httpx.WriteTimeout: RequestTimeout,
        httpx.ReadError: ConnectionClosed,
        httpx.WriteError: ConnectionClosed,
        httpx.RemoteProtocolError: ConnectionClosed,
        httpx.CloseError: ConnectionClosed,
        httpx.ProxyError: ConnectError,
        httpx.UnsupportedProtocol: ConnectError,
    }
    for httpx_type, ours in expected.items():
        mapped = map_httpx_error(httpx_type("boom", request=request), "POST tools/call")
        assert type(mapped) is ours, httpx_type
        assert "POST tools/call" in str(mapped) and "boom" in str(mapped)
    leaves = {
        cls for cls in vars(httpx).values() if isinstance(cls, type) and issubclass(cls, httpx.TransportError)
    }
    for cls in leaves:
        assert isinstance(map_httpx_error(cls("x", request=request)), TransportError)


def test_status_errors() -> None:
    request = httpx.Request("POST", URL)
    unauthorized = httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="x"'}, request=request)
    assert "Bearer" in str(status_error(unauthorized, "POST ping", URL, None))
    assert isinstance(
        status_error(httpx.Response(404, request=request), "POST ping", URL, "s1"), SessionNotFound
    )
    error = status_error(httpx.Response(503, text="busy", request=request), "POST ping", URL, None)
    assert type(error) is TransportError and "503" in str(error) and "busy" in str(error)


def modern_handler(
    on_call: Callable[[dict[str, Any]], httpx.Response],
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["method"] == "server/discover":
            return httpx.Response(
                200, json=result(body["id"], {"resultType": "complete", "supportedVersions": ["2026-07-28"]})
            )
        return on_call(body)

    return handler


async def test_modern_lost_stream_is_sent_again_with_a_new_id() -> None:
    ids: list[Any] = []

    def on_call(body: dict[str, Any]) -> httpx.Response:
        if body["method"] == "tools/list":
            return httpx.Response(200, json=result(body["id"], {"resultType": "complete", "tools": []}))
        ids.append(body["id"])
        if len(ids) == 1:
            return sse(": started\n\n")  # the stream ends without the response
        return httpx.Response(200, json=result(body["id"], {"resultType": "complete", "attempt": 2}))

    http = httpx.AsyncClient(transport=httpx.MockTransport(modern_handler(on_call)))
    async with Client(URL, era="modern", http_client=http) as c:
        assert (await c.request("tools/call", {"name": "t"}))["attempt"] == 2
    assert len(ids) == 2 and ids[0] != ids[1]


async def test_log_level_legacy_sets_level_and_modern_stamps_meta() -> None:
    script = Script()
    async with client(script, log_level="debug") as c:
        await c.ping()
    assert json.loads(script.posts("logging/setLevel")[0].content)["params"] == {"level": "debug"}

    metas: list[dict[str, Any]] = []

    def on_call(body: dict[str, Any]) -> httpx.Response:
        metas.append(body["params"]["_meta"])
        return httpx.Response(200, json=result(body["id"], {"resultType": "complete"}))

    http = httpx.AsyncClient(transport=httpx.MockTransport(modern_handler(on_call)))
    async with Client(URL, era="modern", http_client=http, log_level="warning") as c:
        await c.request("tools/list")
    assert metas[0]["io.modelcontextprotocol/logLevel"] == "warning"


class BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


async def test_auth_is_applied_to_every_request() -> None:
    script = Script()
    async with client(script, auth=BearerAuth("t0ken")) as c:
        await c.ping()
    assert script.requests and all(r.headers["authorization"] == "Bearer t0ken" for r in script.requests)


async def test_401_names_the_challenge() -> None:
    def deny(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer resource_metadata="https://x/prm"'})

    with pytest.raises(TransportError, match="resource_metadata"):
        async with Client(URL, http_client=httpx.AsyncClient(transport=httpx.MockTransport(deny))):
            pass
