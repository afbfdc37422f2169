"""The deprecated HTTP+SSE client transport (2024-11-05 basic/transports#http-with-sse;
its fallback: 2025-11-25 basic/transports#backwards-compatibility).

The client GETs the SSE endpoint and keeps it open; the server's first event, ``endpoint``,
names the URI to POST every client message to (answered 202); everything the server sends
arrives as ``message`` events on the GET stream. ``Client(era="auto")`` falls back to it
last, when ``initialize`` on the URL fails with 400, 404 or 405.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import anyio
import httpx
from anyio.abc import TaskGroup

from ... import jsonrpc
from ...errors import ConnectError, ConnectionClosed, MCPError, TransportError
from ...jsonrpc import Message, RequestId
from ..contract import Receive, TransportDefaults
from .http_errors import map_httpx_error, status_error
from .sse_parser import EventTooLarge, SSEParser
from .wire import content_type, deliver

__all__ = ["ENDPOINT_TIMEOUT", "LegacySSETransport"]

log = logging.getLogger("mcp_transport.client.legacy_sse")

# How long the server may take to send the ``endpoint`` event after the GET.
ENDPOINT_TIMEOUT = 10.0
_TIMEOUT = httpx.Timeout(30.0, read=None)  # the GET stream may be silent for long


class LegacySSETransport(TransportDefaults):
    """A connection to a 2024-11-05 HTTP+SSE server. ``url`` is its SSE endpoint. It has no
    session id, version header or second channel: the contract's defaults answer for those."""

    legacy_sse = True  # Client caches that this URL needs this transport

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        http_client: httpx.AsyncClient | None = None,
        endpoint_timeout: float = ENDPOINT_TIMEOUT,
    ) -> None:
        self.url: str = url
        self.headers = dict(headers or {})
        self.auth = auth
        self.endpoint_timeout = endpoint_timeout
        self.endpoint: str | None = None
        self._http = http_client
        self._owns_http = http_client is None
        self._scope: anyio.CancelScope | None = None
        self._closed = False

    async def start(self, receive: Receive, task_group: TaskGroup, on_closed: Callable[[str], None]) -> None:
        """GET the SSE endpoint and wait for the ``endpoint`` event (raises ConnectError if
        the server offers none)."""
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=_TIMEOUT)
        ready = anyio.Event()
        failure: list[MCPError] = []
        scope = self._scope = anyio.CancelScope()

        async def run() -> None:
            with scope:
                try:
                    await self._read(receive, ready)
                except MCPError as exc:
                    failure.append(exc)
                except Exception as exc:  # never let a bug hang start()
                    log.exception("HTTP+SSE stream failed")
                    failure.append(TransportError(f"HTTP+SSE stream: {type(exc).__name__}: {exc}"))
                finally:
                    ready.set()
                    if not self._closed and self.endpoint is not None:
                        on_closed(f"the HTTP+SSE stream from {self.url} ended")

        task_group.start_soon(run)
        with anyio.move_on_after(self.endpoint_timeout):
            await ready.wait()
        if self.endpoint is None:
            scope.cancel()
            if failure:
                raise failure[0]
            raise ConnectError(
                f"{self.url} sent no 'endpoint' event within {self.endpoint_timeout:g} s: "
                "not an HTTP+SSE server"
            )

    async def _read(self, receive: Receive, ready: anyio.Event) -> None:
        assert self._http is not None
        headers = {**self.headers, "Accept": "text/event-stream"}
        try:
            async with self._http.stream("GET", self.url, headers=headers, auth=self._auth()) as response:
                if response.status_code >= 400 or content_type(response) != "text/event-stream":
                    await response.aread()
                    raise status_error(response, "GET (HTTP+SSE)", self.url, None)
                parser = SSEParser()
                async for chunk in response.aiter_bytes():
                    for event in parser.feed(chunk):
                        if event.event == "endpoint":
                            self.endpoint = self._resolve(event.data)
                            ready.set()
                        elif event.event == "message" and event.data:
                            await deliver(event.data, receive)
        except EventTooLarge as exc:
            raise TransportError(f"the server sent an oversized SSE event: {exc}") from None
        except httpx.HTTPError as exc:
            raise map_httpx_error(exc, f"GET (HTTP+SSE) {self.url}") from exc

    def _resolve(self, data: str) -> str:
        """The POST URI from the ``endpoint`` event, which must stay on the server's origin."""
        endpoint = urljoin(self.url, data.strip())
        ours, theirs = urlsplit(self.url), urlsplit(endpoint)
        if (ours.scheme, ours.netloc) != (theirs.scheme, theirs.netloc):
            raise TransportError(
                f"the server's endpoint {endpoint!r} is not on {ours.scheme}://{ours.netloc}; refusing it"
            )
        return endpoint

    async def send(self, message: Message, related_to: RequestId | None = None) -> None:
        if self._closed or self.endpoint is None or self._http is None:
            raise ConnectionClosed("the HTTP+SSE transport is closed")
        what = f"POST {getattr(message, 'method', 'response')} (HTTP+SSE)"
        headers = {**self.headers, "Content-Type": "application/json"}
        try:
            response = await self._http.post(
                self.endpoint, content=jsonrpc.dump(message), headers=headers, auth=self._auth()
            )
        except httpx.HTTPError as exc:
            raise map_httpx_error(exc, what) from exc
        if response.status_code >= 400:
            raise status_error(response, what, self.endpoint, None)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._scope is not None:
            self._scope.cancel()
        if self._owns_http and self._http is not None:
            with anyio.CancelScope(shield=True):
                await self._http.aclose()

    def _auth(self) -> Any:
        return self.auth if self.auth is not None else httpx.USE_CLIENT_DEFAULT
