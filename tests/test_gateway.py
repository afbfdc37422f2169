"""The gateway (``mcp-transport proxy``) as a real process on a free loopback port, in front
of a stdio server and of an HTTP server, driven by our Client in both eras and by the
official Python SDK client (``mcp`` 2.3.0): lists, progress, elicitation and cancellation
cross it; a killed upstream fails its pending call with a typed error and blocks no other."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import mcp
import pytest
from mcp import types

from mcp_transport import Client, RemoteError
from tests.interop_servers import ServerProcess, free_port, our_server

pytestmark = pytest.mark.anyio

PY = sys.executable
EVERYTHING = [PY, "-m", "servers.everything", "--stdio"]
CANCEL = [PY, "-m", "tests.interop_servers.cancel_server", "--stdio"]
ANSWER: dict[str, str | int | float | bool | list[str] | None] = {
    "username": "ada",
    "email": "ada@example.org",
}


def proxy(*args: str) -> ServerProcess:
    port = free_port()
    return ServerProcess([PY, "-m", "mcp_transport", "proxy", *args, "--port", str(port)], port)


def toml_list(command: list[str]) -> str:
    return json.dumps(command)  # a JSON array of strings is a TOML array


@pytest.fixture(scope="module")
def stdio_gateway() -> Iterator[str]:
    """``proxy --stdio`` in front of servers.everything: a child per legacy session."""
    gateway = proxy("--stdio", " ".join(EVERYTHING), "--max-sessions", "8").start()
    try:
        yield gateway.url
    finally:
        gateway.stop()


@pytest.fixture(scope="module")
def http_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``proxy --config`` in front of servers.everything over HTTP, mounted as ``every``."""
    upstream = our_server().start()
    config = tmp_path_factory.mktemp("gw") / "gateway.toml"
    config.write_text(f'[upstreams.every]\nurl = "{upstream.url}"\ndeny = ["test_trigger_*"]\n')
    gateway = proxy("--config", str(config)).start()
    try:
        yield gateway.url
    finally:
        gateway.stop()
        upstream.stop()


async def answer_form(params: dict[str, Any]) -> dict[str, Any]:
    return {"action": "accept", "content": ANSWER}


def progress_recorder() -> tuple[list[float], Any]:
    """The progress values seen, and the callback that records them."""
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    return progress, on_progress


async def exercise_with_our_client(target: str | list[str], era: str, prefix: str) -> None:
    progress, on_progress = progress_recorder()
    async with Client(target, era=era, elicitation_handler=answer_form) as client:
        assert client.era.value == era
        names = {tool["name"] for tool in await client.list_tools()}
        assert {prefix + "add", prefix + "test_elicitation"} <= names
        added = await client.call_tool(prefix + "add", {"a": 1, "b": 2})
        assert added["structuredContent"] == {"result": 3}
        assert ("resultType" in added) == (era == "modern")
        await client.call_tool(prefix + "test_tool_with_progress", on_progress=on_progress)
        asked = await client.call_tool(prefix + "test_elicitation", {"message": "Who?"})
        assert asked["content"][0]["text"] == f"User response: action=accept, content={json.dumps(ANSWER)}"
        read = await client.read_resource("test://static-text")
        assert read["contents"][0]["text"].startswith("This is the content")
    assert progress == [0, 50, 100]


async def exercise_with_sdk(url: str, mode: str, prefix: str) -> None:
    progress, on_progress = progress_recorder()

    async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="accept", content=dict(ANSWER))

    async with mcp.Client(url, mode=mode, elicitation_callback=elicit) as client:
        tools = await client.list_tools()
        assert prefix + "add" in {tool.name for tool in tools.tools}
        await client.call_tool(prefix + "test_tool_with_progress", {}, progress_callback=on_progress)
        asked = await client.call_tool(prefix + "test_elicitation", {"message": "Who?"})
        assert asked.content[0].text.endswith(json.dumps(ANSWER))  # type: ignore[union-attr]  # the SDK types content as a union; this one is text
    assert progress == [0, 50, 100]


