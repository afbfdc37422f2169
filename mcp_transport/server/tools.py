"""Tools (2025-11-25 server/tools): a registered function, its wire description, and how a call becomes
a ``CallToolResult``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from types import CoroutineType
from typing import Any

import orjson
from pydantic import ValidationError

from ..errors import RemoteError, RPCError
from ..mrtr import InputRequired
from .content import to_content
from .schema import ArgumentsModel, OutputSpec, validation_message

__all__ = ["Tool", "call_tool", "error_result"]


@dataclass(slots=True)
class Tool:
    """A registered tool: its wire description and how to call it."""

    name: str
    fn: Callable[..., Any]
    description: str
    arguments: ArgumentsModel | None  # None when the user gave a raw input schema
    input_schema: dict[str, Any]
    output: OutputSpec | None
    title: str | None = None
    annotations: dict[str, Any] | None = None
    icons: list[dict[str, Any]] | None = None
    meta: dict[str, Any] | None = None
    context_param: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Whether a call may run as a task ("optional"), must ("required") or never does
    # ("forbidden"), and when it becomes one: before the handler starts, or when the handler
    # calls ``ctx.detach()`` (2026-07-28 extension io.modelcontextprotocol/tasks).
    task: str = "forbidden"
    task_start: str = "immediately"
    # OAuth scopes a call needs (HTTP with auth): without them, 403 insufficient_scope (step-up).
    scopes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "inputSchema": self.input_schema,
        }
        for key, value in (
            ("title", self.title),
            ("annotations", self.annotations),
            ("icons", self.icons),
            ("_meta", self.meta),
        ):
            if value is not None:
                out[key] = value
        if self.output is not None:
            out["outputSchema"] = self.output.schema
        out.update(self.extra)
        return out


async def call_tool(tool: Tool, arguments: dict[str, Any], context: Callable[[], Any]) -> dict[str, Any]:
    """Call a tool and build its CallToolResult. ``context`` makes the tool's Context; it is
    called only for a tool that takes one (most calls need none, and it is built per call).

    Failures inside the tool, argument validation included, are results with ``isError`` so
    the model can correct itself (2025-11-25 tools page). Only protocol faults raised on
    purpose as an RPCError (a missing client capability, say) stay JSON-RPC errors, and an
    MRTR round that needs input (InputRequired) ends the call.
    """
    if tool.arguments is not None:
        try:
            kwargs = tool.arguments.validate(arguments)
        except ValidationError as exc:
            return error_result(validation_message(exc))
    else:
        kwargs = dict(arguments)
    if tool.context_param is not None:
        kwargs[tool.context_param] = context()
    try:
        value = tool.fn(**kwargs)
        if type(value) is CoroutineType or inspect.isawaitable(value):  # the first test: no call
            value = await value
    except InputRequired:
        raise  # the era gate turns it into resultType "input_required" (MRTR)
    except RPCError as exc:
        if not isinstance(exc, RemoteError):
            raise
        return error_result(f"The client answered with an error: {exc}")
    except Exception as exc:
        return error_result(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    return tool_result(tool, value)


def tool_result(tool: Tool, value: Any) -> dict[str, Any]:
    """A tool's return value as a CallToolResult. With an output schema the value is the
    ``structuredContent`` and, for older clients, also its JSON as text
    (2025-11-25 server/tools#structured-content)."""
    if isinstance(value, dict) and isinstance(value.get("content"), list):
        return value  # already a CallToolResult
    if tool.output is not None:
        structured = tool.output.structured(value)
        shown = structured["result"] if tool.output.wrapped else structured
        text = shown if isinstance(shown, str) else orjson.dumps(shown).decode()
        return {"content": [{"type": "text", "text": text}], "structuredContent": structured}
    return {"content": to_content(value)}


def error_result(message: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": message}], "isError": True}
