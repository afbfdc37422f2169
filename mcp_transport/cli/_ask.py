"""The server's elicitation requests, asked on the terminal (2025-11-25 client/elicitation).

Questions go to stderr and answers come from stdin, one line per field; an empty line keeps
the field's default (or leaves an optional field out). ``--no-input`` declines every request
without asking, and end of input cancels it, so a script never hangs on a question.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import anyio

__all__ = ["TerminalForm"]


class TerminalForm:
    def __init__(self, *, no_input: bool, before_prompt: Callable[[], None]) -> None:
        self.no_input = no_input
        self.before_prompt = before_prompt
        self._lock = anyio.Lock()  # one question at a time on the one terminal

    async def answer(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.no_input:
            return {"action": "decline"}
        async with self._lock:
            self.before_prompt()
            _say(f"\nThe server asks: {params.get('message', '')}")
            if params.get("mode") == "url":
                return await self._url(params)
            return await self._form(params.get("requestedSchema") or {})

    async def _url(self, params: dict[str, Any]) -> dict[str, Any]:
        _say(f"Open {params.get('url')} in a browser.")
        line = await _read("Done? [y/N] ")
        if line is None:
            return {"action": "cancel"}
        return {"action": "accept" if line.strip().lower() in ("y", "yes") else "decline"}

    async def _form(self, schema: dict[str, Any]) -> dict[str, Any]:
        required = set(schema.get("required") or [])
        content: dict[str, Any] = {}
        for name, field in (schema.get("properties") or {}).items():
            while True:
                line = await _read(_question(name, field, name in required))
                if line is None:
                    return {"action": "cancel"}
                ok, value = _convert(line.strip(), field, name in required)
                if ok:
                    break
                _say(f"  {value}")
            if value is not None:
                content[name] = value
        return {"action": "accept", "content": content}


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def _read(question: str) -> str | None:
    """One line from stdin (None at end of input); the blocking read runs in a thread that
    Ctrl-C abandons."""
    print(question, end="", file=sys.stderr, flush=True)
    line = await anyio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
    return line if line else None


def _question(name: str, field: dict[str, Any], required: bool) -> str:
    label = field.get("title") or name
    hints = [field["description"]] if field.get("description") else []
    choices = field.get("enum") or [c.get("const") for c in field.get("oneOf") or [] if isinstance(c, dict)]
    if choices:
        hints.append("one of: " + ", ".join(map(str, choices)))
    elif field.get("type") == "boolean":
        hints.append("y/n")
    if "default" in field:
        hints.append(f"default {json.dumps(field['default'])}")
    elif not required:
        hints.append("optional")
    return f"  {label}{' (' + '; '.join(hints) + ')' if hints else ''}: "


def _convert(text: str, field: dict[str, Any], required: bool) -> tuple[bool, Any]:
    """``(True, value)`` or ``(False, why)``; an empty answer is the default or nothing."""
    if not text:
        if "default" in field:
            return True, field["default"]
        return (False, "an answer is required") if required else (True, None)
    kind = field.get("type")
    try:
        if kind == "boolean":
            if text.lower() not in ("y", "yes", "true", "n", "no", "false"):
                return False, "answer y or n"
            return True, text.lower() in ("y", "yes", "true")
        if kind == "integer":
            return True, int(text)
        if kind == "number":
            return True, float(text)
    except ValueError:
        return False, f"give a {kind}"
    if kind == "array":
        return True, [part.strip() for part in text.split(",") if part.strip()]
    return True, text
