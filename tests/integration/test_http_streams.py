"""SSE behaviour of the legacy leg: response modes, the GET stream and its takeover,
resumption with Last-Event-ID, disconnect-is-not-cancel, polling, server->client requests,
cross-session isolation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from servers_for_tests import RawSession, iter_sse, make_server, parse_sse, read_with_random_cuts

from mcp_transport import jsonrpc
from mcp_transport.state import MemoryEventLog

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client() -> Any:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def messages(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e.get("data")]


@pytest.mark.parametrize("mode", ["json", "sse", "auto"])
async def test_response_modes(mode: str, http_server: Callable[..., str], client: httpx.AsyncClient) -> None:
    raw = RawSession(client, http_server(make_server(), response_mode=mode))
    await raw.initialize()
    quiet = await raw.post(raw.tool_call("echo", {"text": "hi"}))
    chatty = await raw.post(raw.tool_call("ticker", {"count": 3}))
    for response in (quiet, chatty):
        assert response.status_code == 200
    expected = {
        "json": ("application/json", "application/json"),
        "sse": ("text/event-stream",) * 2,
        "auto": ("application/json", "text/event-stream"),
    }[mode]
    assert (
        quiet.headers["content-type"].split(";")[0],
        chatty.headers["content-type"].split(";")[0],
    ) == expected
    if expected[1] == "text/event-stream":
        events = parse_sse(chatty.text)
        assert (
            events[0]["data"] == "" and events[0]["retry"] > 0 and events[0]["id"].endswith(":0")
        )  # priming
        sent = messages(events)
        assert [m["params"]["progress"] for m in sent[:-1]] == [1, 2, 3]
        assert sent[-1]["result"]["content"][0]["text"] == "ticked 3"
        assert chatty.headers["cache-control"] == "no-cache, no-transform"
        assert chatty.headers["x-accel-buffering"] == "no"
        ids = [e["id"] for e in events]
        assert len(set(ids)) == len(ids)
    else:
        assert chatty.json()["result"]["content"][0]["text"] == "ticked 3"


async def test_get_stream_delivery_via_notify_all(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    url = http_server(make_server())
    first, second = RawSession(client, url), RawSession(client, url)
    await first.initialize()
    await second.initialize()
    async with first.stream("GET") as a, second.stream("GET") as b:
        assert a.headers["content-type"].startswith("text/event-stream")
        assert (await first.call("tools/call", {"name": "broadcast", "arguments": {"tag": "hello"}}))[
            "result"
        ]
        for stream in (a, b):
            events = iter_sse(stream)
            priming = await events.__anext__()
            assert priming["data"] == "" and "retry" in priming
            with anyio.fail_after(5):
                event = await events.__anext__()
            assert event["data"]["params"]["data"] == "hello"


async def read_until(events: Any, count: int, into: list[dict[str, Any]]) -> None:
    with anyio.fail_after(5):
        while len(into) < count:
            event = await events.__anext__()
            if event.get("data"):
                into.append(event)


async def test_get_takeover_loses_and_duplicates_nothing(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    raw = RawSession(client, http_server(make_server()))
    await raw.initialize()
    got: list[dict[str, Any]] = []
    async with raw.stream("GET") as old:
        old_events = iter_sse(old)
        await raw.call("tools/call", {"name": "unrelated", "arguments": {"count": 5, "tag": "a"}})
        await read_until(old_events, 5, got)
        # A reconnect (e.g. a phone that lost its connection silently) takes the stream over:
        # never 409; the old connection is closed; delivery continues on the new one.
        async with raw.stream("GET") as new:
            assert new.status_code == 200
            with anyio.fail_after(5):
                async for _ in old_events:
                    pass  # the old stream ends
            new_events = iter_sse(new)
            await raw.call("tools/call", {"name": "unrelated", "arguments": {"count": 5, "tag": "b"}})
            await read_until(new_events, 10, got)
    # Messages sent while no GET is open wait for the next one; Last-Event-ID resumes exactly.
    await raw.call("tools/call", {"name": "unrelated", "arguments": {"count": 3, "tag": "c"}})
    async with raw.stream("GET", headers={"last-event-id": got[6]["id"]}) as resumed:
        replay: list[dict[str, Any]] = []
        await read_until(iter_sse(resumed), 6, replay)
    assert [e["data"]["params"]["data"] for e in got] == [f"a-{i}" for i in range(5)] + [
        f"b-{i}" for i in range(5)
    ]
    assert [e["data"]["params"]["data"] for e in replay] == ["b-2", "b-3", "b-4", "c-0", "c-1", "c-2"]
    seqs = [int(e["id"].rsplit(":", 1)[1]) for e in got + replay[3:]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


async def test_resume_at_100_random_cuts_of_a_1000_event_stream(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    raw = RawSession(client, http_server(make_server()))
    await raw.initialize()
    request = raw.tool_call("ticker", {"count": 1000})

    def resume(_: int, last_id: str) -> Any:
        return raw.stream("GET", headers={"last-event-id": last_id})

    received, result, connection = await read_with_random_cuts(raw, request, 1000, resume, seed=8)
    assert [m["params"]["progress"] for m in received] == list(range(1, 1001))
    assert result["id"] == request["id"] and result["result"]["content"][0]["text"] == "ticked 1000"
    assert connection == 101


async def test_disconnect_is_not_cancel(http_server: Callable[..., str], client: httpx.AsyncClient) -> None:
    raw = RawSession(client, http_server(make_server()))
    await raw.initialize()
    async with raw.stream("POST", raw.tool_call("slow", {"seconds": 0.5})) as response:
        events = iter_sse(response)
        priming = await events.__anext__()
        progress = await events.__anext__()
        assert progress["data"]["method"] == "notifications/progress"
    # The client went away; the tool keeps running and its result waits in the log.
    await anyio.sleep(0.7)
    async with raw.stream("GET", headers={"last-event-id": progress["id"]}) as resumed:
        replay = [e async for e in iter_sse(resumed) if e.get("data")]
    assert priming["id"].rsplit(":", 1)[0] == progress["id"].rsplit(":", 1)[0]
    assert [m["data"]["result"]["content"][0]["text"] for m in replay] == ["done after 0.5"]


async def test_handler_closes_its_stream_early_and_client_polls(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    raw = RawSession(client, http_server(make_server(), retry_ms=100))
    await raw.initialize()
    response = await raw.post(raw.tool_call("poll", {}))
    events = parse_sse(response.text)
    assert events[0]["retry"] == 100
    assert [m.get("method") for m in messages(events)] == ["notifications/progress"]  # no result yet
    async with raw.stream("GET", headers={"last-event-id": events[-1]["id"]}) as resumed:
        rest = [e["data"] async for e in iter_sse(resumed) if e.get("data")]
    assert rest[0]["params"]["progress"] == 2 and rest[1]["result"]["content"][0]["text"] == "polled"


@pytest.mark.parametrize("mode", ["auto", "sse"])
async def test_close_stream_before_anything_is_sent_switches_to_sse(
    mode: str, http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    # The transport would answer this one with JSON; close_stream() must end the HTTP
    # response at once (priming event with retry, no result), not hold it for the call.
    raw = RawSession(client, http_server(make_server(), response_mode=mode, retry_ms=100))
    await raw.initialize()
    started = anyio.current_time()
    response = await raw.post(raw.tool_call("cut", {"seconds": 1.0}, progress=False))
    assert anyio.current_time() - started < 0.8, "the POST was held for the whole call"
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    assert len(events) == 1, events  # the priming event only: id, empty data, retry
    assert events[0]["data"] == "" and events[0]["retry"] == 100 and events[0]["id"].endswith(":0")
    async with raw.stream("GET", headers={"last-event-id": events[0]["id"]}) as resumed:
        rest = [e["data"] async for e in iter_sse(resumed) if e.get("data")]
    assert [m["result"]["content"][0]["text"] for m in rest] == ["cut"]


async def test_server_to_client_request_on_the_post_stream(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    raw = RawSession(client, http_server(make_server()))
    await raw.initialize(capabilities={"roots": {}})
    async with raw.stream("POST", raw.tool_call("roots", {}, progress=False)) as response:
        events = iter_sse(response)
        with anyio.fail_after(5):
            ask = (await events.__anext__(), await events.__anext__())[1]["data"]
            assert ask["method"] == "roots/list"
            reply = await raw.post(
                {"jsonrpc": "2.0", "id": ask["id"], "result": {"roots": [{"uri": "file:///tmp/a"}]}}
            )
            assert reply.status_code == 202
            result = (await events.__anext__())["data"]
    assert result["result"]["content"][0]["text"] == "file:///tmp/a"


async def test_cancel_and_keepalive(http_server: Callable[..., str], client: httpx.AsyncClient) -> None:
    raw = RawSession(client, http_server(make_server(), keepalive=0.2))
    await raw.initialize()
    request = raw.tool_call("slow", {"seconds": 30})
    seen: list[dict[str, Any]] = []
    async with raw.stream("POST", request) as response:
        with anyio.fail_after(5):
            async for event in iter_sse(response):
                seen.append(event)
                if event.get("comment") == "keepalive":
                    cancel = {
                        "jsonrpc": "2.0",
                        "method": "notifications/cancelled",
                        "params": {"requestId": request["id"]},
                    }
                    assert (await raw.post(cancel)).status_code == 202
    # The stream ended without a response
    # (2025-11-25 basic/utilities/cancellation#behavior-requirements), well before the tool's 30 s.
    assert not any("result" in (e.get("data") or {}) for e in seen)


async def test_get_stream_keepalive_is_the_same_comment(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    """The idle GET stream gets the same ``: keepalive`` bytes, on the configured interval,
    as the POST streams (one keepalive clock for every stream)."""
    raw = RawSession(client, http_server(make_server(), keepalive=0.2))
    await raw.initialize()
    received = b""
    async with raw.stream("GET") as response:
        assert response.status_code == 200
        with anyio.fail_after(3):
            async for chunk in response.aiter_raw():
                received += chunk
                if received.count(b": keepalive") >= 2:
                    break
    assert received.count(b": keepalive\n\n") >= 2, received


async def test_resume_gap_is_explicit(http_server: Callable[..., str], client: httpx.AsyncClient) -> None:
    raw = RawSession(client, http_server(make_server(), event_log=MemoryEventLog(max_stream_events=10)))
    await raw.initialize()
    async with raw.stream("POST", raw.tool_call("ticker", {"count": 50, "pause_every": 0})) as response:
        priming = await iter_sse(response).__anext__()
    await anyio.sleep(0.2)
    response = await client.get(
        raw.url, headers={**raw.headers, "accept": "text/event-stream", "last-event-id": priming["id"]}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == jsonrpc.RESUME_GAP


async def test_cross_session_isolation(http_server: Callable[..., str], client: httpx.AsyncClient) -> None:
    url = http_server(make_server())
    alice, bob = RawSession(client, url), RawSession(client, url)
    await alice.initialize()
    await bob.initialize()
    async with alice.stream("GET") as a, bob.stream("GET") as b:
        a_events, b_events = iter_sse(a), iter_sse(b)
        await alice.call("tools/call", {"name": "unrelated", "arguments": {"count": 3, "tag": "alice"}})
        await bob.call("tools/call", {"name": "unrelated", "arguments": {"count": 3, "tag": "bob"}})
        got_a: list[dict[str, Any]] = []
        got_b: list[dict[str, Any]] = []
        await read_until(a_events, 3, got_a)
        await read_until(b_events, 3, got_b)
    assert {e["data"]["params"]["data"][:3] for e in got_a} == {"ali"}
    assert {e["data"]["params"]["data"][:3] for e in got_b} == {"bob"}
    # Alice's event ids mean nothing in Bob's session.
    response = await client.get(
        url, headers={**bob.headers, "accept": "text/event-stream", "last-event-id": got_a[0]["id"]}
    )
    assert response.status_code == 400 and "another session" in response.json()["error"]["message"]
    # Nor do Alice's session ids once she is gone, nor her POST stream ids.
    sse_response = await alice.post(alice.tool_call("ticker", {"count": 2}))
    stream_event = parse_sse(sse_response.text)[1]["id"]
    response = await client.get(
        url, headers={**bob.headers, "accept": "text/event-stream", "last-event-id": stream_event}
    )
    assert response.status_code == 400


async def test_json_mode_server_request_without_any_stream_fails_fast(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    raw = RawSession(client, http_server(make_server(), response_mode="json", get_stream=False))
    await raw.initialize(capabilities={"roots": {}})
    with anyio.fail_after(5):
        response = await raw.call("tools/call", {"name": "roots", "arguments": {}})
    assert response["result"]["isError"] and "no GET stream" in response["result"]["content"][0]["text"]


async def test_json_mode_server_request_travels_on_the_get_stream(
    http_server: Callable[..., str], client: httpx.AsyncClient
) -> None:
    raw = RawSession(client, http_server(make_server(), response_mode="json"))
    await raw.initialize(capabilities={"roots": {}})
    async with raw.stream("GET") as get, anyio.create_task_group() as tg:
        answer: list[dict[str, Any]] = []

        async def call() -> None:
            answer.append(await raw.call("tools/call", {"name": "roots", "arguments": {}}))

        tg.start_soon(call)
        ask: dict[str, Any] = {}
        with anyio.fail_after(5):
            async for event in iter_sse(get):
                if event.get("data"):
                    ask = event["data"]
                    break
            assert ask.get("method") == "roots/list"
            await raw.post({"jsonrpc": "2.0", "id": ask["id"], "result": {"roots": [{"uri": "file:///r"}]}})
    assert answer[0]["result"]["content"][0]["text"] == "file:///r"
