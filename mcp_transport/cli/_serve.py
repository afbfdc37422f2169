"""``mcp-transport serve`` and ``mcp-transport conformance``."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import subprocess
import sys
import time
from typing import Any

from ..auth.options import add_auth_arguments, auth_from_args
from ..env import ENV_REDIS_URL, ENV_REQUEST_STATE_KEYS

__all__ = ["add_conformance", "add_serve", "add_worker_options", "serve_http"]


# A worker that exits this soon after it started, this many times in a row, is not restarted
# again: it cannot start (bad target, port, configuration) and restarting would only spin.
_QUICK_EXIT_SECONDS = 5.0
_QUICK_EXITS = 3
_STOP_GRACE_SECONDS = 30.0


def add_serve(commands: Any) -> None:
    serve = commands.add_parser("serve", help="serve an MCPServer over HTTP or stdio")
    serve.add_argument("target", help="module:attribute of an MCPServer, e.g. servers.everything:server")
    serve.add_argument("--stdio", action="store_true", help="serve on stdin/stdout instead of HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    add_worker_options(serve)


def add_worker_options(parser: argparse.ArgumentParser) -> None:
    """The options of one HTTP worker, alone or among several (docs/deployment.md), shared by
    ``mcp-transport serve`` and ``python -m servers.everything``."""
    parser.add_argument(
        "--status-page", action="store_true", help="serve the live status page at /mcp/status (HTTP)"
    )
    shared = parser.add_argument_group("several workers (shared state on Redis; docs/deployment.md)")
    shared.add_argument(
        "--redis-url",
        default=os.environ.get(ENV_REDIS_URL) or None,
        help="share sessions, streams and tasks through this Redis: redis://HOST:PORT/DB "
        f"(env {ENV_REDIS_URL})",
    )
    shared.add_argument("--redis-prefix", default="mcp:", help="the deployment's key prefix (default mcp:)")
    shared.add_argument(
        "--worker-lease",
        type=float,
        default=10.0,
        help="seconds after which a silent worker counts as dead (default 10)",
    )
    shared.add_argument(
        "--request-state-key",
        action="append",
        metavar="HEX",
        help="a key (at least 32 hex digits) for MRTR requestState tokens, the same on every worker; "
        f"repeat to rotate: the first seals, all open (env {ENV_REQUEST_STATE_KEYS})",
    )
    shared.add_argument(
        "--workers",
        type=int,
        default=1,
        help="run N worker processes on one port (SO_REUSEPORT; needs --redis-url when N > 1)",
    )
    shared.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)  # one of --workers N
    from ..telemetry_sdk import add_arguments  # argparse only: the SDK is imported when asked for

    add_arguments(parser)
    add_auth_arguments(parser)
    parser.set_defaults(run=_serve)


def serve_http(server: Any, args: argparse.Namespace) -> None:
    """Serve ``server`` at http://HOST:PORT/mcp until interrupted, as one worker (shared state
    on Redis with ``--redis-url``). The one place the command line reaches into the transports
    (the public API has no ``MCPServer.run_http``)."""
    from ..mrtr_keys import configured_codec
    from ..transports.http import run_http

    try:
        codec = configured_codec(args.redis_url, args.request_state_key)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    server.request_state = codec
    options: dict[str, Any] = {}
    if args.redis_url:
        options.update(
            redis_url=args.redis_url, redis_prefix=args.redis_prefix, worker_lease=args.worker_lease
        )
    options.update(status_page=args.status_page, reuse_port=args.reuse_port, metrics=args.metrics)
    run_http(server, host=args.host, port=args.port, **options)


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


def _serve(args: argparse.Namespace, server: Any = None) -> int:
    """Run ``serve`` (``server``: the target, already loaded by a program that defines it)."""
    if args.workers < 1:
        raise SystemExit(f"error: --workers must be at least 1, not {args.workers}")
    if args.workers > 1:
        return _supervise(args)
    if server is None:
        if "" not in sys.path:
            sys.path.insert(0, "")  # the user's module:attribute resolves from the working directory
        server = _load(args.target)
    try:
        auth = auth_from_args(args)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    if auth is not None:
        server.auth = auth
    from ..telemetry_sdk import apply  # installs the SDK's providers for --otel / --metrics

    apply(args)
    if args.stdio:
        server.run_stdio()
        return 0
    serve_http(server, args)
    return 0


def _worker_argv(args: argparse.Namespace) -> list[str]:
    """The command line of one of ``--workers N``: this one, as a single worker on the shared port."""
    argv = [sys.executable, "-m", "mcp_transport", "serve", args.target, "--host", args.host]
    argv += ["--port", str(args.port), "--reuse-port", "--redis-url", args.redis_url]
    argv += ["--redis-prefix", args.redis_prefix, "--worker-lease", str(args.worker_lease)]
    for key in args.request_state_key or ():
        argv += ["--request-state-key", key]
    argv += [flag for flag, on in _PASSED_FLAGS.items() if getattr(args, on)]
    for option, name in _PASSED_OPTIONS.items():
        values = getattr(args, name)
        for value in values if isinstance(values, list) else [values] if values else []:
            argv += [option, value]
    return argv


def _supervise(args: argparse.Namespace) -> int:
    """Run ``--workers`` worker processes on one port (each binds it with ``SO_REUSEPORT``), start
    a new one when one dies, stop them all (SIGTERM, then SIGKILL after 30 s) on SIGINT/SIGTERM."""
    if args.stdio:
        raise SystemExit("error: --workers serves HTTP; drop --stdio")
    if not args.redis_url:
        raise SystemExit(
            "error: several workers must share their sessions: give --redis-url redis://HOST:PORT/DB "
            f"(or set {ENV_REDIS_URL})"
        )
    if args.port == 0:
        raise SystemExit("error: --workers needs a fixed --port (with 0 every worker would get its own)")
    from ..mrtr_keys import configured_codec

    try:
        configured_codec(args.redis_url, args.request_state_key)  # refused here, not N times
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    argv = _worker_argv(args)
    workers = [(subprocess.Popen(argv), time.monotonic()) for _ in range(args.workers)]
    stopping: list[int] = []
    handlers = {sig: signal.signal(sig, lambda sig, frame: stopping.append(sig)) for sig in _STOP_SIGNALS}
    quick_exits = 0
    try:
        while not stopping:
            time.sleep(0.2)
            for n, (process, started) in enumerate(workers):
                code = process.poll()
                if code is None:
                    continue
                quick_exits = quick_exits + 1 if time.monotonic() - started < _QUICK_EXIT_SECONDS else 0
                if quick_exits >= _QUICK_EXITS:
                    print(
                        f"error: workers keep exiting at start (last status {code}); stopping",
                        file=sys.stderr,
                    )
                    return 1
                print(
                    f"worker pid {process.pid} exited with status {code}; starting another", file=sys.stderr
                )
                workers[n] = (subprocess.Popen(argv), time.monotonic())
        return 0
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        _stop_all([process for process, _ in workers])


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

# Switches every worker of --workers N gets as given (flag -> its argparse name).
_PASSED_FLAGS = {"--status-page": "status_page", "--otel": "otel", "--metrics": "metrics"}
# Options every worker gets with the values given (option -> its argparse name; lists repeat).
_PASSED_OPTIONS = {
    "--auth-issuer": "auth_issuer",
    "--auth-audience": "auth_audience",
    "--auth-jwks": "auth_jwks",
    "--auth-introspection": "auth_introspection",
    "--auth-scope": "auth_scope",
}


def _stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + _STOP_GRACE_SECONDS
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
