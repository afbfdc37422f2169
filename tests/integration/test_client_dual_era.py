"""The dual-era client against real servers: era="auto" over HTTP and stdio (our server,
the official Python SDK's server, scripted legacy stdio servers), and MRTR round trips
against servers.everything's input_required fixtures."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from mcp_transport import Client, RemoteError
from mcp_transport.client import ERA_CACHE
from mcp_transport.protocol import Era
from servers.everything import server as everything

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]
OUR_STDIO = [sys.executable, "-m", "servers.everything", "--stdio"]
SDK_STDIO = [sys.executable, str(REPO / "tests" / "interop_servers" / "sdk_server.py"), "--stdio"]


@pytest.fixture(autouse=True)
def fresh_era_cache() -> Iterator[None]:
    ERA_CACHE.clear()
    yield
    ERA_CACHE.clear()


async def elicit(params: dict[str, Any]) -> dict[str, Any]:
    props = (params.get("requestedSchema") or {}).get("properties") or {}
    if "color" in props:
        return {"action": "accept", "content": {"color": "teal"}}
    if "ok" in props:
        return {"action": "accept", "content": {"ok": True}}
    return {"action": "accept", "content": {"name": "Ada"}}


async def sample(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": {"type": "text", "text": "Paris"},
        "model": "m",
        "stopReason": "endTurn",
    }


ROOTS = [{"uri": "file:///work", "name": "work"}]


def text(result: dict[str, Any]) -> str:
    return str(result["content"][0]["text"])


# -- HTTP ---------------------------------------------------------------------------------


async def test_auto_speaks_modern_to_our_server_and_runs_mrtr(http_server: Callable[..., str]) -> None:
    url = http_server(everything)
    async with Client(url, elicitation_handler=elicit, sampling_handler=sample, roots=ROOTS) as client:
        assert client.era is Era.MODERN and client.protocol_version == "2026-07-28"
        assert client.server_info.get("name")
        assert text(await client.call_tool("test_input_required_result_elicitation", {})) == "Hello, Ada!"
        assert (
            text(await client.call_tool("test_input_required_result_sampling", {})) == "The model says: Paris"
        )
        assert (
            text(await client.call_tool("test_input_required_result_list_roots", {}))
            == "Client roots: file:///work"
        )
        assert text(await client.call_tool("test_input_required_result_multi_round", {})) == "Ada likes teal"
        assert text(await client.call_tool("test_input_required_result_request_state", {})) == "state-ok"
        multiple = text(await client.call_tool("test_input_required_result_multiple_inputs", {}))
        assert multiple == "Ada: Paris (1 roots)"
        prompt = await client.get_prompt("test_input_required_result_prompt")
        assert "Use this context" in json.dumps(prompt["messages"])
    assert ERA_CACHE.get(url) == (Era.MODERN, "2026-07-28")


async def test_a_legacy_client_and_an_auto_client_share_our_endpoint(http_server: Callable[..., str]) -> None:
    url = http_server(everything)
    async with (
        Client(url, era="legacy", elicitation_handler=elicit) as legacy,
        Client(url, elicitation_handler=elicit) as modern,
    ):
        assert legacy.era is Era.LEGACY and modern.era is Era.MODERN
        for client in (legacy, modern):
            assert text(await client.call_tool("test_input_required_result_elicitation", {})) == "Hello, Ada!"


class Tamper(httpx.AsyncBaseTransport):
    """Passes requests through, changing every requestState it sees (an attacker's retry)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        state = (body.get("params") or {}).get("requestState")
        if isinstance(state, str):
            body["params"]["requestState"] = state[:-2] + ("AA" if not state.endswith("AA") else "BB")
            content = json.dumps(body).encode()
            headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
            request = httpx.Request(request.method, request.url, headers=headers, content=content)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_tampered_request_state_is_refused(http_server: Callable[..., str]) -> None:
    url = http_server(everything)
    async with (
        httpx.AsyncClient(transport=Tamper()) as http,
        Client(url, era="modern", elicitation_handler=elicit, http_client=http) as client,
    ):
        with pytest.raises(RemoteError) as info:
            await client.call_tool("test_input_required_result_tampered_state", {})
    assert info.value.code == -32602


class LegacyOnly:
    """The official SDK's HTTP app limited to its legacy (handshake) paths: the modern
    MCP-Protocol-Version header is hidden from it, as from a 2025-era SDK server."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = [
                (k, v)
                for k, v in scope["headers"]
                if not (k == b"mcp-protocol-version" and v.startswith(b"2026"))
            ]
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


@pytest.mark.parametrize("stateless", [False, True], ids=["stateful", "stateless"])
async def test_auto_falls_back_to_initialize_on_a_legacy_sdk_server(
    stateless: bool, serve_app: Callable[..., str]
) -> None:
    from mcp.server.transport_security import TransportSecuritySettings

    from tests.interop_servers.sdk_server import server as sdk

    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    url = serve_app(
        LegacyOnly(
            sdk.streamable_http_app(stateless_http=stateless, json_response=True, transport_security=security)
        )
    )
    async with Client(url) as client:
        assert client.era is Era.LEGACY and client.protocol_version == "2025-11-25"
        assert client.server_info["name"] == "sdk-interop"
        assert text(await client.call_tool("add", {"a": 2, "b": 40})) == "42"
    assert ERA_CACHE.get(url) == (Era.LEGACY, "2025-11-25")
    async with Client(url) as again:  # cached: straight to initialize
        assert again.era is Era.LEGACY


async def test_auto_speaks_modern_to_the_sdk_http_server(serve_app: Callable[..., str]) -> None:
    from mcp.server.transport_security import TransportSecuritySettings

    from tests.interop_servers.sdk_server import server as sdk

    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    url = serve_app(sdk.streamable_http_app(json_response=True, transport_security=security))
    async with Client(url) as client:
        assert client.era is Era.MODERN
        assert text(await client.call_tool("add", {"a": 1, "b": 2})) == "3"


# -- stdio --------------------------------------------------------------------------------


async def test_auto_over_stdio_our_server_is_modern() -> None:
    async with Client(OUR_STDIO, cwd=str(REPO), elicitation_handler=elicit) as client:
        assert client.era is Era.MODERN
        assert text(await client.call_tool("test_input_required_result_elicitation", {})) == "Hello, Ada!"


async def test_auto_over_stdio_the_sdk_server_is_modern() -> None:
    async with Client(SDK_STDIO, cwd=str(REPO)) as client:
        assert client.era is Era.MODERN
        assert text(await client.call_tool("add", {"a": 20, "b": 22})) == "42"


LEGACY_STDIO = r"""
import json, sys
MODE = sys.argv[1]
initialized = False
for line in sys.stdin:
    msg = json.loads(line)
    method, rid = msg.get("method"), msg.get("id")
    if rid is None:
        continue
    if method == "initialize":
        initialized = True
        info = {"name": "old", "version": "0"}
        out = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": info}
        print(json.dumps({"jsonrpc": "2.0", "id": rid, "result": out}), flush=True)
    elif not initialized:
        if MODE == "silent":
            continue
        code = {"-32600": -32600, "-32601": -32601, "-32602": -32602}[MODE]
        error = {"code": code, "message": "not initialized"}
        print(json.dumps({"jsonrpc": "2.0", "id": rid, "error": error}), flush=True)
    else:
        print(json.dumps({"jsonrpc": "2.0", "id": rid, "result": {"tools": [], "mode": MODE}}), flush=True)
"""


@pytest.mark.parametrize("mode", ["-32600", "-32601", "-32602", "silent"])
async def test_auto_over_stdio_falls_back_for_legacy_servers(mode: str) -> None:
    async with Client([sys.executable, "-c", LEGACY_STDIO, mode], probe_timeout=1.0) as client:
        assert client.era is Era.LEGACY and client.protocol_version == "2025-06-18"
        assert (await client.request("tools/list"))["mode"] == mode


async def test_auto_falls_back_to_http_sse_last(serve_app: Callable[..., str]) -> None:
    from mcp.server.transport_security import TransportSecuritySettings

    from tests.interop_servers.sdk_server import server as sdk

    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    url = serve_app(sdk.sse_app(transport_security=security), path="/sse")
    for _ in range(2):  # the second time from the era cache, straight to HTTP+SSE
        async with Client(url) as client:
            assert client.era is Era.LEGACY
            assert type(client.transport).__name__ == "LegacySSETransport"
            assert text(await client.call_tool("add", {"a": 2, "b": 3})) == "5"
            assert {"add", "echo"} <= {tool["name"] for tool in await client.list_tools()}
        assert ERA_CACHE.via_sse(url)


# -- subscriptions/listen -------------------------------------------------------------------


async def _listen_round_trip(client: Client) -> None:
    async with client.listen(tools_list_changed=True, notifications={"noSuchKind": True}) as subscription:
        assert subscription.id is not None and subscription.honoured == {"toolsListChanged": True}
        await client.call_tool("test_trigger_tool_change", {})
        with anyio.fail_after(10):
            method, params = await subscription.__anext__()
        assert method == "notifications/tools/list_changed"
        assert params["_meta"]["io.modelcontextprotocol/subscriptionId"] == subscription.id
        await client.call_tool("test_trigger_tool_change", {})  # put the tool set back
    # Closed: the client still works, and a second listen gets its own id.
    async with client.listen(prompts_list_changed=True) as again:
        assert again.id != subscription.id
    assert (await client.call_tool("add", {"a": 1, "b": 1}))["structuredContent"] == {"result": 2}


async def test_listen_over_http(http_server: Callable[..., str]) -> None:
    async with Client(http_server(everything), era="modern") as client:
        await _listen_round_trip(client)


async def test_listen_over_stdio() -> None:
    async with Client(OUR_STDIO, era="modern", cwd=str(REPO)) as client:
        await _listen_round_trip(client)


async def test_listen_is_modern_only(http_server: Callable[..., str]) -> None:
    from mcp_transport import UsageError

    async with Client(http_server(everything), era="legacy") as client:
        with pytest.raises(UsageError):
            async with client.listen(tools_list_changed=True):
                pass
