"""The same server in both eras: modern (2026-07-28) results carry resultType, serverInfo
and cache hints; legacy results do not; legacy-only methods are absent in the modern era."""

from __future__ import annotations

import pytest

from mcp_transport.errors import RemoteError
from mcp_transport.protocol import META_SERVER_INFO
from mcp_transport.server import MCPServer
from mcp_transport.testing import MemoryClient
from servers.everything import server as everything

pytestmark = pytest.mark.anyio

CACHED = ["tools/list", "prompts/list", "resources/list", "resources/templates/list"]


@pytest.mark.parametrize("method", CACHED)
async def test_modern_lists_carry_cache_hints(method: str) -> None:
    async with MemoryClient.connect(everything, initialize=False) as client:
        result = await client.modern_request(method)
    assert result["resultType"] == "complete"
    assert isinstance(result["ttlMs"], int) and result["ttlMs"] >= 0
    assert result["cacheScope"] in ("public", "private")
    assert result["_meta"][META_SERVER_INFO]["name"] == "everything"


@pytest.mark.parametrize("method", CACHED)
async def test_legacy_lists_have_no_modern_fields(method: str) -> None:
    async with MemoryClient.connect(everything) as client:
        result = await client.request(method)
    assert not {"resultType", "ttlMs", "cacheScope", "_meta"} & set(result)


async def test_modern_read_call_get_complete() -> None:
    async with MemoryClient.connect(everything, initialize=False) as client:
        read = await client.modern_request("resources/read", {"uri": "test://template/7/data"})
        assert read["resultType"] == "complete" and read["cacheScope"] == "private" and read["ttlMs"] == 0
        call = await client.modern_request("tools/call", {"name": "test_simple_text"})
        assert call["resultType"] == "complete" and call["content"][0]["type"] == "text"
        prompt = await client.modern_request("prompts/get", {"name": "test_simple_prompt"})
        assert prompt["resultType"] == "complete" and prompt["messages"]
        completion = await client.modern_request(
            "completion/complete",
            {
                "ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
                "argument": {"name": "arg1", "value": "p"},
            },
        )
        assert completion["resultType"] == "complete" and completion["completion"]["values"]


async def test_discover_capabilities_match_registrations() -> None:
    async with MemoryClient.connect(everything, initialize=False) as client:
        result = await client.modern_request("server/discover")
    # 2026-07-28 extensions (tasks, skills) are offered in server/discover only.
    assert result["capabilities"] == {**everything.capabilities(), "extensions": everything.extensions}
    assert set(everything.extensions) == {"io.modelcontextprotocol/tasks", "io.modelcontextprotocol/skills"}
    assert {"tools", "resources", "prompts", "completions"} <= set(result["capabilities"])


@pytest.mark.parametrize(
    "method", ["ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"]
)
async def test_legacy_only_methods_are_not_found_in_the_modern_era(method: str) -> None:
    async with MemoryClient.connect(everything, initialize=False) as client:
        with pytest.raises(RemoteError) as err:
            await client.modern_request(method, {"level": "info", "uri": "test://watched-resource"})
    assert err.value.code == -32601


async def test_modern_progress_reaches_the_request() -> None:
    async with MemoryClient.connect(everything, initialize=False) as client:
        await client.modern_request("tools/call", {"name": "test_tool_with_progress"}, progressToken=5)
    assert [p["progress"] for p in client.notifications_of("notifications/progress")] == [0, 50, 100]


async def test_modern_results_follow_a_rename_and_keep_their_own_meta() -> None:
    """serverInfo (2026-07-28 basic/index#_meta) is built once per server, not per result:
    a server renamed at run time answers with its new info, and a result's own ``_meta`` is
    merged into a new dict, never into the shared one."""
    server = MCPServer("before", version="1.0")

    @server.tool()
    def echo(text: str) -> str:
        return text

    async with MemoryClient.connect(server, initialize=False) as client:
        first = await client.modern_request("tools/call", {"name": "echo", "arguments": {"text": "a"}})
        assert first["_meta"][META_SERVER_INFO] == {"name": "before", "version": "1.0"}
        server.name, server.version, server.title = "after", "2.0", "After"
        second = await client.modern_request("tools/call", {"name": "echo", "arguments": {"text": "b"}})
    assert second["_meta"][META_SERVER_INFO] == {"name": "after", "version": "2.0", "title": "After"}
    own = server.modern_result({"_meta": {"x/y": 1}})
    assert own["_meta"] == {"x/y": 1, META_SERVER_INFO: {"name": "after", "version": "2.0", "title": "After"}}
    assert server.modern_result({})["_meta"] == {META_SERVER_INFO: own["_meta"][META_SERVER_INFO]}
