"""The public surface: exports, Client construction and misuse errors."""

from __future__ import annotations

import types

import pytest

import mcp_transport
from mcp_transport import Client, UsageError
from mcp_transport.client import apply_schema_defaults


def test_all_is_exact_and_sorted() -> None:
    public = {
        name
        for name in dir(mcp_transport)
        if not name.startswith("_") and not isinstance(getattr(mcp_transport, name), types.ModuleType)
    }
    assert mcp_transport.__all__ == sorted(mcp_transport.__all__)
    assert set(mcp_transport.__all__) == public


def test_target_kinds() -> None:
    from mcp_transport.transports.http_client.streamable import HTTPTransport
    from mcp_transport.transports.stdio import StdioProcess

    assert isinstance(Client("http://127.0.0.1:1/mcp").transport, HTTPTransport)
    assert isinstance(Client(["python", "-m", "x"]).transport, StdioProcess)
    with pytest.raises(ValueError):
        Client("python -m x")
    with pytest.raises(TypeError):
        Client(42)  # type: ignore[arg-type]  # deliberately the wrong type
    with pytest.raises(ValueError):
        Client(["x"], era="both")
    assert Client(["x"]).mode == "auto"
    assert Client(["x"], protocol_version="2025-06-18").mode == "legacy"
    assert Client(["x"], protocol_version="2026-07-28").mode == "modern"
    with pytest.raises(ValueError):
        Client(["x"], era="modern", protocol_version="2025-11-25")


@pytest.mark.anyio
async def test_use_before_open_is_a_usage_error() -> None:
    client = Client(["python"])
    with pytest.raises(UsageError, match="unopened"):
        await client.list_tools()


def test_capabilities_follow_the_handlers() -> None:
    async def handler(params: dict) -> dict:
        return {}

    client = Client(
        ["x"], sampling_handler=handler, elicitation_handler=handler, roots=[{"uri": "file:///tmp"}]
    )
    assert client.capabilities == {
        "roots": {"listChanged": True},
        "sampling": {},
        "elicitation": {"form": {}},
    }
    assert {"ping", "sampling/createMessage", "elicitation/create", "roots/list"} <= set(
        client.methods.names()
    )
    assert Client(["x"]).capabilities == {}


def test_schema_defaults_fill_an_accepted_answer() -> None:
    params = {
        "message": "m",
        "requestedSchema": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "default": "John"},
                "age": {"type": "integer", "default": 30},
                "given": {"type": "string", "default": "x"},
                "plain": {"type": "string"},
            },
        },
    }
    out = apply_schema_defaults(params, {"action": "accept", "content": {"given": "mine"}})
    assert out["content"] == {"name": "John", "age": 30, "given": "mine"}
    assert apply_schema_defaults(params, {"action": "decline"}) == {"action": "decline"}
