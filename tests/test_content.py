"""Return values -> content blocks (tool results, prompt messages, resource contents)."""

from __future__ import annotations

import base64

from pydantic import BaseModel

from mcp_transport.server import Audio, EmbeddedResource, Image, PromptMessage, ResourceLink, Text
from mcp_transport.server.content import to_content
from mcp_transport.server.prompts import to_messages
from mcp_transport.server.resources import to_contents

PNG = b"\x89PNG\r\n\x1a\n"
B64 = base64.b64encode(PNG).decode()


def test_text_and_none() -> None:
    assert to_content("hi") == [{"type": "text", "text": "hi"}]
    assert to_content(None) == []
    assert to_content(Text("x", {"audience": ["user"]})) == [
        {"type": "text", "text": "x", "annotations": {"audience": ["user"]}}
    ]


def test_media_blocks_are_base64() -> None:
    assert to_content(Image(PNG)) == [{"type": "image", "data": B64, "mimeType": "image/png"}]
    assert to_content(Image(B64, "image/gif")) == [{"type": "image", "data": B64, "mimeType": "image/gif"}]
    assert to_content(Audio(b"RIFF")) == [
        {"type": "audio", "data": base64.b64encode(b"RIFF").decode(), "mimeType": "audio/wav"}
    ]


def test_resource_blocks() -> None:
    assert to_content(EmbeddedResource("a://b", text="t", mime_type="text/plain")) == [
        {"type": "resource", "resource": {"uri": "a://b", "mimeType": "text/plain", "text": "t"}}
    ]
    assert to_content(EmbeddedResource("a://b", blob=PNG)) == [
        {"type": "resource", "resource": {"uri": "a://b", "blob": B64}}
    ]
    link = ResourceLink("file:///x", "x", description="d", mime_type="text/plain", extra={"size": 3})
    assert to_content(link) == [
        {
            "type": "resource_link",
            "uri": "file:///x",
            "name": "x",
            "size": 3,
            "description": "d",
            "mimeType": "text/plain",
        }
    ]


def test_lists_mix_blocks_in_order() -> None:
    blocks = to_content(["a", Image(PNG), {"type": "text", "text": "raw"}])
    assert [b["type"] for b in blocks] == ["text", "image", "text"]


def test_other_values_become_json_text() -> None:
    class Point(BaseModel):
        x: int

    assert to_content({"a": 1}) == [{"type": "text", "text": '{"a":1}'}]
    assert to_content([1, 2]) == [{"type": "text", "text": "[1,2]"}]
    assert to_content(Point(x=1)) == [{"type": "text", "text": '{"x":1}'}]
    assert to_content(3.5) == [{"type": "text", "text": "3.5"}]


def test_prompt_messages() -> None:
    assert to_messages("hi") == [{"role": "user", "content": {"type": "text", "text": "hi"}}]
    messages = to_messages([Image(PNG), PromptMessage("assistant", "ok"), {"role": "user", "content": "q"}])
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[0]["content"]["type"] == "image"
    assert messages[2]["content"] == {"type": "text", "text": "q"}


def test_resource_contents() -> None:
    assert to_contents("t", "a://b", "text/plain") == [
        {"uri": "a://b", "mimeType": "text/plain", "text": "t"}
    ]
    assert to_contents(PNG, "a://b", None) == [{"uri": "a://b", "blob": B64}]
    assert to_contents({"k": 1}, "a://b", None) == [
        {"uri": "a://b", "mimeType": "application/json", "text": '{"k":1}'}
    ]
    assert to_contents(["x", {"uri": "a://b/c", "text": "y"}], "a://b", None) == [
        {"uri": "a://b", "text": "x"},
        {"uri": "a://b/c", "text": "y"},
    ]
    assert to_contents(EmbeddedResource("a://o", text="e", mime_type="text/x"), "a://b", None) == [
        {"uri": "a://o", "mimeType": "text/x", "text": "e"}
    ]