@pytest.mark.parametrize("client", ["ours/legacy", "ours/modern", "sdk/legacy", "sdk/auto"])
@pytest.mark.parametrize("gateway", ["stdio_gateway", "http_gateway"])
async def test_clients_through_the_gateway(gateway: str, client: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(gateway)
    prefix = "every." if gateway == "http_gateway" else ""
    kind, era = client.split("/")
    await (exercise_with_our_client if kind == "ours" else exercise_with_sdk)(url, era, prefix)


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_the_deny_list_hides_and_refuses(http_gateway: str, era: str) -> None:
    async with Client(http_gateway, era=era) as client:
        assert not [t for t in await client.list_tools() if t["name"].startswith("every.test_trigger")]
        with pytest.raises(RemoteError) as refused:
            await client.call_tool("every.test_trigger_tool_change")
        assert refused.value.code == -32602


def server_pid(marker: Path) -> int:
    return int(Path(f"{marker}.pid").read_text())


def says(path: Path, text: str) -> bool:
    return path.exists() and path.read_text() == text


async def wait_for(path: Path, text: str, seconds: float = 20) -> None:
    """Poll the marker file the server writes (another process: there is no event to await)."""
    with anyio.fail_after(seconds):
        while not says(path, text):  # noqa: ASYNC110
            await anyio.sleep(0.05)


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_cancellation_crosses_the_gateway(tmp_path: Path, era: str) -> None:
    gateway = proxy("--stdio", " ".join(CANCEL)).start()
    try:
        marker = tmp_path / "marker"
        async with Client(gateway.url, era=era) as client, anyio.create_task_group() as group:
            group.start_soon(client.call_tool, "wait", {"marker": str(marker)})
            await wait_for(marker, "started")
            group.cancel_scope.cancel()  # our Client sends notifications/cancelled to the gateway
        await wait_for(marker, "cancelled", 10)  # ... which cancels its own call upstream
    finally:
        gateway.stop()


async def test_a_killed_upstream_fails_its_call_and_blocks_no_other(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(
        f"[upstreams.slow]\ncommand = {toml_list(CANCEL)}\n\n"
        f"[upstreams.fast]\ncommand = {toml_list(EVERYTHING)}\n"
    )
    gateway = proxy("--config", str(config)).start()
    marker = tmp_path / "marker"
    try:
        async with Client(gateway.url, era="legacy") as client:
            names = {tool["name"] for tool in await client.list_tools()}
            assert {"slow.wait", "fast.add"} <= names
            outcome: dict[str, Any] = {}

            async def slow_call() -> None:
                try:
                    await client.call_tool("slow.wait", {"marker": str(marker)})
                except RemoteError as exc:
                    outcome["error"] = exc

            async with anyio.create_task_group() as group:
                group.start_soon(slow_call)
                await wait_for(marker, "started")
                with anyio.fail_after(5):  # the slow upstream does not hold the fast one back
                    assert (await client.call_tool("fast.add", {"a": 2, "b": 3}))["structuredContent"] == {
                        "result": 5
                    }
                os.kill(server_pid(marker), signal.SIGKILL)
            error = outcome["error"]
            assert error.code == -32603 and error.data == {"upstream": "slow"}, error
            assert "unavailable" in error.message
            assert (await client.call_tool("fast.add", {"a": 1, "b": 1}))["structuredContent"] == {
                "result": 2
            }
            with anyio.fail_after(20):  # the dead one is started again on next use
                assert (await client.call_tool("slow.echo", {"text": "back"}))["content"][0]["text"] == "back"
    finally:
        gateway.stop()


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_proxy_url_serves_a_remote_server_on_stdio(era: str) -> None:
    upstream = our_server().start()
    try:
        await exercise_with_our_client([PY, "-m", "mcp_transport", "proxy", upstream.url], era, "")
    finally:
        upstream.stop()


async def sample(params: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": {"type": "text", "text": "42"}, "model": "test-model"}


async def wait_until(notes: list[tuple[str, dict[str, Any]]], method: str) -> dict[str, Any]:
    with anyio.fail_after(10):
        while True:
            for seen, params in notes:
                if seen == method:
                    return params
            await anyio.sleep(0.02)


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_logs_sampling_roots_subscriptions_and_list_changes_cross(stdio_gateway: str, era: str) -> None:
    notes: list[tuple[str, dict[str, Any]]] = []

    async def on_notification(method: str, params: dict[str, Any]) -> None:
        notes.append((method, params))

    async with Client(
        stdio_gateway,
        era=era,
        sampling_handler=sample,
        roots=[{"uri": "file:///work", "name": "work"}],
        on_notification=on_notification,
        log_level="info",
    ) as client:
        await client.call_tool("test_tool_with_logging")
        logged = [params["data"] for method, params in notes if method == "notifications/message"]
        assert logged == ["Tool execution started", "Tool processing data", "Tool execution completed"]
        sampled = await client.call_tool("test_sampling", {"prompt": "The answer?"})
        assert sampled["content"][0]["text"] == "LLM response: 42"
        if era == "modern":
            return  # roots, resources/subscribe and the GET stream are the legacy session's
        roots = await client.call_tool("list_client_roots")
        assert roots["content"][0]["text"] == "work: file:///work"
        await client.subscribe_resource("test://watched-resource")
        await client.call_tool("touch_watched_resource")
        assert (await wait_until(notes, "notifications/resources/updated"))[
            "uri"
        ] == "test://watched-resource"
        await client.call_tool("test_trigger_tool_change")  # this session's child gains dynamic_tool
        await wait_until(notes, "notifications/tools/list_changed")
        assert "dynamic_tool" in {tool["name"] for tool in await client.list_tools()}
