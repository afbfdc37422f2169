"""The 2026-07-28 leg of the HTTP endpoint against a real uvicorn on 127.0.0.1 (raw httpx
requests): every status path with its JSON-RPC body, SEP-2243 headers, JSON vs SSE
answers, per-request logging, MRTR over HTTP, cancel by disconnect, a legacy session and
modern requests side by side on one endpoint."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import orjson
import pytest
from servers_for_tests import JSON_AND_SSE, RawSession, parse_sse

from mcp_transport.protocol import (
    META_CLIENT_CAPABILITIES,
    META_LOG_LEVEL,
    META_PROTOCOL_VERSION,
    META_SERVER_INFO,
)
from mcp_transport.server import Context, MCPServer
from mcp_transport.transports.http.headers import request_headers
from servers.everything import server as everything

pytestmark = pytest.mark.anyio

V = "2026-07-28"
ALL: dict[str, Any] = {"sampling": {}, "elicitation": {"form": {}}, "roots": {}}


def envelope(caps: dict[str, Any] | None = None, version: str = V, **extra: Any) -> dict[str, Any]:
    return {META_PROTOCOL_VERSION: version, META_CLIENT_CAPABILITIES: caps or {}, **extra}


class Modern:
    """Raw 2026-07-28 requests: body with the envelope, headers mirrored from it."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self.client = client
        self.url = url
        self.next_id = 100

    def message(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        caps: dict[str, Any] | None = None,
        **meta: Any,
    ) -> dict[str, Any]:
        self.next_id += 1
        body_params = {**(params or {}), "_meta": envelope(caps, **meta)}
        return {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": body_params}

    def headers_for(self, message: dict[str, Any]) -> dict[str, str]:
        params = message.get("params")
        schema = None
        if message["method"] == "tools/call" and params and params.get("name") in everything.tools:
            schema = everything.tools[params["name"]].input_schema
        return {**JSON_AND_SSE, **request_headers(message["method"], params, schema)}

    async def post(
        self, message: dict[str, Any], headers: dict[str, str] | None = None, drop: tuple[str, ...] = ()
    ) -> httpx.Response:
        all_headers = {**self.headers_for(message), **(headers or {})}
        for name in drop:
            all_headers = {k: v for k, v in all_headers.items() if k.lower() != name.lower()}
        return await self.client.post(self.url, headers=all_headers, content=orjson.dumps(message))

    async def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        caps: dict[str, Any] | None = None,
        **meta: Any,
    ) -> dict[str, Any]:
        response = await self.post(self.message(method, params, caps, **meta))
        assert response.status_code == 200, response.text
        return messages(response)[-1]


def messages(response: httpx.Response) -> list[dict[str, Any]]:
    if response.headers["content-type"].startswith("application/json"):
        return [response.json()]
    return [e["data"] for e in parse_sse(response.text) if e.get("data")]


