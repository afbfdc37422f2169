"""Modern-era request metadata headers: encoding, annotations, validation."""

import pytest
from starlette.datastructures import Headers

from mcp_transport.errors import HeaderMismatch
from mcp_transport.transports.http.headers import (
    decode_value,
    encode_value,
    header_params,
    invalid_header_annotations,
    request_headers,
    validate_request_headers,
)

META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}
SCHEMA = {
    "type": "object",
    "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"},
        "opts": {"type": "object", "properties": {"count": {"type": "integer", "x-mcp-header": "Count"}}},
        "text": {"type": "string"},
    },
}


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("us-west", "us-west"),
        (42, "42"),
        (True, "true"),
        ("héllo", "=?base64?aMOpbGxv?="),
        (" padded", "=?base64?IHBhZGRlZA==?="),
        ("=?base64?abc?=", "=?base64?PT9iYXNlNjQ/YWJjPz0=?="),
    ],
)
def test_encode_and_decode_round_trip(value: object, wire: str) -> None:
    assert encode_value(value) == wire
    assert decode_value(wire) == str(value).lower() if isinstance(value, bool) else str(value)


def test_decode_strips_optional_whitespace_and_rejects_bad_base64() -> None:
    assert decode_value("  test_simple_text \t") == "test_simple_text"
    with pytest.raises(ValueError):
        decode_value("=?base64?not*base64?=")
    with pytest.raises(ValueError):
        decode_value("caf\u00e9")


def test_header_params_only_through_properties() -> None:
    assert header_params(SCHEMA) == {"Region": ("region",), "Count": ("opts", "count")}


def test_invalid_annotations_are_reported() -> None:
    assert invalid_header_annotations(SCHEMA) == []
    bad = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "x-mcp-header": ""},
            "b": {"type": "number", "x-mcp-header": "B"},
            "c": {"type": "string", "x-mcp-header": "Dup"},
            "d": {"type": "string", "x-mcp-header": "dup"},
            "e": {"type": "array", "items": {"type": "string", "x-mcp-header": "E"}},
            "f": {"type": "string", "x-mcp-header": "has space"},
        },
    }
    problems = invalid_header_annotations(bad)
    assert len(problems) == 5, problems


def test_client_headers_mirror_the_body() -> None:
    params = {"name": "weather", "arguments": {"region": "eu", "opts": {"count": 3}}, "_meta": META}
    assert request_headers("tools/call", params, SCHEMA) == {
        "Mcp-Method": "tools/call",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Name": "weather",
        "Mcp-Param-Region": "eu",
        "Mcp-Param-Count": "3",
    }


def test_server_accepts_matching_headers_and_rejects_mismatches() -> None:
    params = {"name": "weather", "arguments": {"region": "eu", "opts": {"count": 3}}, "_meta": META}
    good = request_headers("tools/call", params, SCHEMA)
    validate_request_headers(Headers(good), "tools/call", params, SCHEMA)
    for header, value in [
        ("Mcp-Method", "tools/list"),
        ("Mcp-Name", "other"),
        ("MCP-Protocol-Version", "2025-11-25"),
        ("Mcp-Param-Region", "us"),
        ("Mcp-Param-Count", "=?base64?!!?="),
    ]:
        with pytest.raises(HeaderMismatch):
            validate_request_headers(Headers({**good, header: value}), "tools/call", params, SCHEMA)
    missing = {k: v for k, v in good.items() if k != "Mcp-Param-Region"}
    with pytest.raises(HeaderMismatch, match="Missing header Mcp-Param-Region"):
        validate_request_headers(Headers(missing), "tools/call", params, SCHEMA)
    # integers compare numerically
    validate_request_headers(Headers({**good, "Mcp-Param-Count": "3.0"}), "tools/call", params, SCHEMA)
    # a null argument needs no header
    no_region = {**params, "arguments": {"opts": {"count": 3}}}
    validate_request_headers(Headers(missing), "tools/call", no_region, SCHEMA)


def test_server_checks_the_version_of_the_envelope_it_parsed() -> None:
    """The modern leg hands over the envelope's version: it is what the header must mirror,
    whatever ``params._meta`` holds (the envelope is parsed once per request)."""
    params = {"name": "weather", "arguments": {"region": "eu", "opts": {"count": 3}}}
    good = request_headers("tools/call", {**params, "_meta": META}, SCHEMA)
    validate_request_headers(
        Headers(good), "tools/call", params, SCHEMA, protocol_version=good["MCP-Protocol-Version"]
    )
    with pytest.raises(HeaderMismatch, match="MCP-Protocol-Version"):
        validate_request_headers(Headers(good), "tools/call", params, SCHEMA, protocol_version="2099-01-01")
