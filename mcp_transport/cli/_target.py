"""Turning command-line words into a Client target and tool arguments (no I/O, no imports
beyond the standard library: these run before ``--help`` could be slowed down).

Exact forms, which scripts rely on:

* TARGET is an http(s) URL, or the option ``--stdio "CMD"`` (CMD split as a POSIX shell
  would, with :func:`shlex.split`);
* tool arguments are ``key=value`` words, the value parsed as JSON when it parses and taken
  as a string otherwise, or one JSON object given whole with ``--args``.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Usage", "parse_args_json", "parse_headers", "parse_pairs", "parse_url", "split_command"]


class Usage(Exception):
    """The command line is wrong (exit status 2); the message says how."""


def parse_url(text: str) -> str:
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018  (raises ValueError on a port that is not a number in range)
    except ValueError as exc:
        raise Usage(f"malformed URL {text!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Usage(f"malformed URL {text!r}: give an http(s) URL such as http://127.0.0.1:8000/mcp")
    return text


def split_command(text: str) -> list[str]:
    try:
        words = shlex.split(text)
    except ValueError as exc:  # an unclosed quote
        raise Usage(f"--stdio {text!r}: {exc}") from None
    if not words:
        raise Usage('--stdio needs a command, e.g. --stdio "python server.py"')
    return words


def _value(text: str, as_json: bool) -> Any:
    if not as_json:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_pairs(words: Sequence[str], *, as_json: bool = True) -> dict[str, Any]:
    """``["a=1", "name=Ada"]`` -> ``{"a": 1, "name": "Ada"}`` (values as strings without
    ``as_json``: prompt arguments are strings on the wire)."""
    out: dict[str, Any] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise Usage(f"{word!r} is not a key=value pair")
        out[key] = _value(value, as_json)
    return out


def parse_args_json(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise Usage(f"--args is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise Usage("--args must be a JSON object, e.g. --args '{\"a\": 1}'")
    return value


def parse_headers(items: Sequence[str] | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise Usage(f"--header {item!r} is not of the form Name=value")
        headers[name.strip()] = value
    return headers
