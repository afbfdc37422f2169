"""What a server may ask of its client: elicitation, sampling and roots
(2025-11-25 client/elicitation, client/sampling, client/roots; 2026-07-28 basic/patterns/mrtr).

The request shapes and the typed results live here; :class:`~.context.Context` sends them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["ElicitResult", "Root", "SamplingResult", "elicitation_schema", "sampling_messages"]

T = TypeVar("T")


def elicitation_schema(schema: type[BaseModel] | dict[str, Any]) -> dict[str, Any]:
    """The ``requestedSchema`` of a form elicitation.

    A dict is sent exactly as given. A pydantic model becomes the flat object schema the spec
    asks for: enum ``$ref``s inlined, ``Optional`` unwrapped, and the titles pydantic derives
    from field names dropped (an explicit ``Field(title=...)`` is kept). Defaults stay.
    """
    if isinstance(schema, dict):
        return schema
    raw = schema.model_json_schema()
    defs = raw.get("$defs", {})
    properties = {}
    for name, prop in raw.get("properties", {}).items():
        prop = _inline(prop, defs)
        if schema.model_fields[name].title is None:
            prop.pop("title", None)
        properties[name] = prop
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if raw.get("required"):
        out["required"] = raw["required"]
    return out


def _inline(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    prop = dict(prop)
    variants = prop.get("anyOf")
    if isinstance(variants, list):  # Optional[X] -> X: absence already means "not given"
        non_null = [v for v in variants if v != {"type": "null"}]
        if len(non_null) == 1:
            del prop["anyOf"]
            prop = {**non_null[0], **prop}
    ref = prop.pop("$ref", None)
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = {k: v for k, v in defs[ref.removeprefix("#/$defs/")].items() if k != "title"}
        prop = {**target, **prop}
    if isinstance(prop.get("items"), dict):
        prop["items"] = _inline(prop["items"], defs)
        prop["items"].pop("title", None)
    return prop


@dataclass(slots=True)
class ElicitResult(Generic[T]):
    """The user's answer to an elicitation.

    ``action`` is "accept", "decline" or "cancel". On accept, ``content`` is what the user
    entered and ``data`` the same validated into the pydantic model the form was built from
    (or ``content`` itself for a dict schema and URL mode).
    """

    action: Literal["accept", "decline", "cancel"]
    content: dict[str, Any] | None = None
    data: T | None = None

    @property
    def accepted(self) -> bool:
        return self.action == "accept"

    @classmethod
    def from_wire(cls, result: dict[str, Any], schema: Any = None) -> ElicitResult[Any]:
        action = result.get("action")
        if action not in ("accept", "decline", "cancel"):
            raise ValueError(f"the client answered the elicitation with an unknown action {action!r}")
        content = result.get("content") if action == "accept" else None
        data: Any = content
        if content is not None and isinstance(schema, type) and issubclass(schema, BaseModel):
            try:
                data = schema.model_validate(content)
            except ValidationError as exc:
                raise ValueError(f"the client's elicitation answer does not match the form: {exc}") from None
        return cls(action, content, data)


def sampling_messages(messages: str | list[Any]) -> list[dict[str, Any]]:
    """``sampling/createMessage`` messages: a string is one user text message; dicts with a
    role pass through."""
    if isinstance(messages, str):
        return [{"role": "user", "content": {"type": "text", "text": messages}}]
    return list(messages)


@dataclass(slots=True)
class SamplingResult:
    """What the client's model answered (``CreateMessageResult``)."""

    role: str
    content: Any  # one content block, or a list of them (2025-11-25 tool use)
    model: str
    stop_reason: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The text of the answer (text blocks joined), "" if it has none."""
        blocks = self.content if isinstance(self.content, list) else [self.content]
        return "".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")

    @classmethod
    def from_wire(cls, result: dict[str, Any]) -> SamplingResult:
        return cls(
            role=str(result.get("role", "assistant")),
            content=result.get("content"),
            model=str(result.get("model", "")),
            stop_reason=result.get("stopReason"),
            raw=result,
        )


@dataclass(frozen=True, slots=True)
class Root:
    """A directory or file the client lets the server work in (``roots/list``)."""

    uri: str
    name: str | None = None

    @classmethod
    def from_wire(cls, item: dict[str, Any]) -> Root:
        return cls(str(item.get("uri", "")), item.get("name"))
