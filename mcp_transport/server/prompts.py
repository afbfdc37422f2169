"""Prompts (2025-11-25 server/prompts): templates of messages with named string arguments.

A prompt is a function whose parameters are the prompt's arguments (required unless they
have a default; ``Annotated[str, Field(description=...)]`` documents them) and whose return
value is the messages: a string, a content block, a :class:`PromptMessage`, or a list of
them. Strings and bare content blocks become ``user`` messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from ..errors import InvalidParams
from .content import Content, to_content
from .schema import ArgumentsModel, validation_message

__all__ = ["Prompt", "PromptMessage", "to_messages"]


@dataclass(slots=True)
class PromptMessage:
    """One message of a prompt: a role and one content block (str means text)."""

    role: Literal["user", "assistant"]
    content: str | Content | dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        blocks = to_content(self.content)
        if len(blocks) != 1:
            raise TypeError(f"a prompt message holds exactly one content block, got {len(blocks)}")
        return {"role": self.role, "content": blocks[0]}


@dataclass(slots=True)
class Prompt:
    """A registered prompt: its wire description and how to render it."""

    name: str
    fn: Callable[..., Any]
    description: str
    arguments: ArgumentsModel
    title: str | None = None
    icons: list[dict[str, Any]] | None = None
    meta: dict[str, Any] | None = None

    def argument_list(self) -> list[dict[str, Any]]:
        schema = self.arguments.schema
        required = set(schema.get("required", ()))
        out = []
        for name, prop in schema.get("properties", {}).items():
            arg: dict[str, Any] = {"name": name, "required": name in required}
            if isinstance(prop, dict) and prop.get("description"):
                arg["description"] = prop["description"]
            out.append(arg)
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        args = self.argument_list()
        if args:
            out["arguments"] = args
        for key, value in (("title", self.title), ("icons", self.icons), ("_meta", self.meta)):
            if value is not None:
                out[key] = value
        return out

    def bind(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Validated keyword arguments; a missing required argument or a bad value is a
        protocol error (-32602), unlike a tool's (2025-11-25 server/prompts#error-handling)."""
        missing = [a["name"] for a in self.argument_list() if a["required"] and a["name"] not in arguments]
        if missing:
            raise InvalidParams(
                f"Prompt {self.name!r} needs the argument(s): {', '.join(missing)}", {"missing": missing}
            )
        try:
            return self.arguments.validate(arguments)
        except ValidationError as exc:
            raise InvalidParams(f"Prompt {self.name!r}: {validation_message(exc)}") from None


def to_messages(value: Any) -> list[dict[str, Any]]:
    """Turn a prompt function's return value into ``GetPromptResult.messages``."""
    items = value if isinstance(value, (list, tuple)) else [value]
    messages = []
    for item in items:
        if isinstance(item, PromptMessage):
            messages.append(item.to_dict())
        elif isinstance(item, dict) and "role" in item:
            messages.append(PromptMessage(item["role"], item["content"]).to_dict())
        else:
            messages.append(PromptMessage("user", item).to_dict())
    return messages
