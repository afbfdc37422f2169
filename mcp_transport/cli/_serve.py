"""``mcp-transport serve`` and ``mcp-transport conformance``."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

from ..auth.options import add_auth_arguments, auth_from_args

__all__ = ["add_conformance", "add_serve", "serve_http"]


def add_serve(commands: Any) -> None:
    serve = commands.add_parser("serve", help="serve an MCPServer over HTTP or stdio")
    serve.add_argument("target", help="module:attribute of an MCPServer, e.g. servers.everything:server")
    serve.add_argument("--stdio", action="store_true", help="serve on stdin/stdout instead of HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    serve.add_argument(
        "--status-page", action="store_true", help="serve the live status page at /mcp/status (HTTP)"
    )
    add_auth_arguments(serve)
    serve.set_defaults(run=_serve)


def serve_http(server: Any, host: str, port: int, *, status_page: bool = False) -> None:
    """Serve ``server`` at http://HOST:PORT/mcp until interrupted. The one place the command
    line reaches into the transports (the public API has no ``MCPServer.run_http``)."""
    from ..transports.http import run_http

    run_http(server, host=host, port=port, status_page=status_page)


def _load(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise SystemExit(
            f"error: {target!r} is not of the form module:attribute (e.g. servers.everything:server)"
        )
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
    try:
        auth = auth_from_args(args)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    if auth is not None:
        server.auth = auth
    if args.stdio:
        server.run_stdio()
        return
    serve_http(server, args.host, args.port, status_page=args.status_page)


def add_conformance(commands: Any) -> None:
    """The ``conformance`` subcommand comes from the ``conformance`` package, installed with this
    one (pyproject ``packages.find``). Without it the subcommand says so; the import is never
    redirected with ``sys.path`` edits."""
    try:
        from conformance.cli import add_parser
    except ImportError as exc:
        why = (
            f"error: mcp-transport conformance needs the 'conformance' package, installed with "
            f"mcp_transport ({exc})"
        )  # bound now: ``exc`` is gone once the except block ends
        missing = commands.add_parser(
            "conformance", help="(unavailable: the conformance package is not installed)"
        )
        missing.add_argument("rest", nargs=argparse.REMAINDER)  # whatever follows, the answer is the same
        missing.set_defaults(run=lambda args: sys.exit(why))
        return
    add_parser(commands)
