"""Content blocks (2025-11-25 server/tools#tool-result) and the conversion of handler return
values into them."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import BaseModel

__all__ = [
    "Audio",
    "Content",
    "EmbeddedResource",
    "Image",
    "ResourceLink",
    "Text",
    "is_content_type",
    "to_content",
]


class Content:
    """Base of the content block helpers; ``to_dict`` gives the wire form."""

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(slots=True)
class Text(Content):
    text: str
    annotations: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return _with_annotations({"type": "text", "text": self.text}, self.annotations)


@dataclass(slots=True)
class Image(Content):
    """An image; ``data`` is raw bytes (base64-encoded on the wire) or already base64 text."""

    data: bytes | str
    mime_type: str = "image/png"
    annotations: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return _with_annotations(
            {"type": "image", "data": _b64(self.data), "mimeType": self.mime_type}, self.annotations
        )


@dataclass(slots=True)
class Audio(Content):
    data: bytes | str
    mime_type: str = "audio/wav"
    annotations: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return _with_annotations(
            {"type": "audio", "data": _b64(self.data), "mimeType": self.mime_type}, self.annotations
        )


@dataclass(slots=True)
class EmbeddedResource(Content):
    """A resource's contents inside a result: ``text`` or ``blob`` (bytes)."""

    uri: str
    text: str | None = None
    blob: bytes | str | None = None
    mime_type: str | None = None
    annotations: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        resource: dict[str, Any] = {"uri": self.uri}
        if self.mime_type is not None:
            resource["mimeType"] = self.mime_type
        if self.blob is not None:
            resource["blob"] = _b64(self.blob)
        else:
            resource["text"] = self.text or ""
        return _with_annotations({"type": "resource", "resource": resource}, self.annotations)


@dataclass(slots=True)
class ResourceLink(Content):
    uri: str
    name: str
    description: str | None = None
    mime_type: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "resource_link", "uri": self.uri, "name": self.name, **self.extra}
        if self.description is not None:
            out["description"] = self.description
        if self.mime_type is not None:
            out["mimeType"] = self.mime_type
        return out


def _b64(data: bytes | str) -> str:
    return data if isinstance(data, str) else base64.b64encode(data).decode("ascii")


def _with_annotations(block: dict[str, Any], annotations: dict[str, Any] | None) -> dict[str, Any]:
    if annotations:
        block["annotations"] = annotations
    return block


def is_content_type(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, Content)


def to_content(value: Any) -> list[dict[str, Any]]:
    """Turn a handler's return value into a list of content blocks.

    str -> text; a Content helper or a dict with a "type" key -> that block; a list or tuple
    -> each item converted; None -> no content; anything else -> its JSON as text.
    """
    if value is None:
        return []
    if isinstance(value, (list, tuple)) and all(_is_block(v) for v in value):
        return [block for item in value for block in to_content(item)]
    if isinstance(value, str):
        return [{"type": "text", "text": value}]
    if isinstance(value, Content):
        return [value.to_dict()]
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return [value]
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return [{"type": "text", "text": orjson.dumps(value, default=_json_default).decode()}]


def _is_block(value: Any) -> bool:
    return isinstance(value, (str, Content)) or (
        isinstance(value, dict) and isinstance(value.get("type"), str)
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot serialize {type(value).__name__} as tool output")
