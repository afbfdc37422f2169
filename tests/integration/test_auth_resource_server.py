"""The resource-server half of authorization end to end: a real authorization server process
(tests/auth_rs/authorization_server.py: RS256 JWTs signed with joserfc, JWKS, introspection)
and our protected server as another process (``mcp-transport serve ... --auth-issuer``), over
real HTTP. Our OAuth ``Client`` discovers the metadata from a 401 and gets a token; tokens for
another audience, expired, badly signed or from a rotated key; 403 step-up; a session, an MRTR
retry or a task of one principal used by another (2026-07-28 basic/authorization)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx
import orjson
import pytest
from servers_for_tests import ServerThread, initialize_request

from conformance.context import Options
from conformance.model import Status
from conformance.runner import run_scenarios, select
from conformance.scenarios import SCENARIOS
from mcp_transport import Client
from mcp_transport.auth import OAuth, ResourceServer
from mcp_transport.auth.challenge import parse_www_authenticate
from mcp_transport.auth.discovery import canonical_resource
from mcp_transport.auth.introspection import IntrospectionVerifier
from mcp_transport.auth.verify import InvalidToken, JWTVerifier, VerifierUnavailable
from mcp_transport.protocol import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION
from mcp_transport.server import MCPServer
from mcp_transport.transports.http import http_app
from mcp_transport.transports.http.headers import request_headers
from tests.interop_servers import ServerProcess, free_port

pytestmark = pytest.mark.anyio

ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
MODERN = "2026-07-28"
TASKS = "io.modelcontextprotocol/tasks"


class Servers:
    def __init__(self, issuer: str, mcp: str) -> None:
        self.issuer = issuer
        self.mcp = mcp
        self.audience = mcp

    def mint(self, **body: Any) -> str:
        body.setdefault("aud", self.audience)
        token: str = httpx.post(f"{self.issuer}/test/mint", json=body).json()["access_token"]
        return token

    def control(self, what: str, **body: Any) -> None:
        httpx.post(f"{self.issuer}/test/{what}", json=body).raise_for_status()

    def events(self, client_id: str) -> list[str]:
        """What the client did at the authorization server: authorize, then grant types."""
        events: list[str] = httpx.get(f"{self.issuer}/test/events", params={"client_id": client_id}).json()
        return events


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    as_port, mcp_port = free_port(), free_port()
    issuer, mcp = f"http://127.0.0.1:{as_port}", f"http://127.0.0.1:{mcp_port}/mcp"
    authorization = ServerProcess(
        [sys.executable, "-m", "tests.auth_rs.authorization_server", "--port", str(as_port)], as_port
    )
    protected = ServerProcess(
        [
            sys.executable,
            "-m",
            "mcp_transport",
            "serve",
            "tests.auth_rs.protected_server:server",
            "--port",
            str(mcp_port),
            "--auth-issuer",
            issuer,
            "--auth-audience",
            mcp,
            "--auth-scope",
            "mcp",
        ],
        mcp_port,
    )
    authorization.start()
    try:
        protected.start()
        try:
            yield Servers(issuer, mcp)
        finally:
            protected.stop()
    finally:
        authorization.stop()


async def approve(url: str) -> str:
    """The user agent: the authorization server auto-approves, so its redirect is the answer."""
    async with httpx.AsyncClient() as http:
        return (await http.get(url)).headers["location"]


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def modern(method: str, params: dict[str, Any], caps: dict[str, Any] | None = None) -> dict[str, Any]:
    meta = {META_PROTOCOL_VERSION: MODERN, META_CLIENT_CAPABILITIES: caps or {}}
    return {"jsonrpc": "2.0", "id": 7, "method": method, "params": {**params, "_meta": meta}}


async def post(url: str, message: dict[str, Any], token: str | None, **headers: str) -> httpx.Response:
    all_headers = {**ACCEPT, **(bearer(token) if token else {}), **headers}
    if "_meta" in message.get("params", {}):
        all_headers.update(request_headers(message["method"], message["params"], None))
    async with httpx.AsyncClient() as http:
        return await http.post(url, content=orjson.dumps(message), headers=all_headers)


def challenge(response: httpx.Response) -> dict[str, str]:
    [found] = parse_www_authenticate(response.headers.get_list("www-authenticate"))
    assert found.scheme == "bearer"
    return found.params


# -- the HTTP surface ------------------------------------------------------------------------


async def test_no_token_is_401_with_the_metadata_url_scope_and_a_jsonrpc_body(servers: Servers) -> None:
    for method in ("POST", "GET", "DELETE"):
        async with httpx.AsyncClient() as http:
            response = await http.request(method, servers.mcp, headers={**ACCEPT, "mcp-session-id": "x"})
        assert response.status_code == 401, (method, response.text)
        params = challenge(response)
        port = httpx.URL(servers.mcp).port
        assert (
            params["resource_metadata"] == f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp"
        )
        assert params["scope"] == "mcp"
        body = response.json()
        assert body["jsonrpc"] == "2.0" and body["error"]["code"] == -32015
        assert "access token" in body["error"]["message"]


async def test_protected_resource_metadata_at_both_well_known_uris(servers: Servers) -> None:
    base = servers.mcp.removesuffix("/mcp")
    async with httpx.AsyncClient() as http:
        for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
            document = (await http.get(base + path)).json()
            assert document == {
                "resource": servers.mcp,
                "authorization_servers": [servers.issuer],
                "bearer_methods_supported": ["header"],
                "scopes_supported": ["mcp"],
            }


async def test_tokens_in_the_query_string_are_refused(servers: Servers) -> None:
    token = servers.mint()
    response = await post(f"{servers.mcp}?access_token={token}", modern("tools/list", {}), None)
    assert response.status_code == 400
    assert "query string" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("mint", "words"),
    [
        ({"aud": "http://127.0.0.1:1/other"}, "not issued for this server"),
        ({"claims": {"exp": int(time.time()) - 600, "iat": int(time.time()) - 900}}, "expired"),
        ({"stray_key": True}, "signature"),
        ({"typ": "JWT"}, "typ"),
        ({"claims": {"iss": "http://evil.example"}}, "issuer"),
    ],
    ids=["wrong-audience", "expired", "bad-signature", "not-an-access-token", "wrong-issuer"],
)
async def test_invalid_tokens_are_401_invalid_token(
    servers: Servers, mint: dict[str, Any], words: str
) -> None:
    response = await post(servers.mcp, modern("tools/list", {}), servers.mint(**mint))
    assert response.status_code == 401, response.text
    assert challenge(response)["error"] == "invalid_token"
    assert words in response.json()["error"]["message"].lower()


# -- the client flow -------------------------------------------------------------------------


async def test_our_client_discovers_authorizes_and_steps_up(servers: Servers) -> None:
    auth = OAuth(on_authorize=approve)
    async with Client(servers.mcp, auth=auth) as client:
        result = await client.call_tool("whoami", {})
        # offline_access: the client asks for a refresh token (the AS lists it).
        assert result["content"][0]["text"] == "alice mcp offline_access"
        # purge needs "admin": 403 insufficient_scope, the client re-authorizes with mcp + admin.
        result = await client.call_tool("purge", {})
        assert result["content"][0]["text"] == "purged"
        result = await client.call_tool("whoami", {})
        assert result["content"][0]["text"] == "alice admin mcp offline_access"


async def test_an_expired_access_token_is_refreshed_without_a_new_authorization(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The authorization server issues 3 s access tokens without ``expires_in`` (RFC 6749 §5.1
    only recommends it), so the client learns of the expiry from our server's 401 and recovers
    with its refresh token (2026-07-28 basic/authorization#token-handling), not a new
    authorization. The protected server introspects, so the expiry is exact (no JWT leeway)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    monkeypatch.setenv("MCP_TRANSPORT_INTROSPECTION_CLIENT_ID", "rs")
    monkeypatch.setenv("MCP_TRANSPORT_INTROSPECTION_CLIENT_SECRET", "rs-secret")
    argv = [sys.executable, "-m", "mcp_transport", "serve", "tests.auth_rs.protected_server:server"]
    argv += ["--port", str(port), "--auth-issuer", servers.issuer, "--auth-audience", url]
    argv += ["--auth-introspection", f"{servers.issuer}/introspect", "--auth-scope", "mcp"]
    protected = ServerProcess(argv, port).start()
    servers.control("lifetime", seconds=3, advertise=False)
    try:
        auth = OAuth(on_authorize=approve)
        async with Client(url, auth=auth) as client:
            assert (await client.call_tool("whoami", {}))["content"][0]["text"] == "alice mcp offline_access"
            first = await auth.storage.get_tokens(canonical_resource(url))
            assert first is not None and first.expires_at is None  # the client cannot see it coming
            await anyio.sleep(3.5)
            expired = await post(url, modern("tools/list", {}), first.access_token)
            assert expired.status_code == 401 and challenge(expired)["error"] == "invalid_token"
            assert (await client.call_tool("whoami", {}))["content"][0]["text"] == "alice mcp offline_access"
        registered = await auth.storage.get_client(servers.issuer)
        assert registered is not None
        assert servers.events(registered.client_id) == ["authorize", "authorization_code", "refresh_token"]
    finally:
        servers.control("lifetime")  # back to the default for the other tests
        protected.stop()


async def test_insufficient_scope_is_403_with_the_needed_scopes(servers: Servers) -> None:
    token = servers.mint(scope="mcp")
    for message in (
        modern("tools/call", {"name": "purge", "arguments": {}}),
        modern("resources/read", {"uri": "secret://plans"}),
    ):
        response = await post(servers.mcp, message, token)
        assert response.status_code == 403, response.text
        params = challenge(response)
        assert params["error"] == "insufficient_scope" and params["scope"] == "mcp admin"
        body = response.json()
        assert body["id"] == 7 and body["error"]["code"] == -32016
        assert body["error"]["data"]["requiredScopes"] == ["mcp", "admin"]
    response = await post(
        servers.mcp, modern("tools/call", {"name": "purge", "arguments": {}}), servers.mint(scope="mcp admin")
    )
    assert response.status_code == 200 and response.json()["result"]["content"][0]["text"] == "purged"


async def test_a_token_without_the_servers_scope_is_403(servers: Servers) -> None:
    response = await post(servers.mcp, modern("tools/list", {}), servers.mint(scope="other"))
    assert response.status_code == 403
    assert challenge(response)["scope"] == "mcp"


# -- bindings --------------------------------------------------------------------------------


async def test_a_legacy_session_is_bound_to_its_principal(servers: Servers) -> None:
    alice, bob = servers.mint(sub="alice"), servers.mint(sub="bob")
    init = initialize_request()
    response = await post(servers.mcp, init, alice)
    assert response.status_code == 200, response.text
    session = response.headers["mcp-session-id"]
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    headers = {"mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
    assert (
        await post(servers.mcp, {"jsonrpc": "2.0", "method": "notifications/initialized"}, alice, **headers)
    ).status_code == 202
    assert (await post(servers.mcp, listing, alice, **headers)).status_code == 200
    # Alice's refreshed token (same subject) keeps the session; Bob's token does not find it.
    assert (await post(servers.mcp, listing, servers.mint(sub="alice"), **headers)).status_code == 200
    stolen = await post(servers.mcp, listing, bob, **headers)
    assert stolen.status_code == 404, stolen.text
    async with httpx.AsyncClient() as http:
        deleted = await http.delete(servers.mcp, headers={**bearer(bob), **headers})
    assert deleted.status_code == 404


async def test_an_mrtr_retry_replayed_by_another_principal_is_refused(servers: Servers) -> None:
    alice, bob = servers.mint(sub="alice"), servers.mint(sub="bob")
    caps: dict[str, Any] = {"elicitation": {"form": {}}}
    first = await post(servers.mcp, modern("tools/call", {"name": "greet", "arguments": {}}, caps), alice)
    result = first.json()["result"]
    assert result["resultType"] == "input_required"
    [key] = result["inputRequests"]
    retry = {
        "name": "greet",
        "arguments": {},
        "requestState": result["requestState"],
        "inputResponses": {key: {"action": "accept", "content": {"name": "Al"}}},
    }
    replayed = await post(servers.mcp, modern("tools/call", retry, caps), bob)
    error = replayed.json()["error"]
    assert error["code"] == -32602 and "another principal" in error["message"]
    own = await post(servers.mcp, modern("tools/call", retry, caps), alice)
    assert own.json()["result"]["content"][0]["text"] == "hello Al"


async def test_a_task_is_visible_only_to_its_principal(servers: Servers) -> None:
    alice, bob = servers.mint(sub="alice"), servers.mint(sub="bob")
    caps: dict[str, Any] = {"extensions": {TASKS: {}}}
    created = await post(servers.mcp, modern("tools/call", {"name": "slow", "arguments": {}}, caps), alice)
    task_id = created.json()["result"]["taskId"]
    own = await post(servers.mcp, modern("tasks/get", {"taskId": task_id}, caps), alice)
    assert own.json().get("result", {}).get("taskId") == task_id, own.text
    other = await post(servers.mcp, modern("tasks/get", {"taskId": task_id}, caps), bob)
    assert other.json()["error"]["code"] == -32602, other.text


# -- the verifiers on their own, against the real authorization server ------------------------


async def test_jwt_verifier_discovers_the_jwks_and_follows_key_rotation(servers: Servers) -> None:
    verifier = JWTVerifier(servers.issuer, servers.audience, min_refetch=2.0)  # jwks_uri from the metadata
    assert (await verifier.verify(servers.mint(sub="carol"))).subject == "carol"
    servers.control("rotate")
    rotated = servers.mint(sub="dave", newest_key=True)  # signed by the new key, an unknown kid for now
    with pytest.raises(InvalidToken, match="does not publish"):
        await verifier.verify(rotated)  # within the refetch floor: no new fetch yet
    await anyio.sleep(2.1)
    assert (await verifier.verify(rotated)).subject == "dave"


async def test_jwt_verifier_refuses_symmetric_algorithms() -> None:
    with pytest.raises(ValueError, match="asymmetric"):
        JWTVerifier("http://i", "http://a", algorithms=["HS256"])


async def test_introspection_refuses_inactive_tokens_and_caches_active_ones(servers: Servers) -> None:
    verifier = IntrospectionVerifier(
        servers.issuer, servers.audience, client_id="rs", client_secret="rs-secret", cache_ttl=60
    )  # the endpoint from the metadata
    token = servers.mint(sub="erin", scope="mcp admin")
    principal = await verifier.verify(token)
    assert principal.subject == "erin" and principal.scopes == {"mcp", "admin"}
    servers.control("revoke", token=token)
    assert (await verifier.verify(token)).subject == "erin"  # cached (bounded by cache_ttl and exp)
    fresh = IntrospectionVerifier(servers.issuer, servers.audience, client_id="rs", client_secret="rs-secret")
    with pytest.raises(InvalidToken, match="not active"):
        await fresh.verify(token)
    with pytest.raises(InvalidToken, match="not issued for this server"):
        await fresh.verify(servers.mint(aud="http://127.0.0.1:1/other"))
    wrong_client = IntrospectionVerifier(
        servers.issuer, servers.audience, client_id="rs", client_secret="nope"
    )
    with pytest.raises(VerifierUnavailable, match="introspection endpoint failed"):
        await wrong_client.verify(servers.mint())


@pytest.mark.parametrize("kind", ["jwks", "introspection"])
async def test_shutting_the_server_down_closes_the_verifiers_http_client(servers: Servers, kind: str) -> None:
    """The HTTP client a verifier made for the JWKS / metadata fetch or for introspection is
    closed by the app's lifespan shutdown (no connection to the issuer left open)."""
    verifier: JWTVerifier | IntrospectionVerifier = JWTVerifier(servers.issuer, servers.audience)
    if kind == "introspection":
        verifier = IntrospectionVerifier(
            servers.issuer, servers.audience, client_id="rs", client_secret="rs-secret"
        )
    auth = ResourceServer(issuer=servers.issuer, audience=servers.audience, verifier=verifier)
    thread = ServerThread(http_app(MCPServer("protected", auth=auth)))
    thread.start()
    try:
        url = f"http://127.0.0.1:{thread.port}/mcp"
        listed = await post(url, modern("tools/list", {}), servers.mint())
        assert listed.status_code == 200, listed.text
        used = verifier.http_client.get()  # the client that checked the token
        assert not used.is_closed
    finally:
        thread.stop()
    assert used.is_closed


