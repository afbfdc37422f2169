"""Mounting the endpoint: a standalone ASGI app, a FastAPI router, and :func:`run_http`.

    app = FastAPI()
    app.include_router(mcp_router(server))            # POST/GET/DELETE /mcp
    # or standalone:
    run_http(server, host="127.0.0.1", port=8000)     # uvicorn, uvloop + httptools

Each takes any :class:`~mcp_transport.connection.Application` (an ``MCPServer``) and serves
it at ``path`` and ``path/`` (never a redirect).
"""

from __future__ import annotations

import gc
import os
import socket
from typing import TYPE_CHECKING, Any

import orjson

from ...connection import Application
from ...env import ENV_REDIS_URL
from ...errors import InvalidRequest
from ...state.shared import SharedState
from .asgi import Receive, Scope, Send, send_error, send_json, tag_worker
from .endpoint import StreamableHTTP
from .status import snapshot

if TYPE_CHECKING:
    from fastapi import APIRouter

__all__ = ["HTTPApp", "http_app", "mcp_router", "reuse_port_socket", "run_http"]


class HTTPApp:
    """A standalone ASGI app: the endpoint at ``path``, a JSON-RPC 404 everywhere else; with
    the endpoint's ``status_page``, the page at ``path/status`` and its data at
    ``path/status.json``, behind the endpoint's own admission checks (and its ``auth``); with
    ``auth``, the protected resource metadata (RFC 9728 §3.1)."""

    def __init__(self, endpoint: StreamableHTTP, path: str) -> None:
        self.endpoint = endpoint
        self.path = path
        base = path.rstrip("/")
        self._paths = {base or "/", base + "/"}
        self._status = {base + "/status", base + "/status.json"} if endpoint.status is not None else set()
        auth = endpoint.auth
        self._metadata_paths = auth.metadata_paths(path) if auth is not None else set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The endpoint's own paths first: the one test nearly every request needs.
        if scope["type"] == "http" and scope["path"] not in self._paths:
            path = scope["path"]
            if path in self._metadata_paths:
                await _send_metadata(self.endpoint, scope, send)
            elif path in self._status:
                await serve_status(self.endpoint, scope, tag_worker(send))
            else:
                await send_error(
                    tag_worker(send), 404, InvalidRequest(f"Not found: the MCP endpoint is {self.path}")
                )
            return
        await self.endpoint(scope, receive, send)


async def _send_metadata(endpoint: StreamableHTTP, scope: Scope, send: Send) -> None:
    """The protected resource metadata document: public (no token), GET only."""
    assert endpoint.auth is not None
    if scope["method"] not in ("GET", "HEAD"):
        await send_error(
            send,
            405,
            InvalidRequest("the protected resource metadata is read with GET"),
            headers=[(b"allow", b"GET")],
        )
        return
    await send_json(send, 200, orjson.dumps(endpoint.auth.metadata()), [(b"cache-control", b"max-age=300")])


class _MetadataApp:
    """The metadata document as a raw ASGI app (a Starlette route calls a plain function with a
    Request instead)."""

    def __init__(self, endpoint: StreamableHTTP) -> None:
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _send_metadata(self.endpoint, scope, send)


def _with_auth(app: Application, options: dict[str, Any]) -> dict[str, Any]:
    """``auth`` defaults to the application's own (``MCPServer(auth=...)``)."""
    if options.get("auth") is None and getattr(app, "auth", None) is not None:
        options = {**options, "auth": app.auth}  # type: ignore[attr-defined]  # checked just above
    return options


def http_app(app: Application, path: str = "/mcp", **options: Any) -> HTTPApp:
    """A standalone ASGI app serving ``app`` at ``path`` and ``path/`` (no redirect);
    every other path is a 404 with a JSON-RPC body. Options: see :class:`StreamableHTTP`
    (``auth`` defaults to ``app.auth``: then the protected resource metadata is served at
    ``/.well-known/oauth-protected-resource`` and its path-inserted forms).
    ``.endpoint`` is the endpoint."""
    return HTTPApp(StreamableHTTP(app, **_with_auth(app, options)), path)


