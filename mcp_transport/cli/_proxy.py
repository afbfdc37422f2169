"""``mcp-transport proxy``: the gateway on the command line.

proxy --stdio CMD --port P [--host H] [--shared]   a stdio server served over HTTP
proxy URL [--header K=V] [--era E]                  a remote server served on stdin/stdout
proxy --config gateway.toml --port P [--host H]     several servers, names prefixed
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._target import Usage, parse_headers, parse_url, split_command

__all__ = ["add_proxy"]


def add_proxy(commands: Any) -> None:
    proxy = commands.add_parser(
        "proxy",
        help="a gateway: a stdio server on HTTP, a remote server on stdio, or several behind one endpoint",
        usage="mcp-transport proxy (URL | --stdio CMD --port P | --config FILE --port P) [options]",
        description="Serve MCP servers through one endpoint: --stdio and --config serve Streamable HTTP "
        "at http://HOST:PORT/mcp (both protocol eras); a URL is served on this process's stdin/stdout "
        "(for hosts that only start stdio servers). See docs/guides/gateway.md.",
    )
    proxy.add_argument("url", nargs="?", metavar="URL", help="a remote MCP endpoint to serve on stdin/stdout")
    proxy.add_argument(
        "--stdio", metavar="CMD", help="a stdio server to serve over HTTP (split like a shell would)"
    )
    proxy.add_argument("--config", metavar="FILE", help="a gateway.toml mounting several upstreams")
    proxy.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    proxy.add_argument("--port", type=int, help="HTTP port (required with --stdio and --config)")
    proxy.add_argument(
        "--shared",
        action="store_true",
        help="--stdio: one child process for every session (a stateless server); by default "
        "each legacy session gets its own child",
    )
    proxy.add_argument(
        "--max-sessions",
        type=int,
        default=32,
        metavar="N",
        help="--stdio: child processes held for sessions at once (default 32; more get -32010)",
    )
    proxy.add_argument(
        "--era",
        choices=("auto", "legacy", "modern"),
        default="auto",
        help="the protocol era spoken to the upstream server (default auto: probe, then fall back)",
    )
    proxy.add_argument(
        "--header",
        action="append",
        metavar="NAME=VALUE",
        help="URL: an HTTP header on every upstream request (repeatable)",
    )
    proxy.add_argument(
        "--log-level",
        default="warning",
        choices=("debug", "info", "warning", "error"),
        help="the gateway's own log level, on stderr (default warning)",
    )
    from ..telemetry_sdk import add_arguments

    add_arguments(proxy, metrics=False)
    proxy.set_defaults(run=_run)


def _gateway(args: argparse.Namespace) -> tuple[Any, bool]:
    """The gateway the options describe, and whether it is served over HTTP."""
    modes = [name for name in ("url", "stdio", "config") if getattr(args, name)]
    if len(modes) != 1:
        raise Usage("give exactly one of URL, --stdio CMD or --config FILE")
    if args.url is None and args.port is None:
        raise Usage("--port is required with --stdio and --config")
    if args.url is not None and args.port is not None:
        raise Usage("a URL is served on stdin/stdout: --port does not apply")
    headers = parse_headers(args.header)
    target: Any = parse_url(args.url) if args.url else split_command(args.stdio) if args.stdio else None
    from ..gateway import ConfigError, Gateway, load_config

    if args.config:
        try:
            return load_config(args.config, Gateway(max_session_clients=args.max_sessions)), True
        except ConfigError as exc:
            raise Usage(str(exc)) from None
    gateway = Gateway(max_session_clients=args.max_sessions)
    options: dict[str, Any] = {"era": args.era} if args.era != "auto" else {}
    if headers:
        options["headers"] = headers
    gateway.mount(None, target, per_session=bool(args.stdio) and not args.shared, **options)
    return gateway, args.url is None


def _run(args: argparse.Namespace) -> int:
    import logging

    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(), format="%(name)s: %(message)s")
    try:
        gateway, http = _gateway(args)
    except Usage as exc:
        print(f"mcp-transport proxy: error: {exc}", file=sys.stderr)
        return 2
    import anyio

    from ..gateway import serve_http, serve_stdio
    from ..telemetry_sdk import apply

    apply(args)

    try:
        if http:
            anyio.run(serve_http, gateway, args.host, args.port)
        else:
            anyio.run(serve_stdio, gateway)
    except KeyboardInterrupt:
        return 130
    return 0
