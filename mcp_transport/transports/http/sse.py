"""Server-Sent Events framing for the HTTP server (the WHATWG HTML "Server-sent events"
event-stream format). The only module that imports sse-starlette.

Short streams (a POST answered with a few events) are framed here and written by the HTTP
handler directly; a full sse-starlette response costs more than the rest of such a request
(docs/performance.md). Long-lived streams (the GET stream) use sse-starlette's EventSourceResponse,
which handles disconnect detection and keepalive pings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent

__all__ = [
    "DEFAULT_KEEPALIVE_SECONDS",
    "DEFAULT_RETRY_MS",
    "KEEPALIVE",
    "SSE_HEADERS",
    "event",
    "long_lived_response",
    "priming",
]

# A `:` comment this often keeps proxies from cutting an idle stream (TS SDK keepAliveMs; the
# shortest common proxy idle cut is Cloudflare's ~100 s, Node's bodyTimeout 300 s).
DEFAULT_KEEPALIVE_SECONDS = 15.0
# The `retry:` field: how long a client waits before resuming a stream we closed.
DEFAULT_RETRY_MS = 1000

KEEPALIVE = b": keepalive\n\n"

# Raw ASGI headers of every event stream: no caching or transformation by intermediaries,
# no proxy buffering (nginx honours X-Accel-Buffering), never compressed.
SSE_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
    (b"content-encoding", b"identity"),
]


def event(event_id: str | None, data: bytes) -> bytes:
    """One ``message`` event. ``data`` is compact single-line JSON, so one data line."""
    if event_id is None:
        return b"event: message\ndata: " + data + b"\n\n"
    return b"id: " + event_id.encode() + b"\nevent: message\ndata: " + data + b"\n\n"


def priming(event_id: str, retry_ms: int) -> bytes:
    """The first event of every stream: an id to resume from, empty data, and ``retry``
    (2025-11-25 basic/transports#sending-messages-to-the-server; docs/sse-priming.md
    explains why every version gets it)."""
    return b"id: " + event_id.encode() + b"\nretry: " + str(retry_ms).encode() + b"\ndata: \n\n"


def long_lived_response(
    chunks: AsyncIterator[bytes], *, keepalive: float, headers: dict[str, str] | None = None
) -> EventSourceResponse:
    """An sse-starlette response over pre-framed chunks, with ``:`` keepalive comments."""
    return EventSourceResponse(
        chunks,
        headers={
            "Cache-Control": "no-cache, no-transform",
            "X-Accel-Buffering": "no",
            "Content-Encoding": "identity",
            **(headers or {}),
        },
        ping=keepalive,
        ping_message_factory=lambda: ServerSentEvent(comment="keepalive"),
    )
