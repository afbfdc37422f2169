"""What both legs of the Streamable HTTP endpoint share: ASGI types, the error that carries
an HTTP status and a JSON-RPC error out of a handler, and the small response writers.

Every 4xx/5xx the endpoint sends has a JSON-RPC error body whose message says what to fix,
and echoes the request id whenever it could be read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .. import jsonrpc
from ..errors import RPCError
from ..jsonrpc import ErrorResponse, RequestId

__all__ = [
    "JSON_TYPES",
    "SSE_TYPES",
    "HTTPError",
    "Receive",
    "Scope",
    "Send",
    "send_empty",
    "send_error",
    "send_json",
]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# Accept header values that allow a JSON body / an event stream.
JSON_TYPES = ("application/json", "application/*", "*/*")
SSE_TYPES = ("text/event-stream", "text/*", "*/*")
_JSON_HEADERS = [(b"content-type", b"application/json")]


class HTTPError(Exception):
    """Raised inside the endpoint: answer with ``status`` and ``error`` as the JSON-RPC body."""

    def __init__(self, status: int, error: RPCError, *, headers: list[tuple[bytes, bytes]] | None = None, id: RequestId | None = None) -> None:
        self.status = status
        self.error = error
        self.headers = headers or []
        self.id = id


_EMPTY_HEADERS = [(b"content-length", b"0")]


async def send_empty(send: Send, status: int) -> None:
    # A length, so the server sends no chunked framing (204 must carry no Content-Length).
    await send({"type": "http.response.start", "status": status, "headers": [] if status == 204 else _EMPTY_HEADERS})
    await send({"type": "http.response.body", "body": b""})


async def send_json(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """A complete JSON answer, with Content-Length (without it uvicorn chunk-encodes it)."""
    head = [_JSON_HEADERS[0], (b"content-length", b"%d" % len(body))]
    if headers:
        head += headers
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, status: int, error: RPCError, *, headers: list[tuple[bytes, bytes]] | None = None, id: RequestId | None = None) -> None:
    await send_json(send, status, jsonrpc.dump(ErrorResponse(id, error.to_error())), headers)
