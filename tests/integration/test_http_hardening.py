"""HTTP hardening against a real uvicorn on 127.0.0.1: a failing user callback, hostile nesting
(never a 5xx, always a JSON-RPC body), and 2025-03-26 batches run tracked by the dispatcher
(cancelled by DELETE and notifications/cancelled, ids checked against concurrent POSTs,
duplicate ids refused)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import orjson
import pytest
from hardening_server import CALLS, make_hardening_server
from servers_for_tests import JSON_AND_SSE, RawSession, parse_sse

from mcp_transport.jsonrpc import (
    HEADER_MISMATCH,
    INVALID_PARAMS,
    INVALID_REQUEST,
    MAX_JSON_DEPTH,
)
from mcp_transport.protocol import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION
from mcp_transport.transports.http import http_app
from mcp_transport.transports.http.headers import request_headers

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


@pytest.fixture
async def client() -> Any:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
def served(serve_app: Callable[..., str]) -> Callable[[], tuple[str, Any]]:
    """``served() -> (url, endpoint)``: the hardening server on uvicorn, its endpoint at hand."""

    def start() -> tuple[str, Any]:
        app = http_app(make_hardening_server())
        return serve_app(app), app.endpoint

    return start


def assert_rpc_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    body: dict[str, Any] = response.json()
    assert body["jsonrpc"] == "2.0" and body["error"]["code"] == code, body
    return body


def nested_text(depth: int) -> bytes:
    return b"[" * depth + b'"x"' + b"]" * depth


def call(rid: Any, tool: str, arguments: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"name": tool, "arguments": arguments}
    if token is not None:
        params["_meta"] = {"progressToken": token}
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": params}


# -- item 1 ---------------------------------------------------------------------------------------


async def test_failing_notification_handler_answers_202(served: Any, client: httpx.AsyncClient) -> None:
    url, _ = served()
    raw = RawSession(client, url)
    await raw.initialize()
    response = await raw.post({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"})
    assert response.status_code == 202, response.text
    assert (await raw.call("ping"))["result"] == {}


# -- item 2 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [300, 1000])
async def test_deep_nesting_is_400_with_a_json_rpc_body(
    served: Any, client: httpx.AsyncClient, depth: int
) -> None:
    url, _ = served()
    raw = RawSession(client, url)
    await raw.initialize()
    deep = nested_text(depth)
    response = await client.post(
        url, headers=raw.headers, content=b'{"jsonrpc":"2.0","method":"ping","id":%s}' % deep
    )
    assert str(MAX_JSON_DEPTH) in assert_rpc_error(response, 400, INVALID_REQUEST)["error"]["message"]
    body = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%s,"arguments":{}}}' % deep
    assert_rpc_error(await client.post(url, headers=raw.headers, content=body), 400, INVALID_REQUEST)
    # The modern leg, with headers (the header check used to repr the name).
    meta = b'{"%s":"2026-07-28","%s":{}}' % (
        META_PROTOCOL_VERSION.encode(),
        META_CLIENT_CAPABILITIES.encode(),
    )
    body = b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":%s,"_meta":%s}}' % (deep, meta)
    headers = {**JSON_AND_SSE, "mcp-method": "tools/call", "mcp-protocol-version": "2026-07-28"}
    assert_rpc_error(await client.post(url, headers=headers, content=body), 400, INVALID_REQUEST)
    assert (await raw.call("ping"))["result"] == {}


async def test_errors_quote_nested_or_huge_names_bounded(served: Any, client: httpx.AsyncClient) -> None:
    url, _ = served()
    raw = RawSession(client, url)
    await raw.initialize()
    deep = nested_text(MAX_JSON_DEPTH - 3)
    body = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%s,"arguments":{}}}' % deep
    response = await client.post(url, headers=raw.headers, content=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["error"]["code"] == INVALID_PARAMS and answer["error"]["data"] == {
        "name": "an array of 1 item(s)"
    }
    answer = await raw.call("tools/call", {"name": "n" * 1_000_000, "arguments": {}})
    assert answer["error"]["code"] == INVALID_PARAMS and len(orjson.dumps(answer)) < 1000
    # Modern leg: a nested name within the bound gets the header error, quoted bounded.
    params: dict[str, Any] = {
        "name": [[["x"]]],
        "_meta": {META_PROTOCOL_VERSION: "2026-07-28", META_CLIENT_CAPABILITIES: {}},
    }
    message = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": params}
    headers = {**JSON_AND_SSE, **request_headers("tools/call", params)}
    error = assert_rpc_error(
        await client.post(url, headers=headers, content=orjson.dumps(message)), 400, HEADER_MISMATCH
    )
    assert "an array of 1 item(s)" in error["error"]["message"]


# -- item 4: batches ------------------------------------------------------------------------------


async def batch_session(client: httpx.AsyncClient, url: str) -> RawSession:
    raw = RawSession(client, url)
    await raw.initialize("2025-03-26")
    return raw


async def test_delete_cancels_a_batch_and_its_late_messages_open_no_stream(
    served: Any, client: httpx.AsyncClient
) -> None:
    url, endpoint = served()
    raw = await batch_session(client, url)
    outcome: dict[str, Any] = {}

    async def post_batch() -> None:
        outcome["batch"] = await raw.post([call(1, "stubborn", {"seconds": 0.5})])

    async with anyio.create_task_group() as tg:
        tg.start_soon(post_batch)
        await anyio.sleep(0.2)
        assert (await client.delete(url, headers=raw.headers)).status_code == 204
    assert outcome["batch"].status_code == 202, outcome["batch"].text  # cancelled: no response
    await anyio.sleep(0.3)
    # The handler ran on after DELETE and sent a related message: it must not have
    # re-created a GET stream for the dead session.
    assert len(endpoint.log) == 0


async def test_notifications_cancelled_cancels_a_batch_member(served: Any, client: httpx.AsyncClient) -> None:
    url, _ = served()
    raw = await batch_session(client, url)
    outcome: dict[str, Any] = {}
    started = time.monotonic()

    async def post_batch() -> None:
        outcome["batch"] = await raw.post(
            [call(7, "slow", {"seconds": 5}), {"jsonrpc": "2.0", "id": 8, "method": "ping"}]
        )

    async with anyio.create_task_group() as tg:
        tg.start_soon(post_batch)
        await anyio.sleep(0.2)
        cancel = await raw.post(
            {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}}
        )
        assert cancel.status_code == 202
    assert outcome["batch"].status_code == 200
    assert [r["id"] for r in outcome["batch"].json()] == [8]
    assert time.monotonic() - started < 4


async def test_batch_and_concurrent_post_with_the_same_id(served: Any, client: httpx.AsyncClient) -> None:
    """Suspected: a POST reusing the id of a running batch request was accepted and got the
    batch request's progress on its own stream. Confirmed on ea95b24 (the POST answered 200
    over SSE carrying the batch's progress); now the POST is refused."""
    url, _ = served()
    raw = await batch_session(client, url)
    outcome: dict[str, Any] = {}

    async def post_batch() -> None:
        outcome["batch"] = await raw.post([call(5, "chatty", {"seconds": 1.0}, token="batch-token")])

    async with anyio.create_task_group() as tg:
        tg.start_soon(post_batch)
        await anyio.sleep(0.2)
        clash = await raw.post(call(5, "slow", {"seconds": 0.3}, token="post-token"))
    events = parse_sse(clash.text) if clash.headers["content-type"].startswith("text/event-stream") else []
    crossed = [e for e in events if isinstance(e.get("data"), dict) and "batch-token" in str(e["data"])]
    assert not crossed, f"the batch's messages crossed onto another POST's stream: {crossed[:2]}"
    assert "already in use" in assert_rpc_error(clash, 400, INVALID_REQUEST)["error"]["message"]
    assert outcome["batch"].json()[0]["result"]["content"][0]["text"] == "chatted"


async def test_duplicate_ids_in_one_batch_are_refused_and_nothing_runs(
    served: Any, client: httpx.AsyncClient
) -> None:
    url, _ = served()
    raw = await batch_session(client, url)
    before = len(CALLS)
    response = await raw.post([call(1, "count", {"tag": "a"}), call(1, "count", {"tag": "b"})])
    body = assert_rpc_error(response, 400, INVALID_REQUEST)
    assert body["id"] is None and "more than once" in body["error"]["message"]
    assert len(CALLS) == before
    # Same value, different types: distinct ids, both run.
    response = await raw.post([call(1, "count", {"tag": "c"}), call("1", "count", {"tag": "d"})])
    assert response.status_code == 200 and sorted(
        r["result"]["content"][0]["text"] for r in response.json()
    ) == ["c", "d"]
