"""Properties of the Streamable HTTP endpoint, both eras, against a real uvicorn on
127.0.0.1 (conftest.py) serving servers.everything: arbitrary headers and bodies, sequences
of messages on a legacy session (initialize + Mcp-Session-Id, 2025-11-25
basic/transports#session-management), modern requests with ``params._meta``
(2026-07-28 basic/transports#streamable-http), and two sessions side by side.

After every example: no 5xx was seen, every 4xx had a JSON-RPC error body (fuzz_http), and
the server still answers a valid request on either era.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from servers_for_tests import JSON_AND_SSE, ServerThread, parse_sse

from mcp_transport.transports.http.headers import request_headers
from servers.everything import server as everything
from tests.fuzz.fuzz_http import FuzzEndpoint, check_reply, messages_of, modern_meta
from tests.fuzz.fuzz_strategies import (
    LEGACY_VERSIONS,
    MODERN_VERSION,
    SAFE_TOOLS,
    any_value,
    bodies,
    budget,
    encode,
    header_sets,
    header_values,
    messages,
)


def modern_headers(message: Any) -> dict[str, str]:
    """The SEP-2243 headers a correct client would send for ``message`` (best effort)."""
    if not isinstance(message, dict) or not isinstance(message.get("method"), str):
        return {}
    params = message.get("params")
    params = params if isinstance(params, dict) else None
    schema = None
    if (
        params
        and message["method"] == "tools/call"
        and isinstance(params.get("name"), str)
        and params["name"] in everything.tools
    ):
        schema = everything.tools[params["name"]].input_schema
    try:
        headers = request_headers(message["method"], params, schema)
    except Exception:  # a mistyped body a real client could not even mirror
        return {}
    # A control character cannot be sent in a field value, and surrounding whitespace is not
    # part of it (RFC 9110 section 5.5): send what a client library can.
    return {k: v.strip() for k, v in headers.items() if not any(ord(c) < 0x20 or ord(c) == 0x7F for c in v)}


@budget(150)
@given(body=bodies(), headers=header_sets(), with_session=st.booleans())
def test_any_post(endpoint: FuzzEndpoint, body: bytes, headers: dict[str, str], with_session: bool) -> None:
    """Any headers and any body, on no session or on a live one."""
    session = endpoint.initialize() if with_session else None
    try:
        if session is not None:
            headers = {"mcp-session-id": session, **headers}
        endpoint.post(body, headers)
    finally:
        if session is not None:
            endpoint.delete(session)
    endpoint.assert_healthy()


@budget(60)
@given(
    method=st.sampled_from(["GET", "DELETE"]),
    headers=header_sets(),
    session=st.one_of(st.none(), header_values, st.just("live")),
)
def test_any_get_or_delete(
    endpoint: FuzzEndpoint, method: str, headers: dict[str, str], session: Any
) -> None:
    """GET and DELETE with any headers, on no session, an unknown one or a live one."""
    live = endpoint.initialize() if session == "live" else None
    if session is not None:
        headers = {**headers, "mcp-session-id": live or session}
    if method == "GET":
        read_get(endpoint, headers)
    else:
        check_reply(endpoint.client.send(endpoint.build("DELETE", headers)))
    if live is not None:
        endpoint.delete(live)
    endpoint.assert_healthy()


step = st.one_of(
    st.tuples(st.just("post"), messages(), st.booleans()),
    st.tuples(st.just("post"), messages(), st.booleans()),
    st.tuples(st.just("raw"), bodies(), header_sets()),
    st.tuples(
        st.just("call"),
        st.sampled_from(SAFE_TOOLS),
        st.dictionaries(st.sampled_from(["text", "a", "b", "city", "region"]), any_value, max_size=3),
    ),
    st.tuples(st.just("progress"), st.integers(0, 100), st.none()),
    st.tuples(st.just("get"), st.one_of(st.none(), header_values), st.none()),
    st.tuples(st.just("delete"), st.none(), st.none()),
)


@budget(60)
@given(version=st.sampled_from(LEGACY_VERSIONS), steps=st.lists(step, min_size=1, max_size=6))
def test_legacy_session_sequences(endpoint: FuzzEndpoint, version: str, steps: list[Any]) -> None:
    """initialize, then any sequence of messages, tool calls, GETs and DELETEs on the session."""
    session = endpoint.initialize(version)
    headers = endpoint.session_headers(session, version)
    live = True  # until a DELETE or a fuzzed message ends the session
    for kind, first, second in steps:
        if kind == "post":
            endpoint.post(
                encode(first), headers if second else {**headers, "mcp-protocol-version": "2025-03-26"}
            )
        elif kind == "raw":
            endpoint.post(first, {**second, "mcp-session-id": session})
        elif kind == "call":
            call = {
                "jsonrpc": "2.0",
                "id": 7,
                "method": "tools/call",
                "params": {"name": first, "arguments": second},
            }
            live = answered_or_gone(endpoint.post(encode(call), headers), 7, live)
        elif kind == "progress":
            call = {
                "jsonrpc": "2.0",
                "id": "p",
                "method": "tools/call",
                "params": {
                    "name": "progress_stream",
                    "arguments": {"count": first},
                    "_meta": {"progressToken": 1},
                },
            }
            live = answered_or_gone(endpoint.post(encode(call), headers), "p", live)
        elif kind == "get":
            read_get(endpoint, {**headers, **({"last-event-id": first} if first is not None else {})})
        else:
            endpoint.delete(session)
            live = False
    endpoint.delete(session)
    endpoint.assert_healthy()


@budget(150)
@given(message=messages(MODERN_VERSION), mirror=st.booleans(), extra=header_sets())
def test_modern_requests(endpoint: FuzzEndpoint, message: Any, mirror: bool, extra: dict[str, str]) -> None:
    """2026-07-28 requests: fuzzed ``params._meta``, headers mirrored from the body or fuzzed."""
    headers = {**JSON_AND_SSE, **(modern_headers(message) if mirror else extra)}
    response = endpoint.post(encode(message), headers)
    if response.status_code == 200 and isinstance(message, dict) and type(message.get("id")) in (str, int):
        assert messages_of(response)[-1].get("id") == message["id"], response.text
    endpoint.assert_healthy()


@budget(25)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from("AB"),
            st.sampled_from(["echo", "progress", "resume-own", "resume-other", "modern"]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_sessions_are_isolated(endpoint: FuzzEndpoint, steps: list[tuple[str, str]]) -> None:
    """Two sessions and modern requests side by side: nothing one sends ever reaches another,
    and one session's event ids never resume on another (2025-11-25
    basic/transports#resumability-and-redelivery: a replay is of that stream only)."""
    sessions = {name: endpoint.initialize() for name in "AB"}
    secrets_of = {name: f"secret-{name}-{secrets.token_hex(8)}" for name in "AB"}
    seen: dict[str, list[str]] = {"A": [], "B": []}
    event_ids: dict[str, list[str]] = {"A": [], "B": []}
    for who, action in steps:
        other = "B" if who == "A" else "A"
        headers = endpoint.session_headers(sessions[who], "2025-11-25")
        text = f"{secrets_of[who]}-{len(seen[who])}"
        if action in ("echo", "progress", "modern"):
            params: dict[str, Any] = {"name": "echo", "arguments": {"text": text}}
            if action == "progress":
                params = {
                    "name": "progress_stream",
                    "arguments": {"count": 3},
                    "_meta": {"progressToken": text},
                }
            call = {"jsonrpc": "2.0", "id": text, "method": "tools/call", "params": params}
            if action == "modern":
                params["_meta"] = modern_meta()
                headers = {**JSON_AND_SSE, **modern_headers(call)}
            response = endpoint.post(orjson.dumps(call), headers)
            assert_answered(response, text)
            if response.headers["content-type"].startswith("text/event-stream"):
                event_ids[who] += [e["id"] for e in parse_sse(response.text) if e.get("id")]
        else:
            pool = event_ids[who if action == "resume-own" else other]
            if not pool:
                continue
            # From the oldest id: a replay, if one were wrongly allowed, carries the secrets.
            response = read_get(endpoint, {**headers, "last-event-id": pool[0]})
            if action == "resume-other":
                assert response.status_code == 400, response.text
        seen[who].append(response.text)
    for who in "AB":
        other = "B" if who == "A" else "A"
        for text in seen[who]:
            assert secrets_of[other] not in text, f"session {who} saw session {other}'s data"
    for session in sessions.values():
        endpoint.delete(session)
    endpoint.assert_healthy()


