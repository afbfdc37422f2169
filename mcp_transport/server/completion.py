"""Argument completion (2025-11-25 server/utilities/completion): suggestions for a prompt's
arguments and a resource template's variables, as the user types.

A completer is a function ``(value) -> list[str]`` or ``(value, context) -> list[str]``,
sync or async, where ``context`` holds the arguments already filled in.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..errors import InvalidParams

__all__ = ["MAX_COMPLETION_VALUES", "Completers", "completion_result", "parse_reference"]

# The spec caps one completion result at 100 values; the rest is announced by total/hasMore.
MAX_COMPLETION_VALUES = 100

Completer = Callable[..., Any]


class Completers:
    """Completers keyed by reference (``ref/prompt`` name or ``ref/resource`` template) and
    argument name."""

    __slots__ = ("_by_key",)

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str, str], Completer] = {}

    def __bool__(self) -> bool:
        return bool(self._by_key)

    def add(self, ref_type: str, ref: str, argument: str, fn: Completer) -> None:
        self._by_key[(ref_type, ref, argument)] = fn

    async def complete(
        self, ref_type: str, ref: str, argument: str, value: str, context: dict[str, str]
    ) -> list[str]:
        fn = self._by_key.get((ref_type, ref, argument))
        if fn is None:
            return []  # nothing to suggest is a valid answer
        takes_context = len(inspect.signature(fn).parameters) >= 2
        values = fn(value, context) if takes_context else fn(value)
        if inspect.isawaitable(values):
            values = await values
        return [str(v) for v in values]


def parse_reference(params: dict[str, Any]) -> tuple[str, str, str, str, dict[str, str]]:
    """(ref type, prompt name or template, argument name, typed value, context arguments)
    from ``completion/complete`` params; malformed params are -32602."""
    ref = params.get("ref")
    argument = params.get("argument")
    if not isinstance(ref, dict) or ref.get("type") not in ("ref/prompt", "ref/resource"):
        raise InvalidParams('completion/complete needs params.ref of type "ref/prompt" or "ref/resource"')
    key = "name" if ref["type"] == "ref/prompt" else "uri"
    if not isinstance(ref.get(key), str):
        raise InvalidParams(f"completion/complete params.ref.{key} must be a string")
    if not isinstance(argument, dict) or not isinstance(argument.get("name"), str):
        raise InvalidParams("completion/complete needs params.argument {name, value}")
    value = argument.get("value", "")
    context = (params.get("context") or {}).get("arguments") or {}
    if not isinstance(value, str) or not isinstance(context, dict):
        raise InvalidParams("completion/complete: argument.value and context.arguments must be strings")
    return ref["type"], ref[key], argument["name"], value, context


def completion_result(values: list[str]) -> dict[str, Any]:
    page = values[:MAX_COMPLETION_VALUES]
    return {"completion": {"values": page, "total": len(values), "hasMore": len(values) > len(page)}}
