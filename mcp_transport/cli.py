"""The ``mcp-transport`` command.

    mcp-transport serve servers.everything:server --port 8000    # HTTP on 127.0.0.1:8000/mcp
    mcp-transport serve servers.everything:server --stdio        # stdin/stdout
    mcp-transport conformance server http://127.0.0.1:8000/mcp   # test any MCP server
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any, NoReturn

__all__ = ["main"]

EXIT_SIGPIPE = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader went away


def _load(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise SystemExit(f"error: {target!r} is not of the form module:attribute (e.g. servers.everything:server)")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemExit(f"error: cannot import {module_name!r}: {exc}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise SystemExit(f"error: {module_name!r} has no attribute {attr!r}") from None


def _serve(args: argparse.Namespace) -> None:
    if "" not in sys.path:
        sys.path.insert(0, "")  # the user's module:attribute resolves from the working directory
    server = _load(args.target)
    if args.stdio:
        server.run_stdio()
        return
    from .transports.http import run_http

    run_http(server, host=args.host, port=args.port)


def _add_conformance(commands: Any) -> None:
    """The ``conformance`` subcommand comes from the ``conformance`` package, installed with this
    one (pyproject ``packages.find``). Without it the subcommand says so; the import is never
    redirected with ``sys.path`` edits."""
    try:
        from conformance.cli import add_parser
    except ImportError as exc:
        why = (f"error: mcp-transport conformance needs the 'conformance' package, installed with "
               f"mcp_transport ({exc})")  # bound now: ``exc`` is gone once the except block ends
        missing = commands.add_parser("conformance",
                                      help="(unavailable: the conformance package is not installed)")
        missing.add_argument("rest", nargs=argparse.REMAINDER)  # whatever follows, the answer is the same
        missing.set_defaults(run=lambda args: sys.exit(why))
        return
    add_parser(commands)


def _stdout_closed() -> NoReturn:
    """The reader of our stdout went away (``mcp-transport conformance list | head``): exit as a
    process killed by SIGPIPE would, without a traceback. stdout now points at /dev/null so the
    interpreter's final flush does not complain about the closed pipe again."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise SystemExit(EXIT_SIGPIPE)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mcp-transport", description="MCP over Streamable HTTP and stdio.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve an MCPServer over HTTP or stdio")
    serve.add_argument("target", help="module:attribute of an MCPServer, e.g. servers.everything:server")
    serve.add_argument("--stdio", action="store_true", help="serve on stdin/stdout instead of HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    serve.set_defaults(run=_serve)
    _add_conformance(commands)
    args = parser.parse_args(argv)
    try:
        args.run(args)
        sys.stdout.flush()  # a closed pipe shows up here at the latest, not in the exit-time flush
    except BrokenPipeError:
        _stdout_closed()