@budget(20)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["progress", "progress", "progress", "echo", "log", "end"]), st.integers(0, 300)
        ),
        min_size=1,
        max_size=8,
    )
)
def test_internal_structures_stay_bounded(endpoint: FuzzEndpoint, steps: list[tuple[str, int]]) -> None:
    """Chatty calls, sessions ended or left to expire: the session table, every event-log
    structure and RSS stay within their configured bounds."""
    session = endpoint.initialize()
    headers = endpoint.session_headers(session, "2025-11-25")
    for kind, count in steps:
        if kind == "end":
            endpoint.delete(session)
            session = endpoint.initialize()
            headers = endpoint.session_headers(session, "2025-11-25")
            continue
        name, arguments = {
            "progress": ("progress_stream", {"count": count}),
            "echo": ("echo", {"text": "x" * count * 100}),
            "log": ("test_tool_with_logging", {}),
        }[kind]
        call = {
            "jsonrpc": "2.0",
            "id": count,
            "method": "tools/call",
            "params": {"name": name, "arguments": arguments, "_meta": {"progressToken": count}},
        }
        assert_answered(endpoint.post(orjson.dumps(call), headers), count)
        endpoint.assert_bounded()
    endpoint.delete(session)
    endpoint.assert_bounded()
    endpoint.assert_healthy()


