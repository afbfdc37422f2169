"""Prompts and completion."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import Field

from mcp_transport.errors import RemoteError
from mcp_transport.server import EmbeddedResource, MCPServer, PromptMessage
from mcp_transport.server.completion import MAX_COMPLETION_VALUES
from mcp_transport.testing import MemoryClient
from servers.everything import server as everything

pytestmark = pytest.mark.anyio


def make_server() -> MCPServer:
    server = MCPServer("prompts")

    @server.prompt(title="Code review")
    def review(code: Annotated[str, Field(description="The code")], language: str = "python") -> list[object]:
        """Review some code."""
        return [
            PromptMessage("user", f"Review this {language}:"),
            EmbeddedResource("mem://code", text=code, mime_type="text/plain"),
            PromptMessage("assistant", "Sure."),
        ]

    @server.prompt()
    async def count(n: int) -> str:
        """Typed arguments are converted from the wire's strings."""
        return "x" * n

    @server.completion("language", prompt="review")
    def languages(value: str) -> list[str]:
        return [v for v in ("python", "perl", "rust") if v.startswith(value)]

    @server.resource("repo://{owner}/{name}")
    def repo(owner: str, name: str) -> str:
        """A repository."""
        return f"{owner}/{name}"

    @server.completion("name", template="repo://{owner}/{name}")
    async def repos(value: str, context: dict[str, str]) -> list[str]:
        return [f"{context.get('owner', '?')}-{i}" for i in range(150)]

    return server


async def test_list_describes_arguments() -> None:
    async with MemoryClient.connect(make_server()) as client:
        prompts = (await client.request("prompts/list"))["prompts"]
    assert prompts[0] == {
        "name": "review",
        "description": "Review some code.",
        "title": "Code review",
        "arguments": [
            {"name": "code", "required": True, "description": "The code"},
            {"name": "language", "required": False},
        ],
    }


async def test_get_renders_messages() -> None:
    async with MemoryClient.connect(make_server()) as client:
        result = await client.request("prompts/get", {"name": "review", "arguments": {"code": "x = 1"}})
        assert result["description"] == "Review some code."
        assert [m["role"] for m in result["messages"]] == ["user", "user", "assistant"]
        assert result["messages"][0]["content"] == {"type": "text", "text": "Review this python:"}
        assert result["messages"][1]["content"]["resource"] == {
            "uri": "mem://code",
            "mimeType": "text/plain",
            "text": "x = 1",
        }
        assert (await client.request("prompts/get", {"name": "count", "arguments": {"n": "3"}}))["messages"][
            0
        ]["content"]["text"] == "xxx"


@pytest.mark.parametrize(
    "params",
    [
        {"name": "review"},  # missing required argument
        {"name": "review", "arguments": {"language": "go"}},
        {"name": "count", "arguments": {"n": "many"}},
        {"name": "nope"},
        {"name": "review", "arguments": ["x"]},
    ],
)
async def test_bad_prompt_requests_are_invalid_params(params: dict[str, object]) -> None:
    async with MemoryClient.connect(make_server()) as client:
        with pytest.raises(RemoteError) as err:
            await client.request("prompts/get", params)
    assert err.value.code == -32602


async def test_fixture_prompts() -> None:
    async with MemoryClient.connect(everything) as client:
        simple = await client.request("prompts/get", {"name": "test_simple_prompt"})
        assert simple["messages"][0]["role"] == "user"
        args = await client.request(
            "prompts/get", {"name": "test_prompt_with_arguments", "arguments": {"arg1": "v1", "arg2": "v2"}}
        )
        text = args["messages"][0]["content"]["text"]
        assert "v1" in text and "v2" in text
        embedded = await client.request(
            "prompts/get",
            {
                "name": "test_prompt_with_embedded_resource",
                "arguments": {"resourceUri": "test://example-resource"},
            },
        )
        assert [m["content"]["type"] for m in embedded["messages"]] == ["resource", "text"]
        assert embedded["messages"][0]["content"]["resource"]["uri"] == "test://example-resource"
        image = await client.request("prompts/get", {"name": "test_prompt_with_image"})
        assert [m["content"]["type"] for m in image["messages"]] == ["image", "text"]


async def test_completion_for_prompts_and_templates() -> None:
    async with MemoryClient.connect(make_server()) as client:
        result = await client.request(
            "completion/complete",
            {"ref": {"type": "ref/prompt", "name": "review"}, "argument": {"name": "language", "value": "p"}},
        )
        assert result == {"completion": {"values": ["python", "perl"], "total": 2, "hasMore": False}}
        nothing = await client.request(
            "completion/complete",
            {"ref": {"type": "ref/prompt", "name": "review"}, "argument": {"name": "code", "value": ""}},
        )
        assert nothing["completion"]["values"] == []
        many = await client.request(
            "completion/complete",
            {
                "ref": {"type": "ref/resource", "uri": "repo://{owner}/{name}"},
                "argument": {"name": "name", "value": ""},
                "context": {"arguments": {"owner": "ada"}},
            },
        )
        assert len(many["completion"]["values"]) == MAX_COMPLETION_VALUES
        assert many["completion"]["values"][0] == "ada-0"
        assert many["completion"]["total"] == 150 and many["completion"]["hasMore"] is True
        for bad in (
            {"ref": {"type": "ref/prompt", "name": "nope"}, "argument": {"name": "a", "value": ""}},
            {"ref": {"type": "ref/other"}, "argument": {"name": "a", "value": ""}},
            {"ref": {"type": "ref/prompt", "name": "review"}},
        ):
            with pytest.raises(RemoteError) as err:
                await client.request("completion/complete", bad)
            assert err.value.code == -32602


async def test_completion_without_completers_is_method_not_found() -> None:
    server = MCPServer("plain")
    server.prompt("p", description="p")(lambda: "x")
    async with MemoryClient.connect(server) as client:
        with pytest.raises(RemoteError) as err:
            await client.request(
                "completion/complete",
                {"ref": {"type": "ref/prompt", "name": "p"}, "argument": {"name": "a", "value": ""}},
            )
    assert err.value.code == -32601


async def test_fixture_completion() -> None:
    async with MemoryClient.connect(everything) as client:
        result = await client.request(
            "completion/complete",
            {
                "ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
                "argument": {"name": "arg1", "value": ""},
            },
        )
    assert isinstance(result["completion"]["values"], list)
