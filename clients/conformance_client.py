"""The client under test for the official MCP conformance suite (its contract: the suite's
README, §Client Testing; npm ``@modelcontextprotocol/conformance``).

    MCP_CONFORMANCE_SCENARIO=tools_call python -m clients.conformance_client http://localhost:PORT/mcp

The URL is the last argument, used exactly as given. Exit 0 when the scenario's flow is done,
non-zero on failure or for an unknown scenario. The whole run has its own deadline, shorter
than the suite's default 30 s, so a stuck run ends on its own.

Suite 0.2 names the wire its mock speaks in ``MCP_CONFORMANCE_PROTOCOL_VERSION``:
``2026-07-28`` means the stateless (modern) wire, anything else the ``initialize`` handshake;
0.1 does not set it (the handshake). ``MCP_TRANSPORT_CLIENT_ERA=auto`` overrides that: the
client probes and picks the era itself.

Every ``auth/*`` scenario runs one flow (list tools, call ``test-tool``) behind
``mcp_transport.auth.OAuth``, configured from ``MCP_CONFORMANCE_CONTEXT`` (pre-registered
credentials, client credentials, workload JWT, enterprise IdP); the suite's authorization
server approves at once, so the redirect step just reads its ``Location``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

from conformance.context import sample_arguments
from mcp_transport import Client
from mcp_transport.auth import (
    ClientCredentialsGrant,
    ClientInfo,
    EnterpriseGrant,
    Grant,
    JwtBearerGrant,
    OAuth,
)
from mcp_transport.client import SkillVerificationError

__all__ = ["main"]

DEADLINE_SECONDS = 25.0
CLIENT_INFO = {"name": "mcp_transport-conformance-client", "version": "0.1.0"}

log = logging.getLogger("conformance_client")


def _era() -> str:
    # MCP_TRANSPORT_CLIENT_ERA=auto makes the client find the era itself (our tests run
    # every scenario that way too).
    override = os.environ.get("MCP_TRANSPORT_CLIENT_ERA")
    if override in ("auto", "legacy", "modern"):
        return override
    return "modern" if os.environ.get("MCP_CONFORMANCE_PROTOCOL_VERSION") == "2026-07-28" else "legacy"


def _context() -> dict[str, Any]:
    raw = os.environ.get("MCP_CONFORMANCE_CONTEXT")
    if not raw:
        return {}
    context = json.loads(raw)
    return context if isinstance(context, dict) else {}


def _client(url: str, **kwargs: Any) -> Client:
    return Client(url, era=_era(), client_info=CLIENT_INFO, **kwargs)


async def initialize(url: str) -> None:
    async with _client(url) as client:
        log.info("initialized: %s %s", client.protocol_version, client.server_info)
        await client.list_tools()


async def tools_call(url: str) -> None:
    async with _client(url) as client:
        tools = {tool["name"] for tool in await client.list_tools()}
        if "add_numbers" not in tools:
            raise SystemExit(f"the server offers no add_numbers tool: {sorted(tools)}")
        result = await client.call_tool("add_numbers", {"a": 5, "b": 3})
        log.info("add_numbers: %s", result)


async def elicitation_defaults(url: str) -> None:
    async def accept(params: dict[str, Any]) -> dict[str, Any]:
        # Accept with no content of our own: the client fills in the schema defaults.
        return {"action": "accept", "content": {}}

    async with _client(url, elicitation_handler=accept) as client:
        await client.list_tools()
        result = await client.call_tool("test_client_elicitation_defaults", {})
        log.info("elicitation result: %s", result)


async def sse_retry(url: str) -> None:
    async with _client(url) as client:
        await client.list_tools()
        result = await client.call_tool("test_reconnection", {})
        log.info("reconnection result: %s", result)


async def request_metadata(url: str) -> None:
    # The mock rejects the first request with -32022; the client retries with a supported
    # version. Every request carries the envelope and MCP-Protocol-Version.
    async with _client(url) as client:
        log.info("discovered: %s %s", client.protocol_version, client.server_info)
        tools = await client.list_tools()
        for tool in tools[:1]:
            await client.call_tool(tool["name"], sample_arguments(tool.get("inputSchema") or {}))


async def mrtr_request_state(url: str) -> None:
    client: Client

    async def confirm(params: dict[str, Any]) -> dict[str, Any]:
        if not unrelated_done:
            # A call made between the MRTR rounds must carry none of their fields.
            unrelated_done.append(await client.call_tool("test_mrtr_unrelated", {}))
        return {"action": "accept", "content": {"confirmed": True}}

    unrelated_done: list[dict[str, Any]] = []
    async with _client(url, elicitation_handler=confirm) as client:
        await client.list_tools()
        for name in ("test_mrtr_echo_state", "test_mrtr_no_state", "test_mrtr_no_result_type"):
            result = await client.call_tool(name, {})
            log.info("%s: %s", name, result)
        if not unrelated_done:
            await client.call_tool("test_mrtr_unrelated", {})


async def standard_headers(url: str) -> None:
    async with _client(url) as client:
        for tool in await client.list_tools():
            await client.call_tool(tool["name"], sample_arguments(tool.get("inputSchema") or {}))
        for resource in await client.list_resources():
            await client.read_resource(resource["uri"])
        for prompt in await client.list_prompts():
            await client.get_prompt(prompt["name"])


async def custom_headers(url: str) -> None:
    calls = _context().get("toolCalls") or []
    async with _client(url) as client:
        await client.list_tools()
        for call in calls:
            result = await client.call_tool(call["name"], call.get("arguments") or {})
            log.info("%s: %s", call["name"], result)


async def invalid_tool_headers(url: str) -> None:
    async with _client(url) as client:
        tools = await client.list_tools()  # tools with invalid x-mcp-header are dropped here
        log.info("usable tools: %s", [tool["name"] for tool in tools])
        for tool in tools:
            await client.call_tool(tool["name"], sample_arguments(tool.get("inputSchema") or {}))


async def ref_no_deref(url: str) -> None:
    async with _client(url) as client:
        tools = await client.list_tools()  # inputSchemas are kept as given: no $ref is fetched
        log.info("tools: %s", [tool["name"] for tool in tools])


async def schema_preservation(url: str) -> None:
    async with _client(url) as client:
        tools = {tool["name"]: tool for tool in await client.list_tools()}
        focal = tools.get("json_schema_2020_12_tool")
        if focal is None or "json_schema_echo" not in tools:
            raise SystemExit(f"the server lacks the schema tools: {sorted(tools)}")
        await client.call_tool("json_schema_echo", {"schema": focal.get("inputSchema")})


async def skills_no_prefetch(url: str) -> None:
    async with _client(url) as client:
        skills = await client.list_skills()  # listing reads no skill file (SEP-2640)
        log.info("skills: %s", [skill.get("uri") for skill in skills])


async def skills_verify(url: str) -> None:
    """Load every listed skill and read its files, each verified; a skill that fails
    verification is rejected (logged) and none of its other files is read."""
    async with _client(url) as client:
        for skill in await client.list_skills():
            try:
                await client.load_skill(skill)
            except SkillVerificationError as exc:
                log.warning("rejected skill %s: %s", skill.get("uri"), exc)
                continue
            for resource in skill.get("resources") or []:
                if resource.get("uri") != skill.get("uri"):
                    await client.read_skill_file(skill, resource["uri"])
            log.info("loaded skill %s", skill.get("uri"))


# The suite's fixed client ID metadata document URL (auth/basic-cimd) and redirect URI.
CIMD_URL = "https://conformance-test.local/client-metadata.json"
REDIRECT_URI = "http://localhost:3000/callback"


async def _follow_authorize(url: str) -> str:
    """The suite's authorization server approves at once: the redirect is the answer."""
    async with httpx.AsyncClient(follow_redirects=False) as http:
        response = await http.get(url)
    location = response.headers.get("location")
    if not location:
        raise SystemExit(f"the authorization endpoint did not redirect: HTTP {response.status_code}")
    return location


