"""Client era detection (era="auto"), the era cache, version retry and header refresh,
against scripted HTTP servers (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from mcp_transport import Client, RemoteError, TransportError
from mcp_transport.client.era import ERA_CACHE, EraCache, Verdict, classify_probe_error, pick_version
from mcp_transport.errors import ConnectError, RequestTimeout
from mcp_transport.protocol import Era

pytestmark = pytest.mark.anyio

URL = "http://mcp.test/mcp"
INIT_RESULT = {
    "protocolVersion": "2025-11-25",
    "capabilities": {"tools": {}},
    "serverInfo": {"name": "legacy", "version": "1"},
}
DISCOVER = {
    "resultType": "complete",
    "supportedVersions": ["2026-07-28"],
    "capabilities": {"tools": {}},
    "ttlMs": 0,
    "cacheScope": "public",
    "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "modern", "version": "1"}},
}


@pytest.fixture(autouse=True)
def fresh_era_cache() -> Iterator[None]:
    ERA_CACHE.clear()
    yield
    ERA_CACHE.clear()


def result(rid: Any, value: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "result": value}


def error(rid: Any, code: int, message: str = "no", data: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": rid, "error": err}


class Server:
    """A scripted server: legacy handling for initialize and sessions; ``discover(body)``
    answers server/discover; ``modern(body)`` answers other modern requests."""

    def __init__(
        self,
        discover: Callable[[dict[str, Any]], httpx.Response] | None = None,
        modern: Callable[[dict[str, Any]], httpx.Response] | None = None,
    ) -> None:
        self.discover = discover
        self.modern = modern or (
            lambda body: httpx.Response(200, json=result(body["id"], {"resultType": "complete"}))
        )
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method != "POST":
            return httpx.Response(405)
        body = json.loads(request.content)
        meta = (body.get("params") or {}).get("_meta") or {}
        if body.get("method") == "server/discover" and self.discover is not None:
            return self.discover(body)
        if "io.modelcontextprotocol/protocolVersion" in meta:
            return self.modern(body)
        if body.get("method") == "initialize":
            return httpx.Response(200, json=result(body["id"], INIT_RESULT), headers={"Mcp-Session-Id": "s1"})
        if "id" not in body:
            return httpx.Response(202)
        if request.headers.get("mcp-session-id") != "s1":
            return httpx.Response(400, text="Bad Request: Missing session ID")
        return httpx.Response(
            200, json=result(body["id"], {"tools": []} if body["method"] == "tools/list" else {})
        )

    def methods(self) -> list[str]:
        return [json.loads(r.content).get("method") for r in self.requests if r.method == "POST"]

    def bodies(self, method: str) -> list[dict[str, Any]]:
        return [
            json.loads(r.content)
            for r in self.requests
            if r.method == "POST" and json.loads(r.content).get("method") == method
        ]

    def client(self, **kwargs: Any) -> Client:
        return Client(URL, http_client=httpx.AsyncClient(transport=httpx.MockTransport(self)), **kwargs)


def legacy_answer(response: httpx.Response) -> Callable[[dict[str, Any]], httpx.Response]:
    return lambda body: response


# -- the probe ------------------------------------------------------------------------------


async def test_auto_speaks_modern_to_a_modern_server() -> None:
    server = Server(discover=lambda body: httpx.Response(200, json=result(body["id"], DISCOVER)))
    async with server.client() as c:
        assert c.era is Era.MODERN and c.protocol_version == "2026-07-28"
        assert c.server_info == {"name": "modern", "version": "1"}
        assert c.server_capabilities == {"tools": {}}
        await c.request("tools/list")
    assert server.methods() == ["server/discover", "tools/list"]
    probe = server.requests[0]
    assert (
        probe.headers["mcp-protocol-version"] == "2026-07-28"
        and probe.headers["mcp-method"] == "server/discover"
    )
    assert ERA_CACHE.get(URL) == (Era.MODERN, "2026-07-28")


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(400, text="Bad Request: Missing session ID"),
        httpx.Response(400),
        httpx.Response(405),
        httpx.Response(404),
        httpx.Response(400, json=error(None, -32000, "Bad Request: No valid session ID provided")),
        httpx.Response(400, json=error(1, -32600, "Invalid Request")),
        httpx.Response(400, json=error(1, -32602, "Invalid params")),  # -32602 is no era signal
        httpx.Response(200, json=error(1, -32601, "Method not found")),  # stateless legacy server
        httpx.Response(200, json=result(1, {})),  # answered loosely: no DiscoverResult
        httpx.Response(200, text="<html>hello</html>", headers={"Content-Type": "text/html"}),
        httpx.Response(500, text="boom"),
    ],
    ids=[
        "400-text",
        "400-empty",
        "405",
        "404-bare",
        "400-session",
        "400-32600",
        "400-32602",
        "200-32601",
        "200-empty",
        "200-html",
        "500",
    ],
)
async def test_auto_falls_back_to_initialize(answer: httpx.Response) -> None:
    def discover(body: dict[str, Any]) -> httpx.Response:
        return httpx.Response(answer.status_code, content=answer.content, headers=answer.headers)

    server = Server(discover=discover)
    async with server.client() as c:
        assert c.era is Era.LEGACY and c.protocol_version == "2025-11-25"
        assert c.server_info["name"] == "legacy"
        await c.list_tools()
    assert server.methods()[:3] == ["server/discover", "initialize", "notifications/initialized"]
    assert ERA_CACHE.get(URL) == (Era.LEGACY, "2025-11-25")


async def test_a_stray_session_id_on_the_probe_is_not_a_session() -> None:
    server = Server(discover=lambda body: httpx.Response(400, text="no", headers={"Mcp-Session-Id": "bogus"}))
    async with server.client() as c:
        assert c.era is Era.LEGACY
    init = next(
        r for r in server.requests if r.method == "POST" and json.loads(r.content)["method"] == "initialize"
    )
    assert "mcp-session-id" not in init.headers


@pytest.mark.parametrize(
    "answer",
    [
        (404, error(1, -32601, "Method not found: server/discover")),  # modern, lacking discover
        (400, error(1, -32021, "missing capability", {"requiredCapabilities": {"sampling": {}}})),
        (400, error(1, -32020, "header mismatch")),
        (400, error(1, -32001, "header mismatch (RC)")),
        (400, error(1, -32003, "missing capability (RC)")),
        (400, error(1, -32004, "unsupported version (RC)")),
        (400, error(1, -32022, "unsupported version, no list")),
    ],
    ids=["404-32601", "-32021", "-32020", "rc-32001", "rc-32003", "rc-32004", "-32022-bare"],
)
async def test_recognised_modern_errors_never_fall_back(answer: tuple[int, dict[str, Any]]) -> None:
    status, body = answer
    server = Server(discover=lambda b: httpx.Response(status, json={**body, "id": b["id"]}))
    async with server.client() as c:
        assert c.era is Era.MODERN
        await c.request("tools/list")
    assert "initialize" not in server.methods()


async def test_unsupported_version_on_the_probe_retries_with_a_supported_one() -> None:
    seen: list[dict[str, Any]] = []

    def discover(body: dict[str, Any]) -> httpx.Response:
        seen.append(body)
        if len(seen) == 1:
            data = {"supported": ["2099-01-01", "2026-07-28"], "requested": "2026-07-28"}
            return httpx.Response(400, json=error(body["id"], -32022, "Unsupported protocol version", data))
        return httpx.Response(200, json=result(body["id"], DISCOVER))

    server = Server(discover=discover)
    async with server.client() as c:
        assert c.era is Era.MODERN and c.protocol_version == "2026-07-28"
    assert len(seen) == 2 and seen[0]["id"] != seen[1]["id"]
    assert "initialize" not in server.methods()


async def test_a_dual_era_server_without_our_modern_version_gets_initialize_with_its_version() -> None:
    data = {"supported": ["2025-06-18"], "requested": "2026-07-28"}
    server = Server(discover=lambda b: httpx.Response(400, json=error(b["id"], -32022, "Unsupported", data)))
    init_versions: list[str] = []
    original = server.__call__

    def spy(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.method == "POST" else {}
        if body.get("method") == "initialize":
            init_versions.append(body["params"]["protocolVersion"])
        return original(request)

    async with Client(URL, http_client=httpx.AsyncClient(transport=httpx.MockTransport(spy))) as c:
        assert c.era is Era.LEGACY
    assert init_versions == ["2025-06-18"]


async def test_authentication_failures_are_raised_not_guessed_about() -> None:
    server = Server(discover=lambda b: httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="x"'}))
    with pytest.raises(TransportError, match="401"):
        async with server.client():
            pass
    assert server.methods() == ["server/discover"]
    assert ERA_CACHE.get(URL) is None


async def test_explicit_eras_never_probe() -> None:
    server = Server(discover=lambda b: httpx.Response(200, json=result(b["id"], DISCOVER)))
    async with server.client(era="legacy") as c:
        assert c.era is Era.LEGACY
    assert server.methods()[0] == "initialize"
    modern = Server(discover=lambda b: httpx.Response(400, text="legacy"))
    with pytest.raises(TransportError):
        async with modern.client(era="modern"):
            pass
    assert "initialize" not in modern.methods()


# -- the cache ------------------------------------------------------------------------------


async def test_the_era_is_remembered_per_url() -> None:
    server = Server(discover=lambda b: httpx.Response(400, text="Bad Request: Missing session ID"))
    async with server.client() as c:
        assert c.era is Era.LEGACY
    server.requests.clear()
    async with server.client() as c:
        assert c.era is Era.LEGACY
    assert server.methods()[0] == "initialize"  # no second probe


async def test_a_cached_era_that_fails_is_probed_again() -> None:
    ERA_CACHE.put(URL, Era.MODERN, "2026-07-28")
    # The server was replaced by a legacy one: the cached modern handshake fails, we re-probe.
    server = Server(discover=lambda b: httpx.Response(400, text="Bad Request: Missing session ID"))
    async with server.client() as c:
        assert c.era is Era.LEGACY
    assert server.methods()[:3] == ["server/discover", "server/discover", "initialize"]
    assert ERA_CACHE.get(URL) == (Era.LEGACY, "2025-11-25")

    ERA_CACHE.put(URL, Era.LEGACY, "2025-11-25")
    modern = Server(discover=lambda b: httpx.Response(200, json=result(b["id"], DISCOVER)))
    modern_init = Server.__call__

    def no_initialize(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.method == "POST" else {}
        if body.get("method") == "initialize":
            modern.requests.append(request)
            return httpx.Response(400, json=error(body["id"], -32020, "Missing MCP-Protocol-Version"))
        return modern_init(modern, request)

    async with Client(URL, http_client=httpx.AsyncClient(transport=httpx.MockTransport(no_initialize))) as c:
        assert c.era is Era.MODERN
    assert ERA_CACHE.get(URL) == (Era.MODERN, "2026-07-28")


def test_cache_keys_and_bound() -> None:
    cache = EraCache(max_entries=2)
    cache.put("HTTP://Example.com:8080/mcp?x=1", Era.MODERN, "2026-07-28")
    assert cache.get("http://example.com:8080/mcp") == (Era.MODERN, "2026-07-28")
    assert cache.get("http://example.com:8080/other") is None
    cache.put("http://a/mcp", Era.LEGACY, "2025-11-25")
    cache.put("http://b/mcp", Era.LEGACY, "2025-11-25")
    assert len(cache) == 2 and cache.get("http://example.com:8080/mcp") is None


def test_probe_verdicts() -> None:
    def remote(code: int, status: int | None = None, data: Any = None) -> RemoteError:
        exc = RemoteError(code, "x", data)
        if status is not None:
            exc.status = status
        return exc

    assert (
        classify_probe_error(remote(-32022, 400, {"supported": ["2026-07-28"]}), http=True)
        is Verdict.RETRY_VERSION
    )
    assert classify_probe_error(remote(-32601, 404), http=True) is Verdict.MODERN
    assert classify_probe_error(remote(-32601, 200), http=True) is Verdict.LEGACY
    assert classify_probe_error(remote(-32601), http=False) is Verdict.LEGACY  # stdio: never one code
    assert classify_probe_error(remote(-32602), http=False) is Verdict.LEGACY
    assert classify_probe_error(remote(-32021), http=False) is Verdict.MODERN
    assert classify_probe_error(RequestTimeout("slow"), http=False) is Verdict.LEGACY
    assert classify_probe_error(ConnectError("down"), http=True) is Verdict.RAISE
    assert pick_version(["2025-06-18", "2026-07-28"], ("2025-11-25", "2026-07-28")) == "2026-07-28"
    assert pick_version(["1999"], ("2026-07-28",)) is None


# -- version retry and header refresh on ordinary requests -----------------------------------


async def test_unsupported_version_on_a_request_is_retried_once_with_a_supported_version() -> None:
    calls: list[dict[str, Any]] = []

    def modern(body: dict[str, Any]) -> httpx.Response:
        calls.append(body)
        if len(calls) == 1:
            data = {"supported": ["2026-07-28"], "requested": "2026-07-28"}
            return httpx.Response(400, json=error(body["id"], -32022, "Unsupported protocol version", data))
        return httpx.Response(200, json=result(body["id"], {"resultType": "complete", "tools": []}))

    server = Server(discover=lambda b: httpx.Response(200, json=result(b["id"], DISCOVER)), modern=modern)
    async with server.client(era="modern") as c:
        await c.request("tools/list")
    assert len(calls) == 2 and calls[0]["id"] != calls[1]["id"]

    always = Server(
        discover=lambda b: httpx.Response(200, json=result(b["id"], DISCOVER)),
        modern=lambda b: httpx.Response(
            400, json=error(b["id"], -32022, "no", {"supported": ["2026-07-28"]})
        ),
    )
    async with always.client(era="modern") as c:
        with pytest.raises(RemoteError) as info:
            await c.request("tools/list")
        assert info.value.code == -32022
    assert always.methods().count("tools/list") == 2


async def test_a_missing_mcp_param_header_refreshes_the_tools_and_retries() -> None:
    schema_v1 = {"type": "object", "properties": {"region": {"type": "string"}}}
    schema_v2 = {"type": "object", "properties": {"region": {"type": "string", "x-mcp-header": "Region"}}}
    lists = 0
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal lists
        body = json.loads(request.content)
        if body["method"] == "server/discover":
            return httpx.Response(200, json=result(body["id"], DISCOVER))
        if body["method"] == "tools/list":
            lists += 1
            tool = {"name": "weather", "inputSchema": schema_v1 if lists == 1 else schema_v2}
            return httpx.Response(200, json=result(body["id"], {"resultType": "complete", "tools": [tool]}))
        calls.append(request)
        if "mcp-param-region" not in request.headers:
            return httpx.Response(
                400,
                json=error(
                    body["id"], -32020, "Missing header Mcp-Param-Region: argument region is in the body"
                ),
            )
        return httpx.Response(200, json=result(body["id"], {"resultType": "complete", "content": []}))

    async with Client(
        URL, era="modern", http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler))
    ) as c:
        await c.call_tool("weather", {"region": "Zürich"})
    assert lists == 2 and len(calls) == 2
    assert calls[1].headers["mcp-param-region"] == "=?base64?WsO8cmljaA==?="


async def test_modern_list_tools_drops_invalid_annotations_and_keeps_schemas_verbatim(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rich = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {"id": {"type": "string", "$anchor": "id"}},
        "properties": {
            "id": {"$ref": "#/$defs/id"},
            "profile": {"$ref": "http://canary.invalid/schema.json"},
        },
        "additionalProperties": False,
        "allOf": [{"anyOf": [{"required": ["id"]}]}],
        "if": {"required": ["id"]},
        "then": {},
        "else": {},
    }
    tools = [
        {"name": "rich", "inputSchema": rich},
        {
            "name": "bad",
            "inputSchema": {"type": "object", "properties": {"n": {"type": "number", "x-mcp-header": "N"}}},
        },
    ]
    fetched: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host != "mcp.test":
            fetched.append(str(request.url))
            return httpx.Response(200, json={})
        body = json.loads(request.content)
        if body["method"] == "server/discover":
            return httpx.Response(200, json=result(body["id"], DISCOVER))
        return httpx.Response(200, json=result(body["id"], {"resultType": "complete", "tools": tools}))

    with caplog.at_level("WARNING"):
        async with Client(URL, http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler))) as c:
            listed = await c.list_tools()
    assert [t["name"] for t in listed] == ["rich"]
    assert listed[0]["inputSchema"] == rich
    assert "dropping tool 'bad'" in caplog.text
    assert not fetched


async def test_modern_responses_never_start_a_session() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        value = DISCOVER if body["method"] == "server/discover" else {"resultType": "complete"}
        return httpx.Response(200, json=result(body["id"], value), headers={"Mcp-Session-Id": "stray"})

    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    async with Client(URL, http_client=httpx.AsyncClient(transport=httpx.MockTransport(recording))) as c:
        await c.request("tools/list")
    assert all("mcp-session-id" not in r.headers for r in seen)
    assert not any(r.method == "DELETE" for r in seen)


async def test_a_lost_session_on_a_server_that_became_modern_reprobes() -> None:
    modern_only = False
    legacy = Server(discover=lambda b: httpx.Response(400, text="Bad Request: Missing session ID"))

    def handler(request: httpx.Request) -> httpx.Response:
        if not modern_only:
            return legacy(request)
        body = json.loads(request.content) if request.method == "POST" else {}
        legacy.requests.append(request)
        if request.method != "POST":
            return httpx.Response(405)
        if "mcp-session-id" in request.headers:
            return httpx.Response(404, text="unknown session")
        if body.get("method") == "server/discover":
            assert body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] == "2026-07-28"
            return httpx.Response(200, json=result(body["id"], DISCOVER))
        version = ((body.get("params") or {}).get("_meta") or {}).get(
            "io.modelcontextprotocol/protocolVersion"
        )
        if version is None:
            return httpx.Response(
                400, json=error(body.get("id"), -32020, "Missing MCP-Protocol-Version header")
            )
        if version != "2026-07-28":
            return httpx.Response(
                400, json=error(body.get("id"), -32022, "Unsupported", {"supported": ["2026-07-28"]})
            )
        return httpx.Response(200, json=result(body["id"], {"resultType": "complete", "tools": []}))

    async with Client(URL, http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler))) as c:
        era = c.era  # a local: mypy would keep c.era narrowed past the request
        assert era is Era.LEGACY
        modern_only = True
        with pytest.raises(RemoteError):  # the request in flight was legacy-shaped
            await c.request("tools/list")
        assert c.era is Era.MODERN
        assert (await c.request("tools/list"))["tools"] == []
    assert ERA_CACHE.get(URL) == (Era.MODERN, "2026-07-28")


# -- the deprecated HTTP+SSE transport (last resort) ----------------------------------------


def sse_only(endpoint_event: str | None) -> Callable[[httpx.Request], httpx.Response]:
    """A 2024-11-05 server: POSTs to the SSE URL are 405; GET answers with an endpoint event."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/sse" and request.method == "POST":
            return httpx.Response(405, headers={"Allow": "GET"})
        if request.method == "GET" and endpoint_event is not None:
            return httpx.Response(
                200, content=endpoint_event.encode(), headers={"Content-Type": "text/event-stream"}
            )
        return httpx.Response(404)

    return handler


async def test_an_endpoint_on_another_origin_is_refused() -> None:
    handler = sse_only("event: endpoint\ndata: http://evil.test/messages\n\n")
    hosts: list[str] = []

    def recording(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return handler(request)

    with pytest.raises(TransportError, match="405"):  # the initialize failure, not a redirect
        async with Client(
            "http://mcp.test/sse", http_client=httpx.AsyncClient(transport=httpx.MockTransport(recording))
        ):
            pass
    assert set(hosts) == {"mcp.test"}


async def test_no_endpoint_event_means_the_initialize_failure_is_reported() -> None:
    handler = sse_only(None)
    with pytest.raises(TransportError, match="405"):
        async with Client(
            "http://mcp.test/sse", http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler))
        ):
            pass
