"""Every status path of the legacy Streamable HTTP leg, each with its JSON-RPC error body,
against a real uvicorn on 127.0.0.1 (raw httpx requests). Every response of every test here,
errors included, must name this worker in ``Mcp-Worker`` (checked by the client's hook)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from servers_for_tests import JSON_AND_SSE, RawSession, initialize_request, make_server

from mcp_transport import jsonrpc
from mcp_transport.state.workers import worker_id
from mcp_transport.transports.http import mcp_router

pytestmark = pytest.mark.anyio


def assert_error(response: httpx.Response, status: int, code: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["jsonrpc"] == "2.0" and "id" in body
    assert body["error"]["code"] == code, body
    for word in words:
        assert word.lower() in body["error"]["message"].lower(), body
    return body


async def names_this_worker(response: httpx.Response) -> None:
    # The servers run in this process (a uvicorn thread): their worker id is ours.
    assert response.headers.get("mcp-worker") == worker_id(), (response.status_code, response.headers)


@pytest.fixture
async def client() -> Any:
    async with httpx.AsyncClient(timeout=10, event_hooks={"response": [names_this_worker]}) as client:
        yield client


async def test_202_for_notifications_and_responses(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    raw = RawSession(client, http_server(make_server()))
    await raw.initialize(initialized=False)
    for message in (
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 99, "result": {}},  # a response to nothing pending: accepted, ignored
    ):
        response = await raw.post(message)
        assert response.status_code == 202 and response.content == b""


async def test_400_paths(http_server: Callable[..., str], client: httpx.AsyncClient) -> None:
    url = http_server(make_server())
    raw = RawSession(client, url)
    await raw.initialize()
    # Missing session id on a non-initialize request.
    response = await client.post(
        url, headers=JSON_AND_SSE, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    )
    assert_error(response, 400, jsonrpc.INVALID_REQUEST, "Mcp-Session-Id")
    # Unparseable JSON and an invalid message.
    response = await client.post(url, headers=raw.headers, content=b"{not json")
    assert_error(response, 400, jsonrpc.PARSE_ERROR, "not valid JSON")
    response = await client.post(
        url, headers=raw.headers, content=b'{"jsonrpc": "1.0", "id": 3, "method": "x"}'
    )
    assert assert_error(response, 400, jsonrpc.INVALID_REQUEST, "jsonrpc")["id"] == 3
    # Unsupported and mismatched MCP-Protocol-Version.
    response = await raw.post(raw.request("tools/list"), {"mcp-protocol-version": "1999-01-01"})
    assert_error(response, 400, jsonrpc.INVALID_REQUEST, "Unsupported MCP-Protocol-Version")
    response = await raw.post(raw.request("tools/list"), {"mcp-protocol-version": "2025-06-18"})
    assert_error(response, 400, jsonrpc.INVALID_REQUEST, "does not match", "2025-11-25")
    # A batch outside a 2025-03-26 session.
    response = await raw.post([raw.request("tools/list"), raw.request("ping")])
    assert_error(response, 400, jsonrpc.INVALID_REQUEST, "2025-03-26")


async def test_protocol_version_header_leniency(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    raw = RawSession(client, http_server(make_server()))
    await raw.initialize("2025-11-25")
    # 2025-03-26 means "no header" (2025-11-25 basic/transports#protocol-version-header); the
    # official suite's probes send it.
    assert (await raw.call("ping"))["result"] == {}
    response = await raw.post(raw.request("ping"), {"mcp-protocol-version": "2025-03-26"})
    assert response.status_code == 200
    headers = {k: v for k, v in raw.headers.items() if k != "mcp-protocol-version"}
    response = await client.post(raw.url, headers=headers, json=raw.request("ping"))
    assert response.status_code == 200


async def test_batch_in_a_2025_03_26_session(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    raw = RawSession(client, http_server(make_server()))
    await raw.initialize("2025-03-26")
    response = await raw.post(
        [
            raw.request("ping", id=10),
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            raw.request("tools/list", id=11),
        ]
    )
    assert response.status_code == 200
    assert sorted(m["id"] for m in response.json()) == [10, 11]


async def test_403_origin_and_host(http_server: Callable[..., str], client: httpx.AsyncClient) -> None:
    url = http_server(make_server())
    init = initialize_request()
    response = await client.post(url, headers={**JSON_AND_SSE, "origin": "https://evil.example"}, json=init)
    assert_error(response, 403, jsonrpc.INVALID_REQUEST, "Origin", "allowed_origins")
    response = await client.post(url, headers={**JSON_AND_SSE, "host": "evil.example"}, json=init)
    assert_error(response, 403, jsonrpc.INVALID_REQUEST, "Host", "allowed_hosts")
    for origin in ("http://localhost:3000", "http://127.0.0.1", "http://[::1]:8080"):
        response = await client.post(url, headers={**JSON_AND_SSE, "origin": origin}, json=init)
        assert response.status_code == 200, (origin, response.text)
    response = await client.post(url, headers={**JSON_AND_SSE, "host": "localhost:1234"}, json=init)
    assert response.status_code == 200
    # Explicit lists override the loopback default.
    url = http_server(make_server(), allowed_origins=["https://app.example"], allowed_hosts=["mcp.example:*"])
    response = await client.post(
        url, headers={**JSON_AND_SSE, "origin": "https://app.example", "host": "mcp.example:443"}, json=init
    )
    assert response.status_code == 200, response.text
    response = await client.post(url, headers={**JSON_AND_SSE, "host": "other.example"}, json=init)
    assert_error(response, 403, jsonrpc.INVALID_REQUEST, "allowed_hosts")


async def test_404_unknown_and_deleted_session(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    url = http_server(make_server())
    raw = RawSession(client, url)
    await raw.initialize()
    assert (await raw.call("tools/list"))["result"]["tools"]
    response = await client.delete(url, headers=raw.headers)
    assert response.status_code == 204
    for method in ("POST", "GET", "DELETE"):
        if method == "POST":
            response = await raw.post(raw.request("tools/list"))
        else:
            response = await client.request(
                method, url, headers={**raw.headers, "accept": "text/event-stream"}
            )
        assert_error(response, 404, jsonrpc.SESSION_NOT_FOUND, "initialize")
    response = await client.post(
        url,
        headers={**JSON_AND_SSE, "mcp-session-id": "nope"},
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
    )
    assert_error(response, 404, jsonrpc.SESSION_NOT_FOUND)
    # Other paths are 404 with a JSON-RPC body too; /mcp/ is served without a redirect.
    response = await client.post(url.replace("/mcp", "/other"), headers=JSON_AND_SSE, json={})
    assert_error(response, 404, jsonrpc.INVALID_REQUEST, "/mcp")
    slash = RawSession(client, url + "/")
    await slash.initialize()
    assert (await slash.call("ping"))["result"] == {}


async def test_405_paths(http_server: Callable[..., str], client: httpx.AsyncClient) -> None:
    url = http_server(make_server(), get_stream=False, allow_delete=False)
    raw = RawSession(client, url)
    await raw.initialize()
    response = await client.get(url, headers={**raw.headers, "accept": "text/event-stream"})
    assert_error(response, 405, jsonrpc.INVALID_REQUEST, "no standalone GET stream")
    assert "POST" in response.headers["allow"]
    response = await client.delete(url, headers=raw.headers)
    assert_error(response, 405, jsonrpc.INVALID_REQUEST)
    response = await client.put(url, headers=raw.headers, content=b"{}")
    assert_error(response, 405, jsonrpc.INVALID_REQUEST, "PUT")


async def test_406_and_415(http_server: Callable[..., str], client: httpx.AsyncClient) -> None:
    url = http_server(make_server())
    raw = RawSession(client, url)
    await raw.initialize()
    response = await raw.post(raw.request("ping"), {"accept": "text/html"})
    assert_error(response, 406, jsonrpc.INVALID_REQUEST, "Accept")
    response = await client.get(url, headers={**raw.headers, "accept": "application/json"})
    assert_error(response, 406, jsonrpc.INVALID_REQUEST, "text/event-stream")
    response = await raw.post(raw.request("ping"), {"content-type": "text/plain"})
    assert_error(response, 415, jsonrpc.INVALID_REQUEST, "application/json")
    # Lenient Accept: */*, or just one of the two types, is fine.
    for accept in ("*/*", "application/json", "text/event-stream"):
        response = await raw.post(raw.request("ping"), {"accept": accept})
        assert response.status_code == 200, (accept, response.text)


async def test_sloppy_posts_are_refused(http_server: Callable[..., str], client: httpx.AsyncClient) -> None:
    # Each of these was answered 200 (found by fuzzing); each now gets its 4xx and a
    # JSON-RPC body that says what to send instead.
    url = http_server(make_server())
    raw = RawSession(client, url)
    await raw.initialize()
    ping = jsonrpc.dump(jsonrpc.Request(1, "ping"))
    request = client.build_request("POST", url, headers=raw.headers, content=ping)
    del request.headers["accept"]  # httpx adds Accept: */* unless told otherwise
    assert_error(await client.send(request), 406, jsonrpc.INVALID_REQUEST, "no Accept header")
    # Accept lists the types, but refuses both with q=0.
    refused = await raw.post(raw.request("ping"), {"accept": "application/json;q=0, text/event-stream; q=0"})
    assert_error(refused, 406, jsonrpc.INVALID_REQUEST, "Accept")
    for ctype in ("application/json; charset=utf-16", "application/json;charset=latin1"):
        response = await raw.post(raw.request("ping"), {"content-type": ctype})
        assert_error(response, 415, jsonrpc.INVALID_REQUEST, "UTF-8")
    for ctype in ("application/json; charset=utf-8", 'Application/JSON; charset="UTF-8"'):
        assert (await raw.post(raw.request("ping"), {"content-type": ctype})).status_code == 200, ctype
    both = await raw.post({"jsonrpc": "2.0", "id": 5, "method": "ping", "result": {}})
    assert assert_error(both, 400, jsonrpc.INVALID_REQUEST, "never both")["id"] == 5
    info = {"name": "x", "version": "1"}
    for params, word in (
        ({"protocolVersion": "2025-11-25", "capabilities": [], "clientInfo": info}, "capabilities"),
        ({"protocolVersion": "2025-11-25", "clientInfo": info}, "capabilities"),
        ({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": "x"}, "clientInfo"),
        ({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "x"}}, "clientInfo"),
    ):
        init = {"jsonrpc": "2.0", "id": 9, "method": "initialize", "params": params}
        response = await client.post(url, headers=JSON_AND_SSE, json=init)
        body = response.json()
        assert body["id"] == 9 and body["error"]["code"] == jsonrpc.INVALID_PARAMS, body
        assert word in body["error"]["message"], body
        assert "mcp-session-id" not in response.headers  # no session is built on a guess


async def test_413_body_limit(http_server: Callable[..., str], client: httpx.AsyncClient) -> None:
    url = http_server(make_server(), max_body_bytes=2048)
    raw = RawSession(client, url)
    await raw.initialize()
    response = await raw.post(raw.tool_call("echo", {"text": "x" * 4096}))
    assert_error(response, 413, jsonrpc.REQUEST_TOO_LARGE, "2048")

    async def chunks() -> Any:  # no Content-Length: the limit holds for streamed bodies too
        for _ in range(8):
            yield b" " * 512

    response = await client.post(url, headers=raw.headers, content=chunks())
    assert_error(response, 413, jsonrpc.REQUEST_TOO_LARGE)


async def test_503_session_cap(http_server: Callable[..., str], client: httpx.AsyncClient) -> None:
    url = http_server(make_server(), max_sessions=2, retry_after=7)
    first, second = RawSession(client, url), RawSession(client, url)
    await first.initialize()
    await second.initialize()
    response = await client.post(
        url,
        headers=JSON_AND_SSE,
        json=initialize_request(),
    )
    body = assert_error(response, 503, jsonrpc.SERVER_OVERLOADED, "retry")
    assert response.headers["retry-after"] == "7" and body["id"] == 1
    # Deleting a session frees a slot.
    assert (await client.delete(url, headers=first.headers)).status_code == 204
    await RawSession(client, url).initialize()


async def test_idle_expiry_and_uninitialized_drop(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    url = http_server(make_server(), session_idle_timeout=0.4, init_timeout=0.4)
    idle, kept, never_ready = RawSession(client, url), RawSession(client, url), RawSession(client, url)
    await idle.initialize()
    await kept.initialize()
    await never_ready.initialize(initialized=False)
    async with kept.stream("GET") as stream:  # an open GET stream keeps its session alive
        assert stream.status_code == 200
        await anyio.sleep(1.0)
        assert_error(await idle.post(idle.request("ping")), 404, jsonrpc.SESSION_NOT_FOUND)
        assert_error(await never_ready.post(never_ready.request("ping")), 404, jsonrpc.SESSION_NOT_FOUND)
        assert (await kept.call("ping"))["result"] == {}
    # A request in flight longer than the idle timeout does not expire its session either.
    busy = RawSession(client, url)
    await busy.initialize()
    response = await busy.post(busy.tool_call("slow", {"seconds": 0.8}, progress=False))
    assert response.status_code == 200 and "done after" in response.text


async def test_fastapi_router_without_lifespan(
    serve_app: Callable[..., str], client: httpx.AsyncClient
) -> None:
    app = FastAPI()
    app.include_router(mcp_router(make_server()), prefix="/api")
    url = serve_app(app, "/api/mcp")
    for endpoint in (url, url + "/"):
        raw = RawSession(client, endpoint)
        response = await raw.initialize()
        assert response.status_code == 200
        assert (await raw.call("tools/call", {"name": "echo", "arguments": {"text": "hi"}}))["result"][
            "content"
        ][0]["text"] == "hi"


async def test_session_bound_to_principal(http_server: Callable[..., str], client: httpx.AsyncClient) -> None:
    def principal(scope: Any) -> str | None:
        return dict(scope["headers"]).get(b"x-user", b"").decode() or None

    url = http_server(make_server(), principal=principal)
    alice = RawSession(client, url)
    response = await client.post(
        url,
        headers={**JSON_AND_SSE, "x-user": "alice"},
        json=initialize_request(),
    )
    alice.session_id = response.headers["mcp-session-id"]
    assert (await alice.post(alice.request("ping"), {"x-user": "alice"})).status_code == 200
    # Someone else holding Alice's session id gets "not found", as if it did not exist.
    assert_error(
        await alice.post(alice.request("ping"), {"x-user": "mallory"}), 404, jsonrpc.SESSION_NOT_FOUND
    )


async def test_modern_requests_are_answered_statelessly(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    url = http_server(make_server())
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    headers = {**JSON_AND_SSE, "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list"}
    response = await client.post(
        url,
        headers=headers,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}},
    )
    assert response.status_code == 200 and "mcp-session-id" not in response.headers
    body = response.json()
    assert body["result"]["resultType"] == "complete" and body["result"]["tools"]


async def test_every_kind_of_response_names_the_worker(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    """``Mcp-Worker`` (checked by the client's hook) on the responses the status tests above
    do not make: an SSE answer, the GET stream, a DELETE and a 404 outside the endpoint."""
    url = http_server(make_server())
    raw = RawSession(client, url)
    await raw.initialize()
    response = await raw.post(raw.tool_call("ticker", {"count": 3}))
    assert response.headers["content-type"].startswith("text/event-stream")
    async with raw.stream("GET") as get:
        assert get.status_code == 200 and get.headers["mcp-worker"] == worker_id()
    assert (await client.delete(url, headers=raw.headers)).status_code in (200, 204)
    response = await client.post(
        url.replace("/mcp", "/elsewhere"), headers=JSON_AND_SSE, json=initialize_request()
    )
    assert_error(response, 404, jsonrpc.INVALID_REQUEST, "/mcp")