def assert_answered(response: httpx.Response, request_id: Any) -> None:
    """A request on a live session gets exactly its response (a result or an error)."""
    assert response.status_code == 200, response.text
    answers = [m for m in messages_of(response) if isinstance(m, dict) and "method" not in m]
    assert [m.get("id") for m in answers] == [request_id], response.text


def answered_or_gone(response: httpx.Response, request_id: Any, live: bool) -> bool:
    """On a live session a request is answered (or refused with a checked 4xx: its input
    may be too deep to parse); once the session is gone, a 404."""
    if response.status_code == 404 or not live:
        # Gone: 404, unless the body is refused before the session is looked up (400).
        assert response.status_code in (400, 404), response.text
        return False
    if response.status_code != 400:
        assert_answered(response, request_id)
    return True


def read_get(endpoint: FuzzEndpoint, headers: dict[str, str]) -> httpx.Response:
    """A GET with these headers (but Content-Type): its status and whatever arrives within a
    short read window."""
    headers = {k: v for k, v in headers.items() if k != "content-type"}
    request = endpoint.build("GET", headers)
    request.extensions["timeout"] = httpx.Timeout(5.0, read=0.3).as_dict()
    response = endpoint.client.send(request, stream=True)
    body = b""
    try:
        for chunk in response.iter_bytes():
            body += chunk
    except httpx.ReadTimeout:
        pass
    finally:
        response.close()
    response._content = body  # the part we read, for the checks
    check_reply(response)
    return response


# -- regressions: concrete inputs the properties found ----------------------------------------


def deep(depth: int, leaf: Any = 0) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def legacy_call(endpoint: FuzzEndpoint, message: Any) -> httpx.Response:
    session = endpoint.initialize()
    try:
        return endpoint.post(encode(message), endpoint.session_headers(session, "2025-11-25"))
    finally:
        endpoint.delete(session)


def test_deep_id_is_a_400(endpoint: FuzzEndpoint) -> None:
    """An id nested 300 levels (orjson dumps at most 255 while building the error) is a 400
    -32600 with a JSON-RPC body, not a 500."""
    response = legacy_call(endpoint, {"jsonrpc": "2.0", "id": deep(300), "method": "ping"})
    assert response.status_code == 400 and response.json()["error"]["code"] == -32600, response.text
    endpoint.assert_healthy()


def test_deep_tool_name_is_refused(endpoint: FuzzEndpoint) -> None:
    """A tools/call name nested 300 levels (echoed in the unknown-tool error) is no 500."""
    response = legacy_call(
        endpoint, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": deep(300)}}
    )
    if response.status_code == 200:
        assert "error" in messages_of(response)[-1], response.text
    endpoint.assert_healthy()


