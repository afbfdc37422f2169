"""The client's MRTR loop (2026-07-28 input_required results,
basic/patterns/mrtr#client-requirements-basic-workflow) against a
scripted modern server (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mcp_transport import Client
from mcp_transport.client import InputRequiredError

pytestmark = pytest.mark.anyio

URL = "http://mrtr.test/mcp"
DISCOVER = {
    "resultType": "complete",
    "supportedVersions": ["2026-07-28"],
    "capabilities": {"tools": {}},
    "ttlMs": 0,
    "cacheScope": "public",
}
ELICIT = {
    "method": "elicitation/create",
    "params": {
        "message": "Name?",
        "requestedSchema": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer", "default": 30}},
        },
    },
}
SAMPLE = {
    "method": "sampling/createMessage",
    "params": {"messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}], "maxTokens": 5},
}
ROOTS = {"method": "roots/list"}
# Not what JSON would produce by default: escapes, unicode, spacing; it must come back unchanged.
STATE = '{"nonce": "ü\\u00e9 \\"x\\"",  "n":1}'


def result(rid: Any, value: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "result": value}


class Server:
    """Answers ``server/discover`` and ``tools/list``; every other request goes to ``on_call``
    and is recorded."""

    def __init__(self, on_call: Callable[[dict[str, Any], int], dict[str, Any]]) -> None:
        self.on_call = on_call
        self.calls: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["method"] == "server/discover":
            return httpx.Response(200, json=result(body["id"], DISCOVER))
        if body["method"] == "tools/list":
            tools = [{"name": n, "inputSchema": {"type": "object"}} for n in ("ask", "other")]
            return httpx.Response(200, json=result(body["id"], {"resultType": "complete", "tools": tools}))
        self.calls.append(body)
        return httpx.Response(200, json=result(body["id"], self.on_call(body, len(self.calls))))

    def client(self, **kwargs: Any) -> Client:
        return Client(
            URL, era="modern", http_client=httpx.AsyncClient(transport=httpx.MockTransport(self)), **kwargs
        )


async def elicit(params: dict[str, Any]) -> dict[str, Any]:
    return {"action": "accept", "content": {"name": "Ada"}}


async def sample(params: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": {"type": "text", "text": "hello"}, "model": "m"}


async def test_input_requests_are_fulfilled_and_the_request_retried() -> None:
    def on_call(body: dict[str, Any], n: int) -> dict[str, Any]:
        if n == 1:
            return {
                "resultType": "input_required",
                "inputRequests": {"who": ELICIT, "llm": SAMPLE, "where": ROOTS},
                "requestState": STATE,
            }
        return {"resultType": "complete", "content": [{"type": "text", "text": "done"}]}

    server = Server(on_call)
    async with server.client(
        elicitation_handler=elicit, sampling_handler=sample, roots=[{"uri": "file:///w"}]
    ) as c:
        out = await c.call_tool("ask", {"x": 1})
    assert out["content"][0]["text"] == "done"
    first, retry = server.calls
    assert first["id"] != retry["id"]
    assert (
        retry["method"] == "tools/call"
        and retry["params"]["name"] == "ask"
        and retry["params"]["arguments"] == {"x": 1}
    )
    assert retry["params"]["requestState"] == STATE
    responses = retry["params"]["inputResponses"]
    assert responses["who"] == {
        "action": "accept",
        "content": {"name": "Ada", "age": 30},
    }  # schema defaults applied
    assert responses["llm"]["content"]["text"] == "hello"
    assert responses["where"] == {"roots": [{"uri": "file:///w"}]}
    assert "inputResponses" not in first["params"] and "requestState" not in first["params"]
    meta = retry["params"]["_meta"]
    assert meta["io.modelcontextprotocol/clientCapabilities"] == {
        "roots": {},
        "sampling": {},
        "elicitation": {"form": {}},
        "extensions": {"io.modelcontextprotocol/tasks": {}},  # declared by default (SEP-2663)
    }


async def test_request_state_is_omitted_when_none_was_given_and_fields_never_leak() -> None:
    def on_call(body: dict[str, Any], n: int) -> dict[str, Any]:
        if body["params"].get("name") == "ask" and "inputResponses" not in body["params"]:
            return {"resultType": "input_required", "inputRequests": {"who": ELICIT}}
        return {"resultType": "complete", "content": []}

    server = Server(on_call)
    async with server.client(elicitation_handler=elicit) as c:
        await c.call_tool("ask")
        await c.call_tool("other")
    _ask1, ask2, other = server.calls
    assert "requestState" not in ask2["params"] and "who" in ask2["params"]["inputResponses"]
    assert "inputResponses" not in other["params"] and "requestState" not in other["params"]


async def test_a_call_between_rounds_carries_no_mrtr_fields() -> None:
    client: Client

    async def elicit_and_call(params: dict[str, Any]) -> dict[str, Any]:
        await client.call_tool("other")
        return {"action": "accept", "content": {"name": "Ada"}}

    def on_call(body: dict[str, Any], n: int) -> dict[str, Any]:
        if n == 1:
            return {"resultType": "input_required", "inputRequests": {"who": ELICIT}, "requestState": "s1"}
        return {"resultType": "complete", "content": []}

    server = Server(on_call)
    async with server.client(elicitation_handler=elicit_and_call) as client:
        await client.call_tool("ask")
    _, between, retry = server.calls
    assert between["params"]["name"] == "other" and set(between["params"]) == {"name", "arguments", "_meta"}
    assert retry["params"]["requestState"] == "s1"


async def test_state_only_rounds_retry_at_once_and_results_without_result_type_are_complete() -> None:
    def on_call(body: dict[str, Any], n: int) -> dict[str, Any]:
        if n == 1:
            return {"resultType": "input_required", "requestState": "continue-here"}
        return {"content": [{"type": "text", "text": "legacy-shaped"}]}  # no resultType: complete

    server = Server(on_call)
    async with server.client() as c:
        out = await c.call_tool("ask")
    assert out["content"][0]["text"] == "legacy-shaped"
    assert len(server.calls) == 2 and server.calls[1]["params"]["requestState"] == "continue-here"
    assert "inputResponses" not in server.calls[1]["params"]


async def test_prompts_and_resources_take_part_too() -> None:
    def on_call(body: dict[str, Any], n: int) -> dict[str, Any]:
        if "inputResponses" not in body["params"]:
            return {"resultType": "input_required", "inputRequests": {"who": ELICIT}}
        key = "messages" if body["method"] == "prompts/get" else "contents"
        return {"resultType": "complete", key: []}

    server = Server(on_call)
    async with server.client(elicitation_handler=elicit) as c:
        assert (await c.get_prompt("p"))["messages"] == []
        assert (await c.read_resource("file:///x"))["contents"] == []
    assert [b["method"] for b in server.calls] == [
        "prompts/get",
        "prompts/get",
        "resources/read",
        "resources/read",
    ]
    assert server.calls[3]["params"]["uri"] == "file:///x"


async def test_rounds_are_bounded() -> None:
    server = Server(
        lambda body, n: {
            "resultType": "input_required",
            "inputRequests": {"who": ELICIT},
            "requestState": str(n),
        }
    )
    async with server.client(elicitation_handler=elicit, max_input_rounds=3) as c:
        with pytest.raises(InputRequiredError, match="after 3 rounds"):
            await c.call_tool("ask")
    assert len(server.calls) == 4


async def test_input_the_client_cannot_give_is_a_clear_error() -> None:
    server = Server(lambda body, n: {"resultType": "input_required", "inputRequests": {"llm": SAMPLE}})
    async with server.client() as c:
        with pytest.raises(InputRequiredError, match="sampling/createMessage"):
            await c.call_tool("ask")
    assert len(server.calls) == 1


async def test_unknown_result_types_are_invalid() -> None:
    server = Server(lambda body, n: {"resultType": "deferred", "task": {}})
    async with server.client() as c:
        with pytest.raises(InputRequiredError, match="unknown resultType"):
            await c.call_tool("ask")


async def test_a_task_result_must_be_a_task_on_tools_call() -> None:
    # SEP-2663 "Capability Negotiation": a CreateTaskResult anywhere else is invalid.
    server = Server(lambda body, n: {"resultType": "task", "task": {}})
    async with server.client() as c:
        with pytest.raises(InputRequiredError, match="has no taskId"):
            await c.call_tool("ask")
        with pytest.raises(InputRequiredError, match="invalid for this request"):
            await c.get_prompt("p")
