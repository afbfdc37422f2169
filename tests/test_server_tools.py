"""Tools on MCPServer: listing, calling, results, errors, run-time registration."""

from __future__ import annotations

import json
from typing import Annotated

import anyio
import pytest
from pydantic import BaseModel, Field

from mcp_transport.errors import RemoteError
from mcp_transport.jsonrpc import Message, RequestId
from mcp_transport.server import Image, MCPServer
from mcp_transport.testing import MemoryClient
from servers.everything import CONTACT_SCHEMA
from servers.everything import server as everything

pytestmark = pytest.mark.anyio


class Point(BaseModel):
    x: int
    y: int = 0


def make_server() -> MCPServer:
    server = MCPServer("tools")

    @server.tool(
        title="Greeter", annotations={"readOnlyHint": True}, icons=[{"src": "data:image/png;base64,AA=="}]
    )
    async def greet(name: Annotated[str, Field(description="Who")], excited: bool = False) -> str:
        """Say hello."""
        return f"Hello, {name}{'!' if excited else '.'}"

    @server.tool()
    def move(p: Point, dx: int) -> Point:
        """Move a point (sync tools work too)."""
        return Point(x=p.x + dx, y=p.y)

    @server.tool(description="explicit description")
    async def picture() -> Image:
        return Image(b"png", "image/png")

    @server.tool()
    async def boom() -> str:
        """Fail."""
        raise ValueError("it broke")

    return server


async def test_list_in_registration_order_with_metadata() -> None:
    async with MemoryClient.connect(make_server()) as client:
        tools = (await client.request("tools/list"))["tools"]
    assert [t["name"] for t in tools] == ["greet", "move", "picture", "boom"]
    greet = tools[0]
    assert greet["description"] == "Say hello."
    assert greet["title"] == "Greeter"
    assert greet["annotations"] == {"readOnlyHint": True}
    assert greet["icons"] == [{"src": "data:image/png;base64,AA=="}]
    assert greet["inputSchema"]["properties"]["name"] == {"type": "string", "description": "Who"}
    assert "outputSchema" not in greet
    assert tools[1]["outputSchema"]["required"] == ["x"]
    assert tools[2]["description"] == "explicit description"


async def test_call_returns_content_and_structured_output() -> None:
    async with MemoryClient.connect(make_server()) as client:
        assert await client.call_tool("greet", {"name": "Ada", "excited": True}) == {
            "content": [{"type": "text", "text": "Hello, Ada!"}]
        }
        moved = await client.call_tool("move", {"p": {"x": 1}, "dx": 2})
        assert moved["structuredContent"] == {"x": 3, "y": 0}
        assert json.loads(moved["content"][0]["text"]) == {"x": 3, "y": 0}
        picture = await client.call_tool("picture")
        assert picture["content"][0]["type"] == "image"


async def test_tool_failures_are_results_protocol_faults_are_errors() -> None:
    async with MemoryClient.connect(make_server()) as client:
        failed = await client.call_tool("boom")
        assert failed == {"content": [{"type": "text", "text": "ValueError: it broke"}], "isError": True}
        invalid = await client.call_tool("greet", {"excited": "very"})
        assert invalid["isError"] is True and "name" in invalid["content"][0]["text"]
        with pytest.raises(RemoteError) as err:
            await client.call_tool("nope")
        assert err.value.code == -32602
        with pytest.raises(RemoteError) as err:
            await client.request("tools/call", {"name": "greet", "arguments": [1]})
        assert err.value.code == -32602


async def test_raw_schema_is_served_verbatim() -> None:
    async with MemoryClient.connect(everything) as client:
        tools = {t["name"]: t for t in (await client.request("tools/list"))["tools"]}
        assert tools["json_schema_2020_12_tool"]["inputSchema"] == CONTACT_SCHEMA
        # byte for byte, key order included
        assert json.dumps(tools["json_schema_2020_12_tool"]["inputSchema"]) == json.dumps(CONTACT_SCHEMA)
        result = await client.call_tool("json_schema_2020_12_tool", {"name": "Ada", "email": "a@b"})
        assert "Ada" in result["content"][0]["text"]


async def test_every_listed_tool_and_prompt_has_a_description() -> None:
    async with MemoryClient.connect(everything) as client:
        tools = (await client.request("tools/list"))["tools"]
        prompts = (await client.request("prompts/list"))["prompts"]
    assert all(t.get("description") for t in tools + prompts)
    assert {t["name"] for t in tools} >= {
        "echo",
        "add",
        "sleep",
        "progress_stream",
        "test_simple_text",
        "test_image_content",
        "test_audio_content",
        "test_embedded_resource",
        "test_multiple_content_types",
        "test_tool_with_logging",
        "test_tool_with_progress",
        "test_error_handling",
        "test_sampling",
        "test_elicitation",
        "test_elicitation_sep1034_defaults",
        "test_elicitation_sep1330_enums",
        "json_schema_2020_12_tool",
        "test_reconnection",
    }


