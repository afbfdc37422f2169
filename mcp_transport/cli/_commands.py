"""``mcp-transport tools|resources|prompts|call|read|prompt``: talk to any MCP server.

Exit status: 0 ok; 1 the tool answered ``isError: true``; 2 usage (a malformed URL
included); 3 a protocol or transport error (refused, HTTP 4xx/5xx, a JSON-RPC error, a
timeout); 130 interrupted (Ctrl-C sends ``notifications/cancelled`` for the call in flight
first, 2025-11-25 basic/utilities/cancellation). Every failure prints one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._invocation import EXIT_ERROR, EXIT_OK, EXIT_TOOL_ERROR, EXIT_USAGE, Invocation
from ._target import Usage

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_TOOL_ERROR", "EXIT_USAGE", "Invocation", "add_client_commands"]


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