async def test_our_server_passes_the_conformance_authorization_checks(servers: Servers) -> None:
    options = Options(
        timeout=5.0,
        bearer=servers.mint(scope="mcp"),
        bearer_other_audience=servers.mint(aud="http://127.0.0.1:1/other"),
        scoped_tool="purge",
    )
    chosen = select(SCENARIOS, target="http", names=["authorization"])
    run = await run_scenarios(chosen, url=servers.mcp, options=options)
    assert [r.status for r in run.results] == [Status.PASS] * 8, [
        (r.name, r.status, r.message) for r in run.results
    ]


async def test_the_official_sdk_client_authorizes_and_steps_up(servers: Servers) -> None:
    """The official ``mcp`` SDK's own OAuth client (its httpx2 auth) against our resource server."""
    import httpx2
    from mcp import Client as SdkClient
    from mcp.client.auth import OAuthClientProvider
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

    redirected: list[str] = []

    class Memory:
        tokens: Any = None
        client: Any = None

        async def get_tokens(self) -> Any:
            return self.tokens

        async def set_tokens(self, tokens: Any) -> None:
            self.tokens = tokens

        async def get_client_info(self) -> Any:
            return self.client

        async def set_client_info(self, client: Any) -> None:
            self.client = client

    async def redirect(url: str) -> None:
        redirected.append(await approve(url))

    async def callback() -> AuthorizationCodeResult:
        query = httpx.URL(redirected[-1]).params
        return AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))

    metadata = OAuthClientMetadata(redirect_uris=["http://127.0.0.1:1/callback"])  # type: ignore[list-item]  # pydantic coerces str to AnyUrl
    provider = OAuthClientProvider(servers.mcp, metadata, Memory(), redirect, callback)
    http = httpx2.AsyncClient(auth=provider)
    async with (
        http,
        SdkClient(streamable_http_client(servers.mcp, http_client=http), mode="legacy") as client,
    ):
        whoami = await client.call_tool("whoami", {})
        assert whoami.content[0].text.startswith("alice mcp")  # type: ignore[union-attr]  # a text block
        purged = await client.call_tool("purge", {})  # 403 insufficient_scope, then step-up
        assert purged.content[0].text == "purged"  # type: ignore[union-attr]  # a text block
    assert len(redirected) == 2


