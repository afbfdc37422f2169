"""Fixtures for integration tests: real uvicorn servers on 127.0.0.1 (uvloop + httptools,
as in production), each in its own thread with its own event loop, stopped at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from servers_for_tests import ServerThread

from mcp_transport.transports.http import http_app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


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