def mcp_router(app: Application, path: str = "/mcp", **options: Any) -> APIRouter:
    """A FastAPI router serving ``app`` at ``path`` and ``path/`` (no redirect).

        app = FastAPI()
        app.include_router(mcp_router(server))

    The routes hand the raw ASGI request to :class:`StreamableHTTP` (FastAPI's request
    parsing and dependency injection stay off the per-message path). Works without lifespan
    events: the endpoint starts on its first request. ``router.mcp`` is the endpoint.
    """
    # FastAPI is imported only by those who mount a router: the rest of the package (the
    # client included, through .headers) does not pay for it.
    from fastapi import APIRouter
    from starlette.routing import Route

    router = APIRouter()
    endpoint = StreamableHTTP(app, **_with_auth(app, options))
    base = path.rstrip("/")
    for route_path in (base, base + "/"):
        router.routes.append(
            Route(route_path, endpoint, methods=["GET", "POST", "DELETE"], include_in_schema=False)
        )
    if endpoint.auth is not None:
        metadata = _MetadataApp(endpoint)
        for route_path in sorted(endpoint.auth.metadata_paths(path)):
            router.routes.append(Route(route_path, metadata, methods=["GET"], include_in_schema=False))
    router.mcp = endpoint  # type: ignore[attr-defined]  # APIRouter has no slot for it; documented above
    return router


def run_http(
    app: Application,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    path: str = "/mcp",
    log_level: str = "info",
    redis_url: str | None = None,
    redis_prefix: str = "mcp:",
    worker_lease: float = 10.0,
    reuse_port: bool = False,
    metrics: bool = False,
    **options: Any,
) -> None:
    """Serve ``app`` over Streamable HTTP with uvicorn (uvloop, httptools, no access log)
    until interrupted. Options: see :class:`StreamableHTTP`.

    ``redis_url`` (default: the environment variable ``MCP_TRANSPORT_REDIS_URL``): this
    process is one worker of several sharing their state in that Redis under the key prefix
    ``redis_prefix`` (docs/deployment.md); a worker silent for ``worker_lease`` seconds counts
    as dead. The application joins the cluster (ValueError, before serving, if it cannot:
    say, no shared MRTR keys). ``reuse_port``: bind with ``SO_REUSEPORT``, so several worker
    processes listen on one port and the kernel spreads connections between them
    (``mcp-transport serve --workers N``). ``status_page=True``: the live page at
    ``path/status`` (docs/guides/status-page.md). ``metrics``: Prometheus metrics at
    ``/metrics`` on the same host and port (mcp_transport.telemetry_sdk).
    """
    import uvicorn  # the server is needed only here: mounting an endpoint does not need it

    redis_url = redis_url or os.environ.get(ENV_REDIS_URL) or None
    if redis_url:
        options["state"] = SharedState.redis(
            redis_url,
            prefix=redis_prefix,
            session_idle_timeout=options.get("session_idle_timeout"),
            worker_lease=worker_lease,
        )
    asgi = http_app(app, path, **options)
    served: Any = asgi
    if metrics:
        from ...telemetry_sdk import with_metrics

        served = with_metrics(asgi)
    config = uvicorn.Config(
        served,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=log_level,
        lifespan="on",
    )

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            # What exists once the server is up (modules, classes, the app's tools and schemas:
            # ~60,000 objects) lives as long as the process. Frozen, it is no longer walked by
            # the collector's full collections, which otherwise cost 20-80 ms on this heap and
            # stall whatever request is running (bench/profile_notes.md, 2026-12-03).
            gc.collect()
            gc.freeze()

        def handle_exit(self, sig: int, frame: Any) -> None:
            # Before uvicorn waits for open connections: end listen streams with their result.
            asgi.endpoint.shutting_down()
            super().handle_exit(sig, frame)

    Server(config).run(sockets=[reuse_port_socket(host, port)] if reuse_port else None)


async def serve_status(endpoint: StreamableHTTP, scope: Scope, send: Send) -> None:
    """GET ``/mcp/status`` (the page) or ``/mcp/status.json`` (its data), after the same
    admission as the MCP endpoint (Host/Origin, and auth when configured)."""
    from .status_page import CSP, PAGE

    if await endpoint.admit(scope, send) is None:
        return
    assert endpoint.status is not None
    if scope["method"] != "GET":
        error = InvalidRequest(f"Method {scope['method']} not allowed: the status page answers GET")
        await send_error(send, 405, error, headers=[(b"allow", b"GET")])
        return
    common = [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]
    if scope["path"].endswith(".json"):
        live = endpoint.legacy.live
        body = orjson.dumps(await snapshot(endpoint.status, endpoint.sessions, live, endpoint.log))
        await send_json(send, 200, body, common)
        return
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", b"%d" % len(PAGE)),
        (b"content-security-policy", CSP.encode()),
        *common,
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": PAGE})


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT``: every worker process binds its
    own, and the kernel balances new connections between the listening ones (a worker that
    dies takes only the connections it had accepted)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock
