"""jsonrpc: parsing, MCP's restrictions of JSON-RPC 2.0, serialization."""

import orjson
import pytest

from mcp_transport import jsonrpc
from mcp_transport.jsonrpc import ErrorObject, ErrorResponse, InvalidMessage, Notification, Request, Result


def test_parses_each_message_kind() -> None:
    assert jsonrpc.parse(b'{"jsonrpc":"2.0","id":1,"method":"ping"}') == Request(1, "ping")
    assert jsonrpc.parse('{"jsonrpc":"2.0","method":"n","params":{"a":1}}') == Notification("n", {"a": 1})
    assert jsonrpc.parse(b'{"jsonrpc":"2.0","id":"x","result":{}}') == Result("x", {})
    err = jsonrpc.parse(b'{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"no"}}')
    assert err == ErrorResponse(2, ErrorObject(-32601, "no"))


@pytest.mark.parametrize(
    ("raw", "code", "fragment"),
    [
        (b"{not json", jsonrpc.PARSE_ERROR, "not valid JSON"),
        (b'"a string"', jsonrpc.INVALID_REQUEST, "JSON object"),
        (b'{"jsonrpc":"1.0","id":1,"method":"x"}', jsonrpc.INVALID_REQUEST, '"2.0"'),
        (b'{"jsonrpc":"2.0","id":null,"method":"x"}', jsonrpc.INVALID_REQUEST, "string or an integer"),
        (b'{"jsonrpc":"2.0","id":true,"method":"x"}', jsonrpc.INVALID_REQUEST, "string or an integer"),
        (b'{"jsonrpc":"2.0","id":1.5,"method":"x"}', jsonrpc.INVALID_REQUEST, "string or an integer"),
        (b'{"jsonrpc":"2.0","id":1,"method":7}', jsonrpc.INVALID_REQUEST, '"method" must be a string'),
        (b'{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}', jsonrpc.INVALID_REQUEST, "JSON object"),
        (b'{"jsonrpc":"2.0","id":1}', jsonrpc.INVALID_REQUEST, "needs"),
        (b'{"jsonrpc":"2.0","id":1,"result":5}', jsonrpc.INVALID_REQUEST, '"result" must be a JSON object'),
        (b'{"jsonrpc":"2.0","id":1,"error":{"code":"x"}}', jsonrpc.INVALID_REQUEST, '"error" must be'),
        # A call and a response at once (found by fuzzing: it was handled as a request).
        (b'{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}', jsonrpc.INVALID_REQUEST, "never both"),
        (b'{"jsonrpc":"2.0","method":"x","error":{"code":1,"message":"m"}}', jsonrpc.INVALID_REQUEST, "both"),
    ],
)
def test_rejects_invalid_messages_with_a_message_that_says_why(raw: bytes, code: int, fragment: str) -> None:
    with pytest.raises(InvalidMessage) as info:
        jsonrpc.parse(raw)
    assert info.value.code == code
    assert fragment in info.value.message


def test_invalid_message_keeps_a_readable_id_for_the_reply() -> None:
    with pytest.raises(InvalidMessage) as info:
        jsonrpc.parse(b'{"jsonrpc":"2.0","id":7,"method":"x","params":"bad"}')
    reply = info.value.to_response()
    assert reply.id == 7 and reply.error.code == jsonrpc.INVALID_REQUEST


def test_batches_only_when_allowed() -> None:
    batch = b'[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"b"}]'
    with pytest.raises(InvalidMessage) as info:
        jsonrpc.parse(batch)
    assert "2025-03-26" in info.value.message
    assert jsonrpc.parse(batch, allow_batch=True) == [Request(1, "a"), Notification("b")]
    with pytest.raises(InvalidMessage):
        jsonrpc.parse(b"[]", allow_batch=True)


def test_constructors_refuse_invalid_ids() -> None:
    with pytest.raises(ValueError):
        Request(None, "x")  # type: ignore[arg-type]  # deliberately the wrong type
    with pytest.raises(ValueError):
        Result(True, {})


