"""One validated client command (:class:`Invocation`) and the exit statuses, shared by the
argument parser (:mod:`._commands`) and the client session that runs it (:mod:`._session`)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from ._target import Usage, parse_args_json, parse_headers, parse_pairs, parse_url, split_command

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_TOOL_ERROR", "EXIT_USAGE", "Invocation"]

EXIT_OK, EXIT_TOOL_ERROR, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3


@dataclass
class Invocation:
    """One command, validated: what to connect to and what to ask."""

    command: str
    target: str | list[str]
    words: list[str]
    era: str = "auto"
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 60.0
    json: bool = False
    no_input: bool = False
    schemas: bool = False
    arguments: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Invocation:
        words = list(args.words)
        if args.stdio is not None:  # then no word is the server (a resource URI may be a URL)
            target: str | list[str] = split_command(args.stdio)
        elif not words:
            raise Usage("which server? give its URL, or --stdio CMD")
        else:
            target = parse_url(words.pop(0))
        headers = parse_headers(args.header)
        if headers and args.stdio is not None:
            raise Usage("--header applies to a URL target, not to --stdio")
        inv = cls(
            args.command,
            target,
            words,
            args.era,
            headers,
            args.timeout,
            args.json,
            args.no_input,
            getattr(args, "schemas", False),
        )
        inv._check_words(getattr(args, "args", None))
        return inv

    def _check_words(self, args_json: str | None) -> None:
        need = {"call": "a tool name", "read": "a resource URI", "prompt": "a prompt name"}.get(self.command)
        if need is None:
            if self.words:
                raise Usage(f"unexpected {self.words[0]!r}: {self.command} takes only the server")
            return
        if not self.words:
            raise Usage(f"{self.command} needs {need}")
        if self.command == "read" and len(self.words) > 1:
            raise Usage(f"unexpected {self.words[1]!r}: read takes one URI")
        if self.command == "call":
            self.arguments = {**parse_args_json(args_json), **parse_pairs(self.words[1:])}
        elif self.command == "prompt":
            self.arguments = parse_pairs(self.words[1:], as_json=False)