def assert_error(
    response: httpx.Response, status: int, code: int, request_id: Any, *words: str
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["id"] == request_id and body["error"]["code"] == code, body
    for word in words:
        assert word.lower() in body["error"]["message"].lower(), body
    return body


async def raw_status(modern: Modern, message: dict[str, Any], override: dict[str, str]) -> int:
    """POST with header values sent byte for byte; the response's status code."""
    url = httpx.URL(modern.url)
    body = orjson.dumps(message)
    headers = {
        **modern.headers_for(message),
        **override,
        "host": f"{url.host}:{url.port}",
        "content-length": str(len(body)),
        "connection": "close",
    }
    head = f"POST {url.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    assert url.port is not None
    async with await anyio.connect_tcp(url.host, url.port) as stream:
        await stream.send(head.encode() + body)
        first = await stream.receive()
    return int(first.split(b" ", 2)[1])


@pytest.fixture
async def client() -> Any:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
def modern(http_server: Callable[..., str], client: httpx.AsyncClient) -> Modern:
    return Modern(client, http_server(everything))


async def test_results_carry_result_type_server_info_and_cache_hints(modern: Modern) -> None:
    listed = (await modern.call("tools/list"))["result"]
    assert listed["resultType"] == "complete" and listed["ttlMs"] >= 0 and listed["cacheScope"] == "public"
    assert listed["_meta"][META_SERVER_INFO] == everything.server_info
    read = (await modern.call("resources/read", {"uri": "test://static-text"}))["result"]
    assert read["cacheScope"] == "private" and read["ttlMs"] == 0
    discover = (await modern.call("server/discover"))["result"]
    assert discover["supportedVersions"] == [V]
    assert discover["capabilities"] == {**everything.capabilities(), "extensions": everything.extensions}


async def test_envelope_errors_are_400_32602_with_the_id(modern: Modern) -> None:
    no_meta = {"jsonrpc": "2.0", "id": 7, "method": "server/discover", "params": {}}
    assert_error(await modern.post(no_meta, {"mcp-protocol-version": V}), 400, -32602, 7, "_meta")
    no_caps = {
        "jsonrpc": "2.0",
        "id": 8,
        "method": "server/discover",
        "params": {"_meta": {META_PROTOCOL_VERSION: V}},
    }
    assert_error(await modern.post(no_caps), 400, -32602, 8, "clientCapabilities")
    # A malformed envelope is refused, never served as legacy, even with a session id on it.
    bad = {"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {"_meta": {META_PROTOCOL_VERSION: 5}}}
    assert_error(await modern.post(bad, {"mcp-session-id": "whatever"}), 400, -32602, 9)


async def test_header_errors_are_400_32020(modern: Modern) -> None:
    message = modern.message("tools/call", {"name": "test_simple_text", "arguments": {}})
    rid = message["id"]
    assert_error(await modern.post(message, {"Mcp-Method": "prompts/list"}), 400, -32020, rid, "Mcp-Method")
    assert_error(await modern.post(message, drop=("Mcp-Method",)), 400, -32020, rid, "Missing")
    assert_error(await modern.post(message, {"Mcp-Name": "other_tool"}), 400, -32020, rid, "Mcp-Name")
    assert_error(await modern.post(message, drop=("Mcp-Name",)), 400, -32020, rid, "Mcp-Name")
    assert_error(
        await modern.post(message, {"MCP-Protocol-Version": "2025-11-25"}),
        400,
        -32020,
        rid,
        "MCP-Protocol-Version",
    )
    # Names are case-insensitive, values case-sensitive, optional whitespace is stripped
    # (httptools keeps it; httpx refuses to send it, so this one goes over a raw socket).
    assert await raw_status(modern, message, {"Mcp-Name": "  test_simple_text \t"}) == 200
    listing = modern.message("tools/list")
    assert (await modern.post(listing, {"MCP-METHOD": "tools/list"})).status_code == 200
    assert_error(await modern.post(listing, {"Mcp-Method": "TOOLS/LIST"}), 400, -32020, listing["id"])


async def test_mcp_param_headers_are_checked_against_the_tool_schema(modern: Modern) -> None:
    def call(region: str) -> dict[str, Any]:
        return modern.message("tools/call", {"name": "test_x_mcp_header", "arguments": {"region": region}})

    ok = await modern.post(call("Zürich"))  # non-ASCII travels Base64-wrapped
    assert ok.status_code == 200 and messages(ok)[-1]["result"]["content"][0]["text"] == "region: Zürich"
    wrapped = await modern.post(call("Hello"), {"Mcp-Param-Region": "=?base64?SGVsbG8=?="})
    assert wrapped.status_code == 200
    message = call("Hello")
    assert_error(
        await modern.post(message, drop=("Mcp-Param-Region",)), 400, -32020, message["id"], "Mcp-Param-Region"
    )
    assert_error(await modern.post(message, {"Mcp-Param-Region": "Bonjour"}), 400, -32020, message["id"])
    assert_error(
        await modern.post(message, {"Mcp-Param-Region": "=?base64?SGVsbG8?="}),
        400,
        -32020,
        message["id"],
        "Base64",
    )


async def test_unsupported_version_is_400_32022_listing_discover_versions(modern: Modern) -> None:
    message = modern.message("server/discover", version="v999.0.0")
    body = assert_error(await modern.post(message), 400, -32022, message["id"], "v999.0.0")
    supported = (await modern.call("server/discover"))["result"]["supportedVersions"]
    assert body["error"]["data"] == {"supported": supported, "requested": "v999.0.0"}


async def test_missing_client_capability_is_400_32021(modern: Modern) -> None:
    message = modern.message("tools/call", {"name": "test_missing_capability", "arguments": {}})
    body = assert_error(await modern.post(message), 400, -32021, message["id"], "sampling")
    assert body["error"]["data"] == {"requiredCapabilities": {"sampling": {}}}


@pytest.mark.parametrize(
    "method",
    ["initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe", "no/such"],
)
async def test_unknown_and_legacy_only_methods_are_404_32601(modern: Modern, method: str) -> None:
    message = modern.message(method)
    assert_error(await modern.post(message), 404, -32601, message["id"], method)


async def test_notifications_202_get_delete_405_batches_400(
    modern: Modern, client: httpx.AsyncClient
) -> None:
    note = {"jsonrpc": "2.0", "method": "notifications/whatever", "params": {"_meta": envelope()}}
    response = await modern.post(note)
    assert response.status_code == 202 and response.content == b""
    for method in ("GET", "DELETE"):
        response = await client.request(
            method, modern.url, headers={"accept": "text/event-stream", "mcp-protocol-version": V}
        )
        assert_error(response, 405, -32600, None, method)
        assert response.headers["allow"] == "POST"
    batch = [modern.message("tools/list"), modern.message("prompts/list")]
    response = await client.post(
        modern.url,
        headers={**JSON_AND_SSE, "mcp-protocol-version": V, "mcp-method": "tools/list"},
        content=orjson.dumps(batch),
    )
    assert_error(response, 400, -32600, None, "batch")


async def test_unknown_tool_and_resource_are_400_32602(modern: Modern) -> None:
    message = modern.message("resources/read", {"uri": "test://nope"})
    body = assert_error(await modern.post(message), 400, -32602, message["id"])
    assert body["error"]["data"]["uri"] == "test://nope"


async def test_progress_makes_the_answer_sse_and_logs_need_a_level(modern: Modern) -> None:
    response = await modern.post(
        modern.message("tools/call", {"name": "test_tool_with_progress", "arguments": {}}, progressToken="p")
    )
    assert (
        response.headers["content-type"] == "text/event-stream"
        and response.headers["x-accel-buffering"] == "no"
    )
    sent = messages(response)
    assert [m["params"]["progress"] for m in sent[:-1]] == [0, 50, 100]
    assert sent[-1]["result"]["resultType"] == "complete" and "id:" not in response.text  # no resumability
    quiet = await modern.post(modern.message("tools/call", {"name": "test_logging_tool", "arguments": {}}))
    assert quiet.headers["content-type"] == "application/json"
    chatty = await modern.post(
        modern.message(
            "tools/call", {"name": "test_logging_tool", "arguments": {}}, None, **{META_LOG_LEVEL: "info"}
        )
    )
    assert [m.get("method") for m in messages(chatty)] == ["notifications/message", None]


async def test_mrtr_round_trip_and_tampered_state_over_http(modern: Modern) -> None:
    name = "test_input_required_result_multi_round"
    r1 = (await modern.call("tools/call", {"name": name, "arguments": {}}, ALL))["result"]
    assert r1["resultType"] == "input_required" and list(r1["inputRequests"]) == ["step1"]
    step1 = {"step1": {"action": "accept", "content": {"name": "Ada"}}}
    r2 = (
        await modern.call(
            "tools/call",
            {"name": name, "arguments": {}, "inputResponses": step1, "requestState": r1["requestState"]},
            ALL,
        )
    )["result"]
    assert list(r2["inputRequests"]) == ["step2"]
    step2 = {"step2": {"action": "accept", "content": {"color": "blue"}}}
    r3 = (
        await modern.call(
            "tools/call",
            {"name": name, "arguments": {}, "inputResponses": step2, "requestState": r2["requestState"]},
            ALL,
        )
    )["result"]
    assert r3["resultType"] == "complete" and r3["content"][0]["text"] == "Ada likes blue"
    tampered = modern.message(
        "tools/call",
        {"name": name, "arguments": {}, "inputResponses": step2, "requestState": r2["requestState"] + "x"},
        ALL,
    )
    assert_error(await modern.post(tampered), 400, -32602, tampered["id"], "requestState")


async def test_closing_the_connection_cancels_the_handler(http_server: Callable[..., str]) -> None:
    server = MCPServer("cancel")
    started, cancelled = threading.Event(), threading.Event()

    @server.tool()
    async def wait() -> str:
        """Wait until cancelled."""
        started.set()
        try:
            await anyio.sleep(30)
        finally:
            cancelled.set()
        return "never"

    url = http_server(server)
    async with httpx.AsyncClient(timeout=10) as client:
        modern = Modern(client, url)
        message = modern.message("tools/call", {"name": "wait", "arguments": {}})
        with anyio.move_on_after(0.5):
            await client.post(url, headers=modern.headers_for(message), content=orjson.dumps(message))
    assert started.is_set()
    assert await anyio.to_thread.run_sync(cancelled.wait, 5)


async def test_legacy_session_and_modern_requests_side_by_side(
    modern: Modern, client: httpx.AsyncClient
) -> None:
    legacy = RawSession(client, modern.url)
    await legacy.initialize()

    async def legacy_calls() -> None:
        for _ in range(5):
            answer = await legacy.call("tools/call", {"name": "echo", "arguments": {"text": "old"}})
            assert answer["result"]["content"][0]["text"] == "old" and "resultType" not in answer["result"]

    async def modern_calls() -> None:
        for _ in range(5):
            answer = await modern.call("tools/call", {"name": "echo", "arguments": {"text": "new"}})
            assert answer["result"]["resultType"] == "complete"

    async with anyio.create_task_group() as tg:
        tg.start_soon(legacy_calls)
        tg.start_soon(modern_calls)
    # A modern request carrying the session's id is still modern (the id is ignored) ...
    message = modern.message("tools/list")
    response = await modern.post(message, {"mcp-session-id": legacy.session_id or ""})
    assert response.json()["result"]["resultType"] == "complete" and "mcp-session-id" not in response.headers
    # ... and a 2026 header without _meta on a live session stays legacy.
    still_legacy = await legacy.post(legacy.request("tools/list"))
    assert "resultType" not in still_legacy.json()["result"]
    legacy_only = await legacy.call("ping")
    assert legacy_only["result"] == {}


@pytest.mark.parametrize("mode", ["json", "sse"])
async def test_response_modes(http_server: Callable[..., str], mode: str) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        modern = Modern(client, http_server(everything, response_mode=mode))
        response = await modern.post(
            modern.message(
                "tools/call", {"name": "test_tool_with_progress", "arguments": {}}, progressToken=1
            )
        )
        sent = messages(response)
        assert response.headers["content-type"] == (
            "application/json" if mode == "json" else "text/event-stream"
        )
        assert len(sent) == (1 if mode == "json" else 4) and sent[-1]["result"]["resultType"] == "complete"
        # An error that has not started a stream keeps its status, whatever the mode.
        unknown = modern.message("tools/call", {"name": "nope", "arguments": {}})
        assert_error(await modern.post(unknown), 400, -32602, unknown["id"], "nope")


async def test_concurrent_requests_never_see_each_others_state(http_server: Callable[..., str]) -> None:
    """One long-lived connection serves every stateless request: what belongs to one request (its
    envelope's client info, capabilities and log level, its notifications, its cancellation) must
    never reach another running at the same time, even with the same JSON-RPC id (2026-07-28
    basic/index#statelessness: each request carries its own state)."""
    server = MCPServer("isolation")
    started, cancelled = threading.Event(), threading.Event()

    @server.tool()
    async def whoami(tag: str, pause: float, ctx: Context) -> str:
        """Report what this request sees, with notifications before and after a pause."""
        await ctx.report_progress(1, 2, tag)
        if tag == "tag-cancelled":
            started.set()
        try:
            await anyio.sleep(pause)
        finally:
            if tag == "tag-cancelled":
                cancelled.set()
        await ctx.info(f"log {tag}")
        await ctx.report_progress(2, 2, tag)
        peer = ctx.peer
        assert peer is not None and peer.client_info is not None
        return f"{tag} {peer.client_info['name']} {peer.has_capability('sampling')} {peer.log_level}"

    url = http_server(server)

    def message(i: int | str, pause: float) -> dict[str, Any]:
        meta: dict[str, Any] = {
            **envelope({"sampling": {}} if i in (1, 3, 5, 7, 9) else {}),
            "io.modelcontextprotocol/clientInfo": {"name": f"client-{i}", "version": "1"},
            "progressToken": f"token-{i}",
        }
        if isinstance(i, int) and i % 3 == 0:
            meta[META_LOG_LEVEL] = "info"
        params = {"name": "whoami", "arguments": {"tag": f"tag-{i}", "pause": pause}, "_meta": meta}
        return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}  # one id for all

    async def call(client: httpx.AsyncClient, i: int) -> None:
        body = message(i, 0.02 * (i % 5))
        headers = {**JSON_AND_SSE, **request_headers("tools/call", body["params"])}
        response = await client.post(url, headers=headers, content=orjson.dumps(body))
        assert response.status_code == 200, response.text
        sent = messages(response)
        progress = [m["params"] for m in sent if m.get("method") == "notifications/progress"]
        assert progress == [
            {"progressToken": f"token-{i}", "progress": p, "total": 2, "message": f"tag-{i}"} for p in (1, 2)
        ], sent
        logs = [m["params"]["data"] for m in sent if m.get("method") == "notifications/message"]
        assert logs == ([f"log tag-{i}"] if i % 3 == 0 else []), sent
        text = sent[-1]["result"]["content"][0]["text"]
        assert text == f"tag-{i} client-{i} {i in (1, 3, 5, 7, 9)} {'info' if i % 3 == 0 else None}"

    async def cancelled_call() -> None:
        body = message("cancelled", 30)
        headers = {**JSON_AND_SSE, **request_headers("tools/call", body["params"])}
        async with httpx.AsyncClient(timeout=10) as client, anyio.create_task_group() as tg:
            tg.start_soon(lambda: client.post(url, headers=headers, content=orjson.dumps(body)))
            await anyio.to_thread.run_sync(started.wait, 5)
            tg.cancel_scope.cancel()  # closes its connection: the modern cancel signal

    async with httpx.AsyncClient(timeout=10) as client, anyio.create_task_group() as tg:
        tg.start_soon(cancelled_call)
        for i in range(12):
            tg.start_soon(call, client, i)
    assert await anyio.to_thread.run_sync(cancelled.wait, 5)
