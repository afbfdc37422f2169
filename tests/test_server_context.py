"""Context: logging levels, progress, and the requests a tool makes of its client
(elicitation, sampling, roots), answered here by the test acting as the client."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel

from mcp_transport.errors import RemoteError
from mcp_transport.jsonrpc import Notification
from mcp_transport.protocol import parse_envelope
from mcp_transport.server import Context, MCPServer
from mcp_transport.server.context import STATELESS, StatelessRequest, send_stateless, stateless_envelope
from mcp_transport.testing import MemoryClient
from servers.everything import server as everything

pytestmark = pytest.mark.anyio

ALL = {"sampling": {}, "elicitation": {"form": {}, "url": {}}, "roots": {"listChanged": True}}


class Booking(BaseModel):
    date: str
    seats: int = 2
    meal: Literal["veg", "meat"] = "veg"


def make_server() -> MCPServer:
    server = MCPServer("ctx")

    @server.tool()
    async def book(ctx: Context) -> str:
        """Book with a form."""
        answer = await ctx.elicit("When?", Booking)
        if not answer.accepted:
            return f"no booking ({answer.action})"
        booking = answer.data
        assert isinstance(booking, Booking)
        return f"{booking.date} x{booking.seats} {booking.meal}"

    @server.tool()
    async def login(ctx: Context) -> str:
        """URL-mode elicitation."""
        answer = await ctx.elicit_url("Sign in", "https://example.com/login", elicitation_id="e1")
        return answer.action

    @server.tool()
    async def ask(question: str, ctx: Context) -> str:
        """Sample."""
        result = await ctx.sample(question, max_tokens=50, system_prompt="Be brief", temperature=0.1)
        return f"{result.model}: {result.text}"

    @server.tool()
    async def roots(ctx: Context) -> list[str]:
        """Roots."""
        return [r.uri for r in await ctx.list_roots()]

    @server.tool()
    async def chatty(ctx: Context) -> str:
        """Log at every level."""
        for level in ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"):
            await ctx.log(level, f"{level} message", logger="chatty")
        return "done"

    return server


async def test_elicit_form_from_model() -> None:
    async with MemoryClient.connect(make_server(), capabilities=ALL) as client:
        seen: list[dict[str, Any]] = []

        async def elicit(params: dict[str, Any]) -> dict[str, Any]:
            seen.append(params)
            return {"action": "accept", "content": {"date": "2026-01-01", "seats": 4}}

        client.handlers["elicitation/create"] = elicit
        result = await client.call_tool("book")
        assert result["content"][0]["text"] == "2026-01-01 x4 veg"
        assert seen[0]["mode"] == "form" and seen[0]["message"] == "When?"
        schema = seen[0]["requestedSchema"]
        assert schema["required"] == ["date"]
        assert schema["properties"]["meal"] == {"type": "string", "enum": ["veg", "meat"], "default": "veg"}
        assert schema["properties"]["seats"] == {"type": "integer", "default": 2}

        async def decline(params: dict[str, Any]) -> dict[str, Any]:
            return {"action": "decline"}

        client.handlers["elicitation/create"] = decline
        assert (await client.call_tool("book"))["content"][0]["text"] == "no booking (decline)"


async def test_elicit_answer_that_does_not_fit_the_form_is_a_tool_error() -> None:
    async with MemoryClient.connect(make_server(), capabilities=ALL) as client:

        async def elicit(params: dict[str, Any]) -> dict[str, Any]:
            return {"action": "accept", "content": {"seats": "many"}}

        client.handlers["elicitation/create"] = elicit
        result = await client.call_tool("book")
    assert result["isError"] is True and "does not match the form" in result["content"][0]["text"]


async def test_elicit_url_mode() -> None:
    async with MemoryClient.connect(make_server(), capabilities=ALL) as client:
        seen = []

        async def elicit(params: dict[str, Any]) -> dict[str, Any]:
            seen.append(params)
            return {"action": "accept"}

        client.handlers["elicitation/create"] = elicit
        assert (await client.call_tool("login"))["content"][0]["text"] == "accept"
    assert seen == [
        {"mode": "url", "message": "Sign in", "url": "https://example.com/login", "elicitationId": "e1"}
    ]


async def test_url_mode_needs_its_own_capability() -> None:
    async with MemoryClient.connect(make_server(), capabilities={"elicitation": {}}) as client:
        with pytest.raises(RemoteError) as err:
            await client.call_tool("login")
    assert err.value.code == -32021
    assert err.value.data == {"requiredCapabilities": {"elicitation": {"url": {}}}}


async def test_sampling_round_trip() -> None:
    async with MemoryClient.connect(make_server(), capabilities=ALL) as client:
        seen = []

        async def sample(params: dict[str, Any]) -> dict[str, Any]:
            seen.append(params)
            return {
                "role": "assistant",
                "content": {"type": "text", "text": "42"},
                "model": "m1",
                "stopReason": "endTurn",
            }

        client.handlers["sampling/createMessage"] = sample
        assert (await client.call_tool("ask", {"question": "Why?"}))["content"][0]["text"] == "m1: 42"
    assert seen == [
        {
            "messages": [{"role": "user", "content": {"type": "text", "text": "Why?"}}],
            "maxTokens": 50,
            "systemPrompt": "Be brief",
            "temperature": 0.1,
        }
    ]


async def test_roots_round_trip() -> None:
    async with MemoryClient.connect(make_server(), capabilities=ALL) as client:

        async def roots(params: dict[str, Any]) -> dict[str, Any]:
            return {"roots": [{"uri": "file:///a", "name": "a"}, {"uri": "file:///b"}]}

        client.handlers["roots/list"] = roots
        result = await client.call_tool("roots")
    assert result["structuredContent"] == {"result": ["file:///a", "file:///b"]}


@pytest.mark.parametrize(
    ("tool", "args", "capability"),
    [("book", {}, "elicitation"), ("ask", {"question": "q"}, "sampling"), ("roots", {}, "roots")],
)
async def test_undeclared_capability_is_a_clear_error(
    tool: str, args: dict[str, Any], capability: str
) -> None:
    async with MemoryClient.connect(make_server(), capabilities={}) as client:
        with pytest.raises(RemoteError) as err:
            await client.call_tool(tool, args)
        assert client.requests == []  # nothing was sent to the client
    assert err.value.code == -32021
    assert capability in err.value.message
    assert err.value.data == {"requiredCapabilities": {capability: {}}}


async def test_client_error_becomes_a_tool_error() -> None:
    async with MemoryClient.connect(make_server(), capabilities=ALL) as client:

        async def refuse(params: dict[str, Any]) -> dict[str, Any]:
            raise RemoteError(-1, "User rejected sampling request")

        client.handlers["sampling/createMessage"] = refuse
        result = await client.call_tool("ask", {"question": "q"})
    assert result["isError"] is True and "User rejected" in result["content"][0]["text"]


async def test_modern_era_asks_through_mrtr_not_requests() -> None:
    async with MemoryClient.connect(make_server(), initialize=False) as client:
        result = await client.modern_request(
            "tools/call", {"name": "ask", "arguments": {"question": "q"}}, capabilities=ALL
        )
        assert client.requests == []  # never a server->client request in the modern era
    assert result["resultType"] == "input_required"
    assert [r["method"] for r in result["inputRequests"].values()] == ["sampling/createMessage"]


async def test_log_levels_filter_notifications() -> None:
    async with MemoryClient.connect(make_server()) as client:
        await client.call_tool("chatty")  # before setLevel: info and above
        assert [m["level"] for m in client.notifications_of("notifications/message")][:1] == ["info"]
        assert len(client.notifications_of("notifications/message")) == 7
        client.notifications.clear()
        await client.request("logging/setLevel", {"level": "error"})
        await client.call_tool("chatty")
        messages = client.notifications_of("notifications/message")
        assert [m["level"] for m in messages] == ["error", "critical", "alert", "emergency"]
        assert messages[0] == {"level": "error", "data": "error message", "logger": "chatty"}
        client.notifications.clear()
        await client.request("logging/setLevel", {"level": "debug"})
        await client.call_tool("chatty")
        assert len(client.notifications_of("notifications/message")) == 8
        with pytest.raises(RemoteError) as err:
            await client.request("logging/setLevel", {"level": "loud"})
        assert err.value.code == -32602


async def test_modern_logging_only_when_requested() -> None:
    async with MemoryClient.connect(make_server(), initialize=False) as client:
        await client.modern_request("tools/call", {"name": "chatty"})
        assert client.notifications_of("notifications/message") == []
        await client.modern_request(
            "tools/call",
            {"name": "chatty"},
            capabilities=None,
            **{"io.modelcontextprotocol/logLevel": "alert"},
        )
        assert [m["level"] for m in client.notifications_of("notifications/message")] == [
            "alert",
            "emergency",
        ]


async def test_fixture_sampling_and_elicitation() -> None:
    async with MemoryClient.connect(everything, capabilities=ALL) as client:
        requests: list[dict[str, Any]] = []

        async def sample(params: dict[str, Any]) -> dict[str, Any]:
            requests.append(params)
            return {"role": "assistant", "content": {"type": "text", "text": "Paris"}, "model": "m"}

        async def elicit(params: dict[str, Any]) -> dict[str, Any]:
            requests.append(params)
            return {"action": "accept", "content": {"username": "ada", "email": "ada@example.com"}}

        client.handlers.update({"sampling/createMessage": sample, "elicitation/create": elicit})
        sampled = await client.call_tool("test_sampling", {"prompt": "Capital of France?"})
        assert sampled["content"][0]["text"] == "LLM response: Paris"
        assert requests[0]["maxTokens"] == 100
        elicited = await client.call_tool("test_elicitation", {"message": "Who are you?"})
        assert elicited["content"][0]["text"].startswith("User response:")
        assert set(requests[1]["requestedSchema"]["properties"]) == {"username", "email"}
        await client.call_tool("test_elicitation_sep1034_defaults")
        props = requests[2]["requestedSchema"]["properties"]
        assert {k: v["default"] for k, v in props.items()} == {
            "name": "John Doe", "age": 30, "score": 95.5, "status": "active", "verified": True
        }  # fmt: skip
        types = {k: props[k]["type"] for k in ("name", "age", "score", "verified")}
        assert types == {"name": "string", "age": "integer", "score": "number", "verified": "boolean"}
        assert props["status"]["enum"] == ["active", "inactive", "pending"]
        await client.call_tool("test_elicitation_sep1330_enums")
        props = requests[3]["requestedSchema"]["properties"]
        assert "enum" in props["untitledSingle"] and "oneOf" not in props["untitledSingle"]
        assert "oneOf" in props["titledSingle"] and "enum" not in props["titledSingle"]
        assert len(props["legacyEnum"]["enum"]) == len(props["legacyEnum"]["enumNames"])
        assert props["untitledMulti"]["type"] == "array" and "enum" in props["untitledMulti"]["items"]
        assert props["titledMulti"]["type"] == "array" and "anyOf" in props["titledMulti"]["items"]


async def test_stateless_request_state_is_bound_to_its_own_request() -> None:
    """The one stateless connection finds a request's envelope and ``send`` through the task
    serving it: another request's params (a request dispatched in a context copied from it)
    get no envelope, and a message sent outside any request is dropped, never misdelivered."""
    sent: list[Any] = []

    async def send(message: Any, related_to: Any) -> None:
        sent.append((message, related_to))

    params: dict[str, Any] = {
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    }
    envelope = parse_envelope(params)
    assert envelope is not None
    await send_stateless(Notification("notifications/message"), 1)  # outside any request
    assert sent == [] and stateless_envelope(params) is None
    token = STATELESS.set(StatelessRequest(params, envelope, send))
    try:
        assert stateless_envelope(params) is envelope
        assert stateless_envelope(dict(params)) is None  # equal, but another request's params
        await send_stateless(Notification("notifications/message"), 1)
    finally:
        STATELESS.reset(token)
    assert sent == [(Notification("notifications/message"), 1)]
