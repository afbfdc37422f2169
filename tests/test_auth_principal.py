"""The principal below the transports (no HTTP here): scope checks of the era gate for any
transport, ``ctx.principal``, and MRTR state bound to the principal (2026-07-28
basic/authorization#runtime-insufficient-scope-errors, basic/patterns/mrtr)."""

from __future__ import annotations

import base64

import httpx
import pytest

from mcp_transport.errors import InvalidParams, RemoteError
from mcp_transport.mrtr import RequestStateCodec, Round
from mcp_transport.principal import Principal, current_principal, principal_from_claims
from mcp_transport.server import Context, MCPServer
from mcp_transport.testing import MemoryClient

pytestmark = pytest.mark.anyio

ALICE = Principal("alice", issuer="https://idp", scopes=frozenset({"mcp"}))


def make_server() -> MCPServer:
    server = MCPServer("scoped")

    @server.tool(scopes=["admin"])
    async def purge() -> str:
        return "purged"

    @server.tool()
    async def whoami(ctx: Context) -> str:
        return ctx.principal.subject if ctx.principal else "nobody"

    return server


async def test_a_missing_scope_is_a_jsonrpc_error_naming_it() -> None:
    reset = current_principal.set(ALICE)
    try:
        async with MemoryClient.connect(make_server()) as client:
            with pytest.raises(RemoteError) as caught:
                await client.call_tool("purge")
            assert (await client.call_tool("whoami"))["content"][0]["text"] == "alice"
    finally:
        current_principal.reset(reset)
    assert caught.value.code == -32016 and caught.value.data == {"requiredScopes": ["admin"]}
    assert "admin" in caught.value.message and "step-up" in caught.value.message


async def test_without_authorization_scopes_are_not_checked() -> None:
    async with MemoryClient.connect(make_server()) as client:
        assert (await client.call_tool("purge"))["content"][0]["text"] == "purged"
        assert (await client.call_tool("whoami"))["content"][0]["text"] == "nobody"


def test_request_state_is_bound_to_its_principal() -> None:
    codec = RequestStateCodec()
    params = {"name": "greet", "arguments": {}}
    state = Round(answers={"a": 1}).result(codec, "tools/call", params, "idp alice")["requestState"]
    retry = {**params, "requestState": state}
    assert Round.from_request(codec, "tools/call", retry, "idp alice").answers == {"a": 1}
    for other in ("idp bob", None):
        with pytest.raises(InvalidParams, match="another principal"):
            Round.from_request(codec, "tools/call", retry, other)


def test_principal_from_claims() -> None:
    principal = principal_from_claims(
        {"client_id": "svc", "scope": "a b", "iss": "https://idp", "exp": 5}, None
    )
    assert principal is not None and principal.subject == "svc" and principal.scopes == {"a", "b"}
    assert principal.identity == "https://idp svc" and principal.expires_at == 5.0
    assert principal_from_claims({"scope": "a"}, "https://idp") is None


async def test_an_unreachable_issuer_is_503_not_401() -> None:
    """Nothing listens at the issuer: the token cannot be checked, which is not the token's fault."""
    from mcp_transport.auth import ResourceServer
    from mcp_transport.transports.http import http_app
    from tests.interop_servers import free_port

    issuer = f"http://127.0.0.1:{free_port()}"
    header = base64.urlsafe_b64encode(b'{"alg":"RS256","typ":"at+jwt","kid":"k1"}').rstrip(b"=").decode()
    server = MCPServer("protected", auth=ResourceServer(issuer=issuer, audience="http://testserver/mcp"))
    transport = httpx.ASGITransport(app=http_app(server))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={
                "authorization": f"Bearer {header}.e30.c2ln",
                "accept": "application/json, text/event-stream",
            },
        )
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    error = response.json()["error"]
    assert error["code"] == -32013 and "cannot discover the metadata" in error["message"]


async def test_the_status_page_of_a_protected_server_needs_a_token() -> None:
    from mcp_transport.auth import InvalidToken, ResourceServer
    from mcp_transport.transports.http import http_app

    class OneToken:
        async def verify(self, token: str) -> Principal:
            if token != "ops":
                raise InvalidToken("unknown token")
            return ALICE

    auth = ResourceServer(issuer="https://idp", audience="http://testserver/mcp", verifier=OneToken())
    app = http_app(MCPServer("protected", auth=auth), status_page=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        refused = await http.get("/mcp/status.json")
        assert refused.status_code == 401 and "resource_metadata" in refused.headers["www-authenticate"]
        assert (
            await http.get("/mcp/status.json", headers={"authorization": "Bearer ops"})
        ).status_code == 200
        assert (await http.get("/.well-known/oauth-protected-resource")).status_code == 200  # public


async def test_a_fastapi_mount_serves_the_metadata_and_refuses_without_a_token() -> None:
    from fastapi import FastAPI

    from mcp_transport.auth import InvalidToken, ResourceServer
    from mcp_transport.transports.http import mcp_router

    class NoTokens:
        async def verify(self, token: str) -> Principal:
            raise InvalidToken("no token is valid here")

    auth = ResourceServer(
        issuer="https://idp", audience="http://testserver/mcp", verifier=NoTokens(), scopes=["mcp"]
    )
    app = FastAPI()
    app.include_router(mcp_router(MCPServer("protected", auth=auth)))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
            assert (await http.get(path)).json()["scopes_supported"] == ["mcp"]
        refused = await http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == -32015


async def test_a_verifiers_own_http_client_is_closed_and_made_again_a_given_one_is_left_alone() -> None:
    from mcp_transport.auth.verify import OwnHTTP

    own = OwnHTTP(None)
    first = own.get()
    await own.aclose()
    assert first.is_closed
    second = own.get()  # the app started again: a new client, not the closed one
    assert second is not first and not second.is_closed
    await own.aclose()
    async with httpx.AsyncClient() as given:
        theirs = OwnHTTP(given)
        assert theirs.get() is given
        await theirs.aclose()
        assert not given.is_closed  # the caller's client is the caller's to close
