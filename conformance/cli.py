"""``mcp-transport conformance``: argument parsing and the three entry points.

mcp-transport conformance server http://127.0.0.1:8000/mcp
mcp-transport conformance server --stdio "python -m servers.everything --stdio"
mcp-transport conformance client "python my_client.py"
mcp-transport conformance list
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

__all__ = ["add_parser", "main"]


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``conformance`` subcommand to an argparse subparsers object."""
    conf = commands.add_parser(
        "conformance",
        help="test any MCP server or client against the spec",
        description="Test any MCP server or client against the MCP specification.",
    )
    sub = conf.add_subparsers(dest="conformance_command", required=True)

    server = sub.add_parser("server", help="test a server at URL, or a stdio server with --stdio COMMAND")
    server.add_argument("url", nargs="?", help="the MCP endpoint, e.g. http://127.0.0.1:8000/mcp")
    server.add_argument("--stdio", metavar="COMMAND", help="test a stdio server started with this command")
    server.add_argument(
        "--stream-tool",
        metavar="NAME",
        help="a tool that sends progress notifications over about a second (default: look for "
        "'sleep' or 'test_tool_with_progress')",
    )
    server.add_argument(
        "--stream-tool-args", metavar="JSON", default=None, help="arguments for --stream-tool"
    )
    server.add_argument(
        "--task-tool",
        metavar="NAME",
        help="a tool the server runs as a task (tasks extension; default: the first listed tool "
        "that answers with a task)",
    )
    server.add_argument("--task-tool-args", metavar="JSON", default=None, help="arguments for --task-tool")
    server.add_argument(
        "--keepalive-wait",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="how long to wait for a keepalive comment on an idle stream (default 20)",
    )
    _common(server)
    server.set_defaults(run=_server)

    client = sub.add_parser("client", help="test a client command against scripted servers")
    client.add_argument("command", help="the client command; the server URL is appended as its last argument")
    _common(client)
    client.set_defaults(run=_client)

    listing = sub.add_parser("list", help="list the scenarios and the rules they check")
    listing.set_defaults(run=_list)
    return conf


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario", action="append", metavar="NAME", help="run only this scenario (repeatable)"
    )
    parser.add_argument("--era", choices=("legacy", "modern", "both"), default="both")
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for any one reply (default 10)",
    )
    parser.add_argument(
        "--report",
        nargs=2,
        action="append",
        metavar=("FORMAT", "FILE"),
        help="write a report: json, markdown or junit (repeatable)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    auth = parser.add_argument_group("a protected server (scenario authorization)")
    auth.add_argument("--bearer", metavar="TOKEN", help="a valid access token, sent on every request")
    auth.add_argument("--bearer-other-audience", metavar="TOKEN", help="a valid token for another resource")
    auth.add_argument("--scoped-tool", metavar="NAME", help="a tool the --bearer token lacks a scope for")


def _options(args: argparse.Namespace) -> Any:
    from .context import Options

    return Options(
        timeout=args.timeout,
        keepalive_wait=getattr(args, "keepalive_wait", 20.0),
        stream_tool=getattr(args, "stream_tool", None),
        stream_tool_args=_json_option(args, "stream_tool_args"),
        task_tool=getattr(args, "task_tool", None),
        task_tool_args=_json_option(args, "task_tool_args"),
        stdio_command=getattr(args, "stdio", None),
        bearer=getattr(args, "bearer", None),
        bearer_other_audience=getattr(args, "bearer_other_audience", None),
        scoped_tool=getattr(args, "scoped_tool", None),
    )


def _json_option(args: argparse.Namespace, name: str) -> Any:
    raw = getattr(args, name, None)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        flag = "--" + name.replace("_", "-")
        raise SystemExit(f"error: {flag} is not JSON: {exc}") from None


def _finish(run: Any, args: argparse.Namespace) -> None:
    from .reports import FORMATS, write_report

    for fmt, path in args.report or ():
        if fmt not in FORMATS:
            raise SystemExit(f"error: unknown report format {fmt!r} (use {', '.join(FORMATS)})")
        write_report(run, fmt, path)
    raise SystemExit(run.exit_code)


def _server(args: argparse.Namespace) -> None:
    from .runner import Progress, run_scenarios, select
    from .scenarios import SCENARIOS

    if bool(args.url) == bool(args.stdio):
        raise SystemExit("error: give either a URL or --stdio COMMAND")
    target = "stdio" if args.stdio else "http"
    try:
        chosen = select(SCENARIOS, target=target, era=args.era, names=args.scenario)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    run = asyncio.run(
        run_scenarios(
            chosen,
            url=args.url or args.stdio,
            options=_options(args),
            era=args.era,
            progress=Progress(quiet=args.quiet),
        )
    )
    _finish(run, args)


def _client(args: argparse.Namespace) -> None:
    from .client_runner import run_client_scenarios
    from .runner import Progress

    run = asyncio.run(
        run_client_scenarios(
            args.command,
            names=args.scenario,
            era=args.era,
            timeout=args.timeout,
            progress=Progress(quiet=args.quiet),
        )
    )
    _finish(run, args)


def _list(args: argparse.Namespace) -> None:
    from .scenarios import SCENARIOS

    try:
        from .client_scenarios import CLIENT_SCENARIOS
    except ImportError:  # pragma: no cover
        CLIENT_SCENARIOS = ()
    for scenario in (*SCENARIOS, *CLIENT_SCENARIOS):
        print(f"{scenario.name}  ({scenario.target}, {scenario.era}) - {scenario.summary}")
        for rule in scenario.rules:
            print(f"    {rule.id}  [{rule.citation}]")


def main(argv: list[str] | None = None) -> None:
    """``python -m conformance.cli ...``: the same as ``mcp-transport conformance ...``."""
    from mcp_transport.cli import main as cli_main

    cli_main(["conformance", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
