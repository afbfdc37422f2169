"""The redirect step for command-line programs (RFC 8252 §7.3, loopback interface redirection):
a one-shot HTTP listener on 127.0.0.1 that receives the authorization server's redirect, and
an ``on_authorize`` that opens the browser and waits for it.

    async with LoopbackRedirect() as loopback:
        auth = OAuth(redirect_uri=loopback.redirect_uri, on_authorize=loopback.on_authorize)
        async with Client(url, auth=auth) as client:
            ...
"""

from __future__ import annotations

import logging
import webbrowser
from collections.abc import Callable
from types import TracebackType

import anyio
import anyio.abc

from .errors import OAuthError

__all__ = ["LoopbackRedirect"]

log = logging.getLogger("mcp_transport.auth")

MAX_REQUEST_HEAD = 16 * 1024  # bytes read from one connection before it is dropped
_PAGE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n\r\n"
    b"<!doctype html><title>Authorized</title><p>Authorization complete: you can close this window.</p>"
)
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class LoopbackRedirect:
    """``redirect_uri`` is known once entered (port 0 picks a free port). ``on_authorize``
    opens ``open_url`` (the browser by default) and returns the first redirect that reaches
    ``path``, or raises ``OAuthError`` after ``timeout`` seconds."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/callback",
        *,
        timeout: float = 300.0,
        open_url: Callable[[str], object] = webbrowser.open,
    ) -> None:
        self.host, self.port, self.path = host, port, path
        self.timeout = timeout
        self.open_url = open_url
        self._redirect: str | None = None
        self._arrived = anyio.Event()
        self._group: anyio.abc.TaskGroup | None = None

    @property
    def redirect_uri(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    async def __aenter__(self) -> LoopbackRedirect:
        listener = await anyio.create_tcp_listener(local_host=self.host, local_port=self.port)
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        self._group.start_soon(listener.serve, self._handle)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._group is not None
        self._group.cancel_scope.cancel()
        await self._group.__aexit__(exc_type, exc, tb)

    async def _handle(self, stream: anyio.abc.SocketStream) -> None:
        async with stream:
            head = b""
            with anyio.move_on_after(10):
                while b"\r\n" not in head and len(head) < MAX_REQUEST_HEAD:
                    try:
                        head += await stream.receive()
                    except (anyio.EndOfStream, anyio.BrokenResourceError):
                        return
            parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
            target = parts[1] if len(parts) == 3 and parts[0] == "GET" else ""
            if target.split("?", 1)[0] != self.path or self._arrived.is_set():
                await stream.send(_NOT_FOUND)
                return
            self._redirect = f"http://{self.host}:{self.port}{target}"
            self._arrived.set()
            await stream.send(_PAGE)

    async def on_authorize(self, url: str) -> str:
        log.info("open this URL to authorize: %s", url)
        self.open_url(url)
        with anyio.move_on_after(self.timeout):
            await self._arrived.wait()
        if self._redirect is None:
            raise OAuthError(
                f"no authorization redirect reached {self.redirect_uri} within {self.timeout:g} s"
            )
        redirect, self._redirect, self._arrived = self._redirect, None, anyio.Event()
        return redirect
