"""MRTR (2026-07-28 basic/patterns/mrtr) in memory: input calls end a round with
``input_required``; retries with ``inputResponses`` and the sealed ``requestState`` resume by
replay; a tampered, foreign or expired state is refused; only declared capabilities are
asked for. Also ``subscriptions/listen`` on the in-memory dispatcher."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from mcp_transport.errors import RemoteError
from mcp_transport.mrtr import RequestStateCodec
from mcp_transport.protocol import META_SUBSCRIPTION_ID
from mcp_transport.server import Context, MCPServer
from mcp_transport.testing import MemoryClient
from servers.everything import server as everything
from tests.waiting import until

pytestmark = pytest.mark.anyio

ALL: dict[str, Any] = {"sampling": {}, "elicitation": {"form": {}}, "roots": {}}


def accept(**content: Any) -> dict[str, Any]:
    return {"action": "accept", "content": content}


def sampled(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": {"type": "text", "text": text}, "model": "m"}


async def call(client: MemoryClient, name: str, caps: dict[str, Any] = ALL, **extra: Any) -> dict[str, Any]:
    return await client.modern_request(
        "tools/call", {"name": name, "arguments": {}, **extra}, capabilities=caps
    )


async def test_round_trip_elicitation() -> None:
    async with MemoryClient.connect(everything, initialize=False) as client:
        first = await call(client, "test_input_required_result_elicitation")
        assert first["resultType"] == "input_required"
        assert first["inputRequests"]["user_name"]["method"] == "elicitation/create"
        assert isinstance(first["requestState"], str) and "ttlMs" not in first
        done = await call(
            client,
            "test_input_required_result_elicitation",
            inputResponses={"user_name": accept(name="Ada")},
            requestState=first["requestState"],
        )
    assert done["resultType"] == "complete" and done["content"][0]["text"] == "Hello, Ada!"


async def test_multi_round_carries_earlier_answers_in_the_state() -> None:
    async with MemoryClient.connect(everything, initialize=False) as client:
        r1 = await call(client, "test_input_required_result_multi_round")
        assert list(r1["inputRequests"]) == ["step1"]
        r2 = await call(
            client,
            "test_input_required_result_multi_round",
            inputResponses={"step1": accept(name="Ada")},
            requestState=r1["requestState"],
        )
        assert list(r2["inputRequests"]) == ["step2"] and r2["requestState"] != r1["requestState"]
        # The retry sends only step2: step1 comes back from the sealed state.
        r3 = await call(
            client,
            "test_input_required_result_multi_round",
            inputResponses={"step2": accept(color="blue")},
            requestState=r2["requestState"],
        )
    assert r3["resultType"] == "complete" and r3["content"][0]["text"] == "Ada likes blue"


async def test_several_inputs_in_one_round_and_app_state() -> None:
    async with MemoryClient.connect(everything, initialize=False) as client:
        first = await call(client, "test_input_required_result_multiple_inputs")
        methods = {k: v["method"] for k, v in first["inputRequests"].items()}
        assert methods == {
            "user_name": "elicitation/create",
            "greeting": "sampling/createMessage",
            "client_roots": "roots/list",
        }
        answers = {
            "user_name": accept(name="Ada"),
            "greeting": sampled("hi"),
            "client_roots": {"roots": [{"uri": "file:///x"}]},
        }
        done = await call(
            client,
            "test_input_required_result_multiple_inputs",
            inputResponses=answers,
            requestState=first["requestState"],
        )
        assert done["content"][0]["text"] == "Ada: hi (1 roots)"
        state = await call(client, "test_input_required_result_request_state")
        ok = await call(
            client,
            "test_input_required_result_request_state",
            inputResponses={"confirm": accept(ok=True)},
            requestState=state["requestState"],
        )
    assert ok["content"][0]["text"] == "state-ok"


@pytest.mark.parametrize(
    "mutate", [lambda s: s + "-TAMPERED", lambda s: "x" + s[1:], lambda s: s.split(".")[0], lambda s: 42]
)
async def test_tampered_state_is_refused(mutate: Any) -> None:
    async with MemoryClient.connect(everything, initialize=False) as client:
        first = await call(client, "test_input_required_result_tampered_state")
        with pytest.raises(RemoteError) as err:
            await call(
                client,
                "test_input_required_result_tampered_state",
                inputResponses={"confirm": accept(ok=True)},
                requestState=mutate(first["requestState"]),
            )
    assert err.value.code == -32602 and "requestState" in err.value.message


async def test_state_of_another_request_or_expired_is_refused() -> None:
    server = MCPServer("s", request_state_keys=[b"k" * 32], request_state_ttl=-1)

    @server.tool()
    async def ask(ctx: Context) -> str:
        """Ask once."""
        return (await ctx.elicit("?", {"type": "object", "properties": {}}, key="q")).action

    async with MemoryClient.connect(everything, initialize=False) as client:
        first = await call(client, "test_input_required_result_tampered_state")
        with pytest.raises(RemoteError, match="different request"):
            await call(client, "test_input_required_result_elicitation", requestState=first["requestState"])
    async with MemoryClient.connect(server, initialize=False) as client:
        first = await call(client, "ask")
        with pytest.raises(RemoteError, match="Expired"):
            await call(client, "ask", requestState=first["requestState"])


async def test_shared_keys_let_any_worker_resume() -> None:
    def worker() -> MCPServer:
        server = MCPServer("w", request_state_keys=[b"shared-secret-key-0123"])

        @server.tool()
        async def two(ctx: Context) -> str:
            """Two rounds."""
            a = await ctx.elicit("a?", {"type": "object", "properties": {}}, key="a")
            b = await ctx.elicit("b?", {"type": "object", "properties": {}}, key="b")
            return f"{a.action}/{b.action}"

        return server

    async with (
        MemoryClient.connect(worker(), initialize=False) as one,
        MemoryClient.connect(worker(), initialize=False) as other,
    ):
        r1 = await call(one, "two")
        r2 = await call(
            other, "two", inputResponses={"a": {"action": "decline"}}, requestState=r1["requestState"]
        )
        r3 = await call(
            one, "two", inputResponses={"b": {"action": "cancel"}}, requestState=r2["requestState"]
        )
    assert r3["content"][0]["text"] == "decline/cancel"
    assert RequestStateCodec([b"shared-secret-key-0123"]).open(r2["requestState"])["a"] == {
        "a": {"action": "decline"}
    }


async def test_missing_malformed_and_extra_responses() -> None:
    async with MemoryClient.connect(everything, initialize=False) as client:
        for responses in (
            {"wrong_key": accept(x=1)},
            {"user_name": 12345},
            {"user_name": {"action": "maybe"}},
            None,
        ):
            again = await call(client, "test_input_required_result_elicitation", inputResponses=responses)
            assert again["resultType"] == "input_required" and "user_name" in again["inputRequests"]
        extra = {"user_name": accept(name="Ada"), "unknown": accept(foo="bar")}
        done = await call(client, "test_input_required_result_elicitation", inputResponses=extra)
        assert done["content"][0]["text"] == "Hello, Ada!"
        with pytest.raises(RemoteError) as err:
            await call(client, "test_input_required_result_elicitation", inputResponses=[1])
        assert err.value.code == -32602


async def test_only_declared_capabilities_are_asked_for() -> None:
    async with MemoryClient.connect(everything, initialize=False) as client:
        sampling_only = await call(client, "test_input_required_result_capabilities", caps={"sampling": {}})
        assert [r["method"] for r in sampling_only["inputRequests"].values()] == ["sampling/createMessage"]
        with pytest.raises(RemoteError) as err:
            await call(client, "test_missing_capability", caps={})
    assert err.value.code == -32021 and err.value.data == {"requiredCapabilities": {"sampling": {}}}


async def test_prompts_get_can_ask_and_lists_never_do() -> None:
    async with MemoryClient.connect(everything, initialize=False) as client:
        first = await client.modern_request(
            "prompts/get", {"name": "test_input_required_result_prompt"}, capabilities=ALL
        )
        assert first["resultType"] == "input_required" and "user_context" in first["inputRequests"]
        done = await client.modern_request(
            "prompts/get",
            {
                "name": "test_input_required_result_prompt",
                "inputResponses": {"user_context": accept(context="tea")},
                "requestState": first["requestState"],
            },
            capabilities=ALL,
        )
        assert done["resultType"] == "complete" and "tea" in done["messages"][0]["content"]["text"]
        for method in ("tools/list", "prompts/list"):
            assert (await client.modern_request(method, capabilities=ALL))["resultType"] == "complete"


async def test_legacy_session_runs_the_same_handlers_with_real_requests() -> None:
    async with MemoryClient.connect(everything, capabilities=ALL) as client:

        async def elicit(params: dict[str, Any]) -> dict[str, Any]:
            return accept(name="Ada")

        async def sample(params: dict[str, Any]) -> dict[str, Any]:
            return sampled("hi")

        async def roots(params: dict[str, Any]) -> dict[str, Any]:
            return {"roots": []}

        client.handlers.update(
            {"elicitation/create": elicit, "sampling/createMessage": sample, "roots/list": roots}
        )
        multi = await client.call_tool("test_input_required_result_multiple_inputs")
        state = await client.call_tool("test_input_required_result_request_state")
    assert multi["content"][0]["text"] == "Ada: hi (0 roots)"
    assert state["content"][0]["text"] == "state-ok"
    assert [r.method for r in client.requests] == [
        "elicitation/create",
        "sampling/createMessage",
        "roots/list",
        "elicitation/create",
    ]


async def test_listen_acknowledges_filters_tags_and_ends_on_close() -> None:
    server = MCPServer("listen")

    @server.tool()
    async def noop() -> str:
        """Nothing."""
        return ""

    @server.prompt()
    def hello() -> str:
        """Hi."""
        return "hi"

    async with MemoryClient.connect(server, initialize=False) as client:
        results: list[dict[str, Any]] = []

        async def listen() -> None:
            results.append(
                await client.modern_request(
                    "subscriptions/listen",
                    {"notifications": {"toolsListChanged": True, "resourcesListChanged": True}},
                )
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(listen)
            await until(lambda: client.notifications)
            server.remove_prompt("hello")  # not asked for: never forwarded
            server.remove_tool("noop")
            await until(lambda: len(client.notifications) >= 2)
            server.close_subscriptions()
    ack, changed = client.notifications
    assert ack.method == "notifications/subscriptions/acknowledged"
    assert ack.params == {"notifications": {"toolsListChanged": True}, "_meta": {META_SUBSCRIPTION_ID: 1}}
    assert changed.method == "notifications/tools/list_changed" and changed.params == {
        "_meta": {META_SUBSCRIPTION_ID: 1}
    }
    assert results[0]["resultType"] == "complete" and results[0]["_meta"][META_SUBSCRIPTION_ID] == 1
    assert not server.subscriptions
