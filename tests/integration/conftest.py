"""Fixtures for integration tests: real uvicorn servers on 127.0.0.1 (uvloop + httptools,
as in production), each in its own thread with its own event loop, stopped at teardown."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn

from mcp_transport.transports.http import http_app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class ServerThread:
    """One uvicorn server on a free loopback port, serving ``app`` in a background thread."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(5)
        self.sock.close()


@pytest.fixture
def serve_app() -> Iterator[Callable[..., str]]:
    """``serve_app(asgi_app, path="/mcp") -> url``: serve any ASGI app on loopback."""
    running: list[ServerThread] = []

    def start(app: Any, path: str = "/mcp") -> str:
        thread = ServerThread(app)
        thread.start()
        running.append(thread)
        return f"http://127.0.0.1:{thread.port}{path}"

    yield start
    for thread in running:
        thread.stop()


@pytest.fixture
def http_server(serve_app: Callable[..., str]) -> Callable[..., str]:
    """``http_server(mcp_server, **options) -> url`` of its /mcp endpoint on 127.0.0.1.
    Options are those of ``StreamableHTTP`` (response_mode, session limits, ...)."""

    def start(server: Any, **options: Any) -> str:
        return serve_app(http_app(server, **options))

    return start