@pytest.mark.parametrize("verifier", ["jwks", "introspection"])
async def test_the_everything_server_takes_the_auth_options(
    servers: Servers, verifier: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    option = ["--auth-jwks", f"{servers.issuer}/jwks"]
    if verifier == "introspection":
        option = ["--auth-introspection", f"{servers.issuer}/introspect"]
        monkeypatch.setenv("MCP_TRANSPORT_INTROSPECTION_CLIENT_ID", "rs")
        monkeypatch.setenv("MCP_TRANSPORT_INTROSPECTION_CLIENT_SECRET", "rs-secret")
    argv = [sys.executable, "-m", "servers.everything", "--port", str(port), "--auth-issuer", servers.issuer]
    everything = ServerProcess([*argv, "--auth-audience", url, *option], port).start()
    try:
        assert (await post(url, modern("tools/list", {}), None)).status_code == 401
        listed = await post(url, modern("tools/list", {}), servers.mint(aud=url))
        assert listed.status_code == 200 and listed.json()["result"]["tools"], listed.text
        other = await post(url, modern("tools/list", {}), servers.mint(aud="http://127.0.0.1:1/other"))
        assert other.status_code == 401
    finally:
        everything.stop()


@contextmanager
def redis_workers(servers: Servers, redis_server: Any) -> Iterator[tuple[str, str, str, str]]:
    """Two protected workers of one resource sharing Redis (and their MRTR key, as the workers
    of a cluster do): their URLs, and Alice's and Bob's tokens for that resource."""
    audience = "http://127.0.0.1/mcp"  # one resource behind both workers
    ports = [free_port(), free_port()]
    auth = ["--auth-issuer", servers.issuer, "--auth-audience", audience]
    auth += ["--auth-jwks", f"{servers.issuer}/jwks"]
    redis = ["--redis-url", redis_server.url, "--redis-prefix", f"auth-{ports[0]}:"]
    redis += ["--request-state-key", "cd" * 16]
    argv = [sys.executable, "-m", "servers.everything", *redis, *auth, "--port"]
    workers: list[ServerProcess] = []
    try:
        workers.extend(ServerProcess([*argv, str(port)], port).start() for port in ports)
        alice, bob = servers.mint(sub="alice", aud=audience), servers.mint(sub="bob", aud=audience)
        yield workers[0].url, workers[1].url, alice, bob
    finally:
        for worker in workers:
            worker.stop()


async def test_with_redis_a_task_stays_bound_to_its_principal_across_workers(
    servers: Servers, redis_server: Any
) -> None:
    """Alice's task is hers on the other worker too, and Bob's token cannot see it there."""
    with redis_workers(servers, redis_server) as (one, two, alice, bob):
        caps: dict[str, Any] = {"extensions": {TASKS: {}}}
        call = modern("tools/call", {"name": "slow_compute", "arguments": {"seconds": 0.1}}, caps)
        task_id = (await post(one, call, alice)).json()["result"]["taskId"]
        mine = (await post(two, modern("tasks/get", {"taskId": task_id}, caps), alice)).json()
        assert mine["result"]["taskId"] == task_id, mine
        theirs = (await post(two, modern("tasks/get", {"taskId": task_id}, caps), bob)).json()
        assert theirs["error"]["code"] == -32602, theirs


async def test_with_redis_a_legacy_session_stays_bound_to_its_principal_across_workers(
    servers: Servers, redis_server: Any
) -> None:
    """Alice's session, opened on one worker, is not found with Bob's token on the other
    (404, 2025-11-25 basic/transports#session-management) and goes on with Alice's."""
    with redis_workers(servers, redis_server) as (one, two, alice, bob):
        response = await post(one, initialize_request(), alice)
        assert response.status_code == 200, response.text
        headers = {"mcp-session-id": response.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await post(one, initialized, alice, **headers)).status_code == 202
        listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
        stolen = await post(two, listing, bob, **headers)
        assert stolen.status_code == 404, stolen.text
        own = await post(two, listing, alice, **headers)
        assert own.status_code == 200 and "result" in own.json(), own.text


async def test_with_redis_an_mrtr_retry_is_bound_to_its_principal_across_workers(
    servers: Servers, redis_server: Any
) -> None:
    """The requestState sealed for Alice on one worker is refused for Bob on the other and
    accepted for Alice there (2026-07-28 basic/mrtr: the state is bound to its principal)."""
    with redis_workers(servers, redis_server) as (one, two, alice, bob):
        caps: dict[str, Any] = {"elicitation": {"form": {}}}
        name = "test_input_required_result_elicitation"
        first = await post(one, modern("tools/call", {"name": name, "arguments": {}}, caps), alice)
        result = first.json()["result"]
        assert result["resultType"] == "input_required", result
        retry = {
            "name": name,
            "arguments": {},
            "requestState": result["requestState"],
            "inputResponses": {"user_name": {"action": "accept", "content": {"name": "Al"}}},
        }
        replayed = (await post(two, modern("tools/call", retry, caps), bob)).json()
        assert replayed["error"]["code"] == -32602 and "another principal" in replayed["error"]["message"]
        own = (await post(two, modern("tools/call", retry, caps), alice)).json()
        assert own["result"]["content"][0]["text"] == "Hello, Al!", own