def test_deep_name_on_the_modern_leg_is_a_400(endpoint: FuzzEndpoint) -> None:
    """2026-07-28: a name nested ~1,000 levels with Mcp-Method set (the header cross-check
    reprs it) is a 400 with a JSON-RPC body."""
    message = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": deep(990), "_meta": modern_meta()},
    }
    headers = {**JSON_AND_SSE, "mcp-protocol-version": MODERN_VERSION, "mcp-method": "tools/call"}
    response = endpoint.post(encode(message), headers)
    assert response.status_code == 400, response.text
    endpoint.assert_healthy()


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        # 2025-11-25 basic/transports#sending-messages-to-the-server: the client MUST send an
        # Accept header listing application/json and text/event-stream.
        ({"content-type": "application/json"}, {"jsonrpc": "2.0", "id": 1, "method": "ping"}),
        # The body is UTF-8 JSON (RFC 8259 section 8.1); a UTF-16 charset is unsupported media.
        (
            {**JSON_AND_SSE, "content-type": "application/json; charset=utf-16"},
            {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        ),
        # A message is a request, a notification or a response, never two at once.
        (JSON_AND_SSE, {"jsonrpc": "2.0", "id": 1, "method": "ping", "result": {}}),
    ],
    ids=["no-accept", "charset-utf-16", "method-and-result"],
)
def test_lenient_inputs_are_4xx(endpoint: FuzzEndpoint, headers: dict[str, str], body: Any) -> None:
    session = endpoint.initialize()
    try:
        all_headers = {**headers, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
        response = endpoint.post(encode(body), all_headers)
        assert 400 <= response.status_code < 500, f"{response.status_code}: {response.text}"
    finally:
        endpoint.delete(session)


def test_initialize_with_mistyped_capabilities_is_refused(endpoint: FuzzEndpoint) -> None:
    """``capabilities`` is an object (2025-11-25 schema, InitializeRequestParams): -32602 and
    no session (HTTP 200, as every request's error on the legacy leg; docs/http-server.md)."""
    message = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": [],
            "clientInfo": {"name": "x", "version": "1"},
        },
    }
    response = endpoint.post(encode(message), JSON_AND_SSE)
    assert messages_of(response)[-1]["error"]["code"] == -32602, response.text
    assert "mcp-session-id" not in response.headers


def test_duplicate_ids_in_a_batch_are_refused(endpoint: FuzzEndpoint) -> None:
    """2025-03-26 batches: two requests with one id cannot both be answered unambiguously."""
    session = endpoint.initialize("2025-03-26")
    try:
        batch = [
            {"jsonrpc": "2.0", "id": 5, "method": "ping"},
            {"jsonrpc": "2.0", "id": 5, "method": "tools/list"},
        ]
        response = endpoint.post(encode(batch), endpoint.session_headers(session, "2025-03-26"))
        assert 400 <= response.status_code < 500, f"{response.status_code}: {response.text}"
    finally:
        endpoint.delete(session)


def test_raising_notification_handler_is_contained() -> None:
    """A notification handler that raises: the POST is still 202 and the session goes on."""
    from mcp_transport.server import MCPServer
    from mcp_transport.transports.http import http_app

    server = MCPServer("raising", "1.0.0")

    @server.on_notification("notifications/roots/list_changed")
    async def boom(connection: Any, params: Any) -> None:
        raise RuntimeError("a user handler failed")

    thread = ServerThread(http_app(server))
    thread.start()
    fuzz = FuzzEndpoint(f"http://127.0.0.1:{thread.port}/mcp", None)
    try:
        session = fuzz.initialize()
        headers = fuzz.session_headers(session, "2025-11-25")
        note = fuzz.post(b'{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}', headers)
        assert note.status_code == 202, note.text
        ping = fuzz.post(b'{"jsonrpc":"2.0","id":1,"method":"ping"}', headers)
        assert ping.status_code == 200 and messages_of(ping)[-1]["result"] == {}
    finally:
        fuzz.close()
        thread.stop()


def test_ended_sessions_leave_nothing_in_the_event_log(endpoint: FuzzEndpoint) -> None:
    """Found by test_internal_structures_stay_bounded on ea95b24: after DELETE, the log's
    append-order index kept one entry per event of the ended session until the age bound."""
    for _ in range(3):
        session = endpoint.initialize()
        call = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "progress_stream", "arguments": {"count": 40}, "_meta": {"progressToken": 1}},
        }
        assert_answered(endpoint.post(orjson.dumps(call), endpoint.session_headers(session, "2025-11-25")), 1)
        endpoint.delete(session)
    endpoint.assert_bounded()


def test_progress_with_an_unhashable_token_is_ignored(endpoint: FuzzEndpoint) -> None:
    """Found by test_fuzz_stdio: ``notifications/progress`` whose progressToken is a list or
    an object (the spec's ProgressToken is a string or a number) is a notification the
    receiver ignores, not a TypeError from the outbound-request table."""
    session = endpoint.initialize()
    headers = endpoint.session_headers(session, "2025-11-25")
    try:
        tokens: list[Any] = [[], {"a": 1}]
        for token in tokens:
            note = {
                "jsonrpc": "2.0",
                "method": "notifications/progress",
                "params": {"progressToken": token, "progress": 1},
            }
            response = endpoint.post(orjson.dumps(note), headers)
            assert response.status_code == 202, response.text
        ping = endpoint.post(b'{"jsonrpc":"2.0","id":1,"method":"ping"}', headers)
        assert messages_of(ping)[-1]["result"] == {}
    finally:
        endpoint.delete(session)
