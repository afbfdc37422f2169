"""Serving a gateway: its upstream clients run for as long as it is served.

These two functions are the gateway's only contact with the transports; the public API has
no async entry point that serves an MCPServer over HTTP or stdio inside a running event loop
(``MCPServer.run_stdio`` starts its own loop), so they use the transports' serving functions.
"""

from __future__ import annotations

from typing import Any

import anyio
from anyio.abc import TaskStatus

from ._server import Gateway

__all__ = ["serve_http", "serve_stdio"]


async def serve_http(
    gateway: Gateway,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    path: str = "/mcp",
    log_level: str = "warning",
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``gateway`` at http://HOST:PORT/mcp (both eras) until cancelled or interrupted.
    ``await task_group.start(serve_http, gateway, host, port)`` returns once it listens.
    Cancelling it shuts the server down gracefully (uvicorn's own shutdown, lifespan
    included), then stops the upstream clients."""
    import uvicorn

    from ..transports.http import http_app

    app: Any = http_app(gateway, path)
    config = uvicorn.Config(app, host=host, port=port, access_log=False, log_level=log_level, lifespan="on")

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            app.endpoint.shutting_down()  # listen streams end with their result first
            super().handle_exit(sig, frame)

    server = Server(config)
    async with gateway, anyio.create_task_group() as group:
        done = anyio.Event()

        async def run() -> None:
            with anyio.CancelScope(shield=True):  # stopped through should_exit, never cut mid-way
                await server.serve()
            done.set()

        group.start_soon(run)
        try:
            while not server.started and not done.is_set():  # noqa: ASYNC110  (uvicorn has a flag, no event)
                await anyio.sleep(0.02)
            task_status.started()
            await done.wait()
        finally:
            app.endpoint.shutting_down()
            server.should_exit = True


async def serve_stdio(gateway: Gateway) -> None:
    """Serve ``gateway`` on this process's stdin/stdout until stdin closes."""
    from ..transports.stdio import serve_stdio as serve

    gateway.single_client = True  # the one client's roots may go to every upstream
    async with gateway:
        await serve(gateway)