def _oauth(scenario: str) -> OAuth:
    """OAuth configured as each auth scenario's context says (credentials, grant)."""
    context = _context()
    client: ClientInfo | None = None
    grant: Grant | None = None
    if "client_id" in context:
        client = ClientInfo(
            client_id=context["client_id"],
            client_secret=context.get("client_secret"),
            private_key=context.get("private_key_pem"),
            signing_alg=context.get("signing_algorithm") or "ES256",
        )
    if scenario.startswith("auth/client-credentials-"):
        grant = ClientCredentialsGrant()
    elif scenario == "auth/wif-jwt-bearer":
        grant = JwtBearerGrant(context["valid_jwt"])
    elif scenario == "auth/enterprise-managed-authorization":
        grant = EnterpriseGrant(
            context["idp_token_endpoint"], context["idp_id_token"], context["idp_client_id"]
        )
    return OAuth(
        on_authorize=_follow_authorize,
        redirect_uri=REDIRECT_URI,
        client=client,
        client_metadata_url=CIMD_URL,
        client_name="mcp_transport-conformance-client",
        grant=grant,
    )


async def authorized(url: str) -> None:
    """Every auth/* scenario: list the tools and call test-tool behind OAuth; the scenario's
    servers decide what happens (step-up, migration, DPoP nonces, refusals)."""
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    async with _client(url, auth=_oauth(scenario)) as client:
        tools = {tool["name"] for tool in await client.list_tools()}
        if "test-tool" in tools:
            await client.call_tool("test-tool", {})


SCENARIOS: dict[str, Callable[[str], Awaitable[None]]] = {
    "initialize": initialize,
    "tools_call": tools_call,
    "elicitation-sep1034-client-defaults": elicitation_defaults,
    "sse-retry": sse_retry,
    "request-metadata": request_metadata,
    "sep-2322-client-request-state": mrtr_request_state,
    "http-standard-headers": standard_headers,
    "http-custom-headers": custom_headers,
    "http-invalid-tool-headers": invalid_tool_headers,
    "json-schema-ref-no-deref": ref_no_deref,
    "json-schema-2020-12-preservation": schema_preservation,
    "sep-2640-client-no-prefetch": skills_no_prefetch,
    "sep-2640-client-verify-digest": skills_verify,
    "sep-2640-client-verify-size": skills_verify,
    "sep-2640-client-verify-frontmatter": skills_verify,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    if not argv:
        print("usage: python -m clients.conformance_client <server-url>", file=sys.stderr)
        return 2
    run = authorized if scenario.startswith("auth/") else SCENARIOS.get(scenario)
    if run is None:
        print(f"unknown scenario {scenario!r}; known: {', '.join(sorted(SCENARIOS))}", file=sys.stderr)
        return 2

    async def bounded() -> None:
        with anyio.fail_after(DEADLINE_SECONDS):
            await run(argv[-1])

    try:
        anyio.run(bounded)
    except Exception as exc:  # any failure of the flow is a non-zero exit
        log.error("scenario %s failed: %s: %s", scenario, type(exc).__name__, exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
