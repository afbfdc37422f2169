"""``mcp-transport tools|resources|prompts|call|read|prompt``: talk to any MCP server.

Exit status: 0 ok; 1 the tool answered ``isError: true``; 2 usage (a malformed URL
included); 3 a protocol or transport error (refused, HTTP 4xx/5xx, a JSON-RPC error, a
timeout); 130 interrupted (Ctrl-C sends ``notifications/cancelled`` for the call in flight
first, 2025-11-25 basic/utilities/cancellation). Every failure prints one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any

from ._target import Usage, parse_args_json, parse_headers, parse_pairs, parse_url, split_command

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_TOOL_ERROR", "EXIT_USAGE", "Invocation", "add_client_commands"]

EXIT_OK, EXIT_TOOL_ERROR, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3

_TARGET = "(URL | --stdio CMD)"
# name -> (help, the positionals after the target, their description)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "tools": ("list the server's tools", "", ""),
    "resources": ("list the server's resources and resource templates", "", ""),
    "prompts": ("list the server's prompts", "", ""),
    "call": (
        "call a tool",
        "TOOL [key=value ...]",
        "key=value: a tool argument, the value parsed as JSON when it parses (a=1 is a number, "
        "a=x a string); --args gives them all at once",
    ),
    "read": ("read a resource", "URI", ""),
    "prompt": ("get a prompt", "NAME [key=value ...]", "key=value: a prompt argument (always a string)"),
}


def _options(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument(
        "words",
        nargs="*",
        metavar="ARG",
        help="the server's URL (unless --stdio), then " + (_COMMANDS[name][1] or "nothing"),
    )
    parser.add_argument(
        "--stdio",
        metavar="CMD",
        help="run the server as a subprocess and talk over stdio; CMD is split like a shell "
        'would (shlex), e.g. --stdio "python -m servers.everything --stdio"',
    )
    parser.add_argument(
        "--era",
        choices=("auto", "legacy", "modern"),
        default="auto",
        help="protocol era: auto probes with the 2026-07-28 server/discover and falls back to "
        "initialize (default); legacy always sends initialize (2025 sessions); modern "
        "always speaks the stateless 2026-07-28 protocol",
    )
    parser.add_argument(
        "--header",
        action="append",
        metavar="NAME=VALUE",
        help="an HTTP header on every request, e.g. --header 'Authorization=Bearer x' "
        "(repeatable; URL targets only)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long one request may wait for its answer; progress extends it (default 60)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document: the result as the server sent it (for call: content, "
        "structuredContent, isError; for the lists: every page merged)",
    )
    parser.add_argument(
        "--no-input",
        action="store_true",
        help="never ask on the terminal: decline the server's elicitation requests",
    )
    if name == "call":
        parser.add_argument(
            "--args",
            metavar="JSON",
            help="all the tool arguments as one JSON object, "
            "e.g. --args '{\"a\": 1}' (key=value words override)",
        )
    if name in ("tools", "prompts"):
        parser.add_argument("--schemas", action="store_true", help="show each input schema / argument list")


def add_client_commands(commands: Any) -> dict[str, argparse.ArgumentParser]:
    parsers: dict[str, argparse.ArgumentParser] = {}
    for name, (summary, rest, detail) in _COMMANDS.items():
        usage = f"mcp-transport {name} {_TARGET} {rest} [options]".replace("  ", " ")
        parser = commands.add_parser(
            name, help=summary, usage=usage, description=summary + ".", epilog=detail or None
        )
        parser.prog = f"mcp-transport {name}"
        _options(parser, name)
        parser.set_defaults(run=_run, command=name)
        parsers[name] = parser
    return parsers


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


def _run(args: argparse.Namespace) -> int:
    try:
        invocation = Invocation.from_args(args)
    except Usage as exc:
        print(f"mcp-transport {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.timeout <= 0:
        print(f"mcp-transport {args.command}: error: --timeout must be positive", file=sys.stderr)
        return EXIT_USAGE
    from ._session import run_session  # the client stack, imported only now

    return run_session(invocation)
