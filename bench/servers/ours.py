"""Our server under test: ``servers.everything``'s MCPServer (``echo``, ``progress_stream``, ...)
served by ``mcp_transport.transports.http.run_http`` in a given response mode.

    python -m bench.servers.ours --port 8000 --mode json|sse|auto [--session-idle-timeout S]
    python -m bench.servers.ours --stdio

The same server ``python -m servers.everything --port N`` runs; this wrapper only passes the
options ``run_http`` takes (response mode, session idle timeout, no access log), found by name so
the harness keeps working while the transport's signature settles.
"""

from __future__ import annotations

import inspect

from bench.servers.cli import server_args
from servers.everything import server


def run_http_kwargs(run_http, mode: str, idle_timeout: float | None) -> dict:
    params = dict(inspect.signature(run_http).parameters)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        # run_http(..., **options) hands its options to the StreamableHTTP endpoint
        from mcp_transport.transports import http as http_server

        endpoint = getattr(http_server, "StreamableHTTP", None)
        if endpoint is not None:
            params.update(inspect.signature(endpoint.__init__).parameters)
    kw: dict = {}
    for name in ("response_mode", "mode"):
        if name in params:
            kw[name] = mode
            break
    else:
        if "json_response" in params and mode != "auto":
            kw["json_response"] = mode == "json"
    if idle_timeout is not None:
        for name in ("session_idle_timeout", "idle_timeout", "session_ttl", "session_timeout"):
            if name in params:
                kw[name] = idle_timeout
                break
    for name, value in (("access_log", False), ("log_level", "warning"), ("max_sessions", 100_000)):
        # max_sessions raised as for the official SDK, so 10,000 idle sessions + 32 fit
        if name in params:
            kw[name] = value
    return kw


def main(argv: list[str] | None = None) -> None:
    parser = server_args(__doc__, ("json", "sse", "auto"))
    parser.add_argument("--redis-url", help="one worker of several on this Redis (bench.redis_rows)")
    parser.add_argument("--redis-prefix", default="mcp:")
    args = parser.parse_args(argv)
    shared = {"redis_url": args.redis_url, "redis_prefix": args.redis_prefix} if args.redis_url else {}
    if args.stdio:
        server.run_stdio()
        return
    from mcp_transport.transports.http import run_http

    run_http(
        server,
        host=args.host,
        port=args.port,
        **run_http_kwargs(run_http, args.mode, args.session_idle_timeout),
        **shared,
    )


if __name__ == "__main__":
    main()
