"""Our Client driving every server feature of ``servers.everything``, over stdio (a real
subprocess) and over HTTP (a real uvicorn on loopback), in both protocol eras. The same
walk runs on every transport and era: a tool author and a client user write one thing."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from mcp_transport import Client
from servers.everything import server as everything
from tests.client_helpers import touch_watched_resource

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]


async def elicit(params: dict[str, Any]) -> dict[str, Any]:
    return {"action": "accept", "content": {"username": "ada", "email": "ada@example.com"}}


async def sample(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": {"type": "text", "text": "forty-two"},
        "model": "m",
        "stopReason": "endTurn",
    }


@pytest.fixture(params=["stdio", "http"])
def connect(request: pytest.FixtureRequest, http_server: Callable[..., str]) -> Callable[..., Any]:
    target: Any = (
        [sys.executable, "-m", "servers.everything", "--stdio"]
        if request.param == "stdio"
        else http_server(everything)
    )

    @asynccontextmanager
    async def open_client(era: str, **kwargs: Any) -> AsyncIterator[Client]:
        options: dict[str, Any] = {"cwd": str(REPO)} if request.param == "stdio" else {}
        async with Client(
            target,
            era=era,
            elicitation_handler=elicit,
            sampling_handler=sample,
            roots=[{"uri": "file:///srv", "name": "srv"}],
            **options,
            **kwargs,
        ) as client:
            yield client

    return open_client


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_every_feature(connect: Callable[..., Any], era: str) -> None:
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with connect(era) as c:
        assert c.protocol_version == ("2026-07-28" if era == "modern" else "2025-11-25")
        names = {t["name"] for t in await c.list_tools()}
        assert {"echo", "test_elicitation", "test_sampling", "json_schema_2020_12_tool"} <= names

        # tools: content, structured output, errors as results, progress
        assert (await c.call_tool("echo", {"text": "hi"}))["content"] == [{"type": "text", "text": "hi"}]
        assert (await c.call_tool("add", {"a": 1, "b": 2}))["structuredContent"] == {"result": 3.0}
        assert (await c.call_tool("test_error_handling", {}))["isError"] is True
        await c.call_tool("test_tool_with_progress", {}, on_progress=on_progress)
        assert progress == sorted(progress) and len(progress) >= 3

        # client features: a legacy session gets real requests, a modern request MRTR rounds
        elicited = (await c.call_tool("test_elicitation", {"message": "who?"}))["content"][0]["text"]
        assert "ada" in elicited
        sampled = (await c.call_tool("test_sampling", {"prompt": "q"}))["content"][0]["text"]
        assert sampled == "LLM response: forty-two"
        assert "file:///srv" in (await c.call_tool("list_client_roots", {}))["content"][0]["text"]

        # resources, templates, prompts, completion
        assert "test://static-text" in {r["uri"] for r in await c.list_resources()}
        assert "test://template/{id}/data" in {t["uriTemplate"] for t in await c.list_resource_templates()}
        assert '"id": "7"' in (await c.read_resource("test://template/7/data"))["contents"][0]["text"]
        assert (await c.read_resource("test://static-binary"))["contents"][0]["blob"]
        assert "test_prompt_with_arguments" in {p["name"] for p in await c.list_prompts()}
        prompt = await c.get_prompt("test_prompt_with_arguments", {"arg1": "a1", "arg2": "b2"})
        text = prompt["messages"][0]["content"]["text"]
        assert "a1" in text and "b2" in text
        ref = {"type": "ref/prompt", "name": "test_prompt_with_arguments"}
        assert (await c.complete(ref, {"name": "arg1", "value": "par"}))["values"] == [
            "paris",
            "park",
            "parrot",
        ]


async def test_legacy_logging_and_resource_subscriptions(connect: Callable[..., Any]) -> None:
    logs: list[Any] = []
    updates: list[str] = []

    async def on_notification(method: str, params: dict[str, Any]) -> None:
        if method == "notifications/message":
            logs.append(params["data"])
        elif method == "notifications/resources/updated":
            updates.append(params["uri"])

    async with connect("legacy", on_notification=on_notification) as c:
        await c.set_logging_level("debug")
        await c.call_tool("test_tool_with_logging", {})
        assert len(logs) == 3
        await touch_watched_resource(c, updates)
        assert updates == ["test://watched-resource"]
        await c.unsubscribe_resource("test://watched-resource")