async def test_fixture_contents() -> None:
    async with MemoryClient.connect(everything) as client:
        simple = await client.call_tool("test_simple_text")
        assert simple["content"] == [{"type": "text", "text": "This is a simple text response for testing."}]
        audio = (await client.call_tool("test_audio_content"))["content"][0]
        assert audio["type"] == "audio" and audio["mimeType"] == "audio/wav" and audio["data"]
        embedded = (await client.call_tool("test_embedded_resource"))["content"][0]
        assert embedded["resource"]["uri"] == "test://embedded-resource"
        mixed = (await client.call_tool("test_multiple_content_types"))["content"]
        assert [b["type"] for b in mixed] == ["text", "image", "resource"]
        assert mixed[2]["resource"]["mimeType"] == "application/json"
        error = await client.call_tool("test_error_handling")
        assert error["isError"] is True and error["content"][0]["type"] == "text"


async def test_progress_and_logging_fixtures() -> None:
    async with MemoryClient.connect(everything) as client:
        await client.request("logging/setLevel", {"level": "debug"})
        await client.call_tool("test_tool_with_logging")
        logs = client.notifications_of("notifications/message")
        assert [entry["level"] for entry in logs] == ["info"] * 3
        await client.call_tool("test_tool_with_progress", _meta={"progressToken": "p1"})
        progress = client.notifications_of("notifications/progress")
        assert [(p["progressToken"], p["progress"], p["total"]) for p in progress] == [
            ("p1", 0, 100),
            ("p1", 50, 100),
            ("p1", 100, 100),
        ]


async def test_registering_and_removing_at_run_time_notifies_clients() -> None:
    server = make_server()
    async with MemoryClient.connect(server) as client:
        server.tool("late", description="added later")(lambda: "late")
        server.remove_tool("boom")
        server.prompt("p", description="p")(lambda: "x")
        server.resource("test://late", name="late")(lambda: "x")
        server.remove_resource("test://late")
        server.remove_prompt("p")
        await anyio.wait_all_tasks_blocked()
        methods = [n.method for n in client.notifications]
        assert methods.count("notifications/tools/list_changed") == 2
        assert methods.count("notifications/prompts/list_changed") == 2
        assert methods.count("notifications/resources/list_changed") == 2
        names = [t["name"] for t in (await client.request("tools/list"))["tools"]]
        assert "late" in names and "boom" not in names


async def test_capabilities_follow_registrations() -> None:
    bare = MCPServer("bare")
    assert bare.capabilities() == {"logging": {}}
    assert make_server().capabilities() == {"logging": {}, "tools": {"listChanged": True}}
    async with MemoryClient.connect(everything, initialize=False) as client:
        caps = (await client.initialize({}))["capabilities"]
    assert caps == {
        "logging": {},
        "tools": {"listChanged": True},
        "resources": {"subscribe": True, "listChanged": True},
        "prompts": {"listChanged": True},
        "completions": {},
    }


def test_duplicate_names_are_refused() -> None:
    server = make_server()
    with pytest.raises(ValueError, match="already registered"):
        server.tool("greet")(lambda: "x")


class _InOrder(MemoryClient):
    """Records every message the server sends it, answers as ``"answer"``, in order."""

    sent: list[str]

    async def _on_send(self, message: Message, related_to: RequestId | None) -> None:
        self.__dict__.setdefault("sent", []).append(getattr(message, "method", "answer"))
        await super()._on_send(message, related_to)


async def test_the_notifications_a_tool_raises_are_sent_before_its_result() -> None:
    """One worker: a server-wide notification a request raises reaches the client's streams
    before the request's own answer, so a client that reads the answer and then resumes its
    GET stream finds it there (2025-11-25 basic/transports#resumability-and-redelivery);
    a list change too, though it is delivered in each connection's task group."""
    server = make_server()

    @server.tool()
    async def toggle() -> str:
        server.remove_tool("boom")
        await server.notify_all("notifications/message", {"level": "info", "data": "x"})
        return "toggled"

    async with _InOrder.connect(server) as client:
        assert isinstance(client, _InOrder)
        client.sent.clear()
        await client.call_tool("toggle")
        assert sorted(client.sent[:-1]) == ["notifications/message", "notifications/tools/list_changed"]
        assert client.sent[-1] == "answer"
