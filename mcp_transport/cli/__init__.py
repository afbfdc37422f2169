"""The ``mcp-transport`` command.

    mcp-transport serve servers.everything:server --port 8000    # HTTP on 127.0.0.1:8000/mcp
    mcp-transport serve servers.everything:server --stdio        # stdin/stdout
    mcp-transport tools http://127.0.0.1:8000/mcp                # talk to any MCP server
    mcp-transport call --stdio "python -m servers.everything --stdio" add a=1 b=2
    mcp-transport proxy --stdio "npx -y @acme/mcp-server" --port 8001   # stdio -> HTTP gateway
    mcp-transport conformance server http://127.0.0.1:8000/mcp   # test any MCP server
    mcp-transport record --stdio "python server.py" -o run.ndjson  # record, then replay:
    mcp-transport replay run.ndjson --against-stdio "python server.py"

Startup stays cheap: this module and the parsers import only argparse; each command imports
what it needs when it runs (``--help`` answers in a few tens of milliseconds).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import NoReturn

from . import _commands, _proxy, _record, _replay, _serve

__all__ = ["EXIT_INTERRUPTED", "EXIT_SIGPIPE", "main"]

EXIT_SIGPIPE = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader went away
EXIT_INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for a Ctrl-C


def _version() -> str:
    from .. import __version__

    return f"mcp-transport {__version__}"


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser, and the parsers of the commands that mix options and positionals."""
    parser = argparse.ArgumentParser(prog="mcp-transport", description="MCP over Streamable HTTP and stdio.")
    parser.add_argument("--version", action="version", version=_version(), help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _serve.add_serve(commands)
    intermixed = _commands.add_client_commands(commands)
    _proxy.add_proxy(commands)
    _record.add_record(commands)
    _replay.add_replay(commands)
    _serve.add_conformance(commands)
    return parser, intermixed


def _stdout_closed() -> NoReturn:
    """The reader of our stdout went away (``mcp-transport conformance list | head``): exit as a
    process killed by SIGPIPE would, without a traceback. stdout now points at /dev/null so the
    interpreter's final flush does not complain about the closed pipe again."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise SystemExit(EXIT_SIGPIPE)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser, intermixed = build_parser()
    # ``call URL TOOL --json a=1``: key=value pairs may come after options, which a subparser
    # cannot do (argparse refuses intermixed parsing with subcommands), so these commands'
    # own parsers read everything after the command name.
    if argv and argv[0] in intermixed:
        return intermixed[argv[0]].parse_intermixed_args(argv[1:])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = _parse(argv)
        code = args.run(args)
        sys.stdout.flush()  # a closed pipe shows up here at the latest, not in the exit-time flush
    except BrokenPipeError:
        _stdout_closed()
    except KeyboardInterrupt:  # Ctrl-C before a command installed its own handler
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        raise SystemExit(EXIT_INTERRUPTED) from None
    if code:
        raise SystemExit(code)
