"""jsonrpc: parsing, MCP's restrictions of JSON-RPC 2.0, serialization."""

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
        Request(None, "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Result(True, {})  # type: ignore[arg-type]


def test_dump_is_one_compact_line() -> None:
    data = jsonrpc.dump(Request(1, "tools/call", {"text": "two\nlines"}))
    assert b"\n" not in data
    assert data == b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"text":"two\\nlines"}}'
    assert jsonrpc.parse(data) == Request(1, "tools/call", {"text": "two\nlines"})
    assert jsonrpc.dump(ErrorResponse(None, ErrorObject(-32700, "bad"))) == (
        b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}'
    )