def test_dump_is_one_compact_line() -> None:
    data = jsonrpc.dump(Request(1, "tools/call", {"text": "two\nlines"}))
    assert b"\n" not in data
    assert data == b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"text":"two\\nlines"}}'
    assert jsonrpc.parse(data) == Request(1, "tools/call", {"text": "two\nlines"})
    assert jsonrpc.dump(ErrorResponse(None, ErrorObject(-32700, "bad"))) == (
        b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}'
    )


# -- hostile input: nesting depth, bounded quotes, batch rules -----------------------------------


def nested_text(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def with_param(value: str) -> str:
    return '{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":' + value + "}}"


def test_nesting_deeper_than_the_bound_is_invalid_request() -> None:
    # The top-level object is level 1, params level 2, so the array may nest MAX - 2 levels.
    ok = with_param(nested_text(jsonrpc.MAX_JSON_DEPTH - 2))
    assert isinstance(jsonrpc.parse(ok), Request)
    for depth in (jsonrpc.MAX_JSON_DEPTH - 1, 300, 1000):
        deep = with_param(nested_text(depth))
        with pytest.raises(InvalidMessage) as info:
            jsonrpc.parse(deep)
        assert info.value.code == jsonrpc.INVALID_REQUEST
        assert str(jsonrpc.MAX_JSON_DEPTH) in info.value.message


@pytest.mark.parametrize("data", ["[" * 129 + "]" * 129, b"[" * 129 + b"]" * 129])
def test_the_shortest_body_too_deep_is_caught(data: str | bytes) -> None:
    # 129 levels take 258 bytes: the length shortcut (at most twice the bound) must not skip it
    assert jsonrpc.MAX_JSON_DEPTH == 128
    with pytest.raises(InvalidMessage, match="deeper than 128"):
        jsonrpc.parse(data, allow_batch=True)
    assert isinstance(
        jsonrpc.parse('{"jsonrpc":"2.0","method":"m","params":{"a":' + "[" * 126 + "]" * 126 + "}}"),
        Notification,
    )


def test_an_invalid_id_is_described_not_echoed() -> None:
    with pytest.raises(InvalidMessage) as info:
        jsonrpc.parse('{"jsonrpc":"2.0","method":"m","id":' + nested_text(100) + "}")
    assert "an array of 1 item(s)" in info.value.message


def test_preview_and_bounded_stay_short() -> None:
    assert jsonrpc.preview("tool") == '"tool"'
    long = jsonrpc.preview("x" * 10_000)
    assert long.endswith('..." (10000 characters)') and len(long) < 120
    assert jsonrpc.preview({"a": 1}) == "an object with 1 member(s)"
    assert jsonrpc.preview(10**50) == str(10**50) and jsonrpc.preview(10**500) == "a 501-digit number"
    assert jsonrpc.bounded("tool") == "tool" and jsonrpc.bounded(3) == 3
    assert jsonrpc.bounded([[1]]) == "an array of 1 item(s)"


def test_batch_with_a_duplicate_request_id_is_refused_whole() -> None:
    batch = '[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":1,"method":"b"}]'
    with pytest.raises(InvalidMessage, match="more than once") as info:
        jsonrpc.parse(batch, allow_batch=True)
    assert info.value.code == jsonrpc.INVALID_REQUEST and info.value.id is None
    # 1 and "1" are different ids; a response may share an id with a request (other direction).
    mixed = (
        '[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":"1","method":"b"},'
        '{"jsonrpc":"2.0","id":1,"result":{}}]'
    )
    parsed = jsonrpc.parse(mixed, allow_batch=True)
    assert isinstance(parsed, list) and len(parsed) == 3


def test_batch_with_initialize_is_refused() -> None:
    with pytest.raises(InvalidMessage, match="initialize"):
        jsonrpc.parse('[{"jsonrpc":"2.0","id":1,"method":"initialize"}]', allow_batch=True)


def test_a_response_that_cannot_be_serialized_becomes_an_internal_error() -> None:
    data = jsonrpc.dump(Result(1, {"value": object()}))
    message = "Internal error: the response could not be serialized as JSON"
    assert orjson.loads(data) == {"jsonrpc": "2.0", "id": 1, "error": {"code": -32603, "message": message}}
    with pytest.raises(TypeError):  # orjson.JSONEncodeError: the sender of a notification learns
        jsonrpc.dump(Notification("n", {"value": object()}))
