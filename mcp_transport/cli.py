"""The ``mcp-transport`` command.

    mcp-transport serve servers.everything:server --port 8000    # HTTP on 127.0.0.1:8000/mcp
    mcp-transport serve servers.everything:server --stdio        # stdin/stdout
    mcp-transport conformance server http://127.0.0.1:8000/mcp   # test any MCP server
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

__all__ = ["main"]


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
    server = _load(args.target)
    if args.stdio:
        server.run_stdio()
        return
    from .transports.http import run_http

    run_http(server, host=args.host, port=args.port)


def _add_conformance(commands: Any) -> None:
    """The ``conformance`` subcommand lives in the top-level ``conformance`` package (next to this
    one in a source checkout)."""
    try:
        from conformance.cli import add_parser
    except ImportError:
        import os

        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        try:
            from conformance.cli import add_parser
        except ImportError as exc:
            missing = commands.add_parser("conformance", help="(unavailable: the conformance package is not installed)")
            missing.set_defaults(run=lambda args: sys.exit(f"error: mcp-transport conformance needs the 'conformance' "
                                                          f"package from the source tree ({exc})"))
            return
    add_parser(commands)


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
    if "" not in sys.path:
        sys.path.insert(0, "")  # so module:attribute resolves from the working directory
    args.run(args)
