"""Properties of the sans-IO JSON-RPC parser (mcp_transport/jsonrpc.py) on arbitrary input.

For any bytes: ``parse`` returns typed messages or raises ``InvalidMessage`` (nothing else),
the error it carries serializes as a JSON-RPC error response of bounded size, and a parsed
message serializes back to JSON that parses to the same message.
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from mcp_transport import jsonrpc
from mcp_transport.jsonrpc import InvalidMessage
from tests.fuzz.fuzz_strategies import any_value, bodies, budget, encode

# An error message says what to fix; it never carries the client's input back unbounded.
MAX_ERROR_BYTES = 1024


def check_parse(data: bytes, allow_batch: bool) -> None:
    try:
        parsed = jsonrpc.parse(data, allow_batch=allow_batch)
    except InvalidMessage as exc:
        check_error(exc)
        return
    items = parsed if isinstance(parsed, list) else [parsed]
    if isinstance(parsed, list):
        assert allow_batch and parsed
    for message in items:
        again = jsonrpc.parse(jsonrpc.dump(message))
        assert again == message


def check_error(exc: InvalidMessage) -> None:
    assert exc.code in (jsonrpc.PARSE_ERROR, jsonrpc.INVALID_REQUEST), exc.code
    wire = jsonrpc.dump(exc.to_response())  # must not raise, whatever the input was
    assert len(wire) <= MAX_ERROR_BYTES, wire[:200]
    body = orjson.loads(wire)
    assert body["jsonrpc"] == "2.0" and body["error"]["code"] == exc.code
    assert body["id"] is None or type(body["id"]) in (str, int)


@budget(300)
@given(st.binary(max_size=200), st.booleans())
def test_arbitrary_bytes(data: bytes, allow_batch: bool) -> None:
    check_parse(data, allow_batch)


@budget(300)
@given(bodies(), st.booleans())
def test_message_shaped_bodies(data: bytes, allow_batch: bool) -> None:
    check_parse(data, allow_batch)


@budget(200)
@given(any_value)
def test_any_json_value(value: Any) -> None:
    check_parse(encode(value), allow_batch=True)


# -- regressions: concrete inputs the properties found ----------------------------------------


def nested(depth: int) -> bytes:
    return b"[" * depth + b"0" + b"]" * depth


def test_deep_id_error_serializes() -> None:
    """An id nested 300 levels (orjson dumps at most 255): a -32600 that can be written."""
    data = b'{"jsonrpc":"2.0","method":"ping","id":' + nested(300) + b"}"
    check_parse(data, allow_batch=False)


def test_invalid_id_is_not_echoed_whole() -> None:
    """An invalid id is named, not copied back: 200 long strings make no 20 KB error."""
    data = b'{"jsonrpc":"2.0","method":"ping","id":' + orjson.dumps(["x" * 100] * 200) + b"}"
    check_parse(data, allow_batch=False)


def test_method_and_result_is_invalid() -> None:
    """A message is a request, a notification or a response (2025-11-25 basic#messages),
    never a request and a response at once."""
    try:
        jsonrpc.parse(b'{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}')
    except InvalidMessage as exc:
        assert exc.code == jsonrpc.INVALID_REQUEST
    else:
        raise AssertionError("a message with both method and result was accepted")
