"""Server-Sent Events framing for the HTTP server (the WHATWG HTML "Server-sent events"
event-stream format). The only module that imports sse-starlette.

Short streams (a POST answered with a few events) are framed here and written by the HTTP
handler directly; a full sse-starlette response costs more than the rest of such a request
(docs/performance.md). Long-lived streams (the GET stream) use sse-starlette's EventSourceResponse,
which handles disconnect detection. Every stream gets its keepalive comments from one
:class:`Keepalive` clock (sse-starlette's own ping is off, so the bytes are the same everywhere).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
from sse_starlette import EventSourceResponse

from .asgi import Send

__all__ = [
    "DEFAULT_KEEPALIVE_SECONDS",
    "DEFAULT_RETRY_MS",
    "KEEPALIVE",
    "SSE_HEADERS",
    "Keepalive",
    "event",
    "long_lived_response",
    "priming",
    "send_one_shot",
]

# A `:` comment this often keeps proxies from cutting an idle stream (TS SDK keepAliveMs; the
# shortest common proxy idle cut is Cloudflare's ~100 s, Node's bodyTimeout 300 s).
DEFAULT_KEEPALIVE_SECONDS = 15.0
# The `retry:` field: how long a client waits before resuming a stream we closed.
DEFAULT_RETRY_MS = 1000

KEEPALIVE = b": keepalive\n\n"


class Keepalive:
    """The one keepalive clock of an event stream: a :data:`KEEPALIVE` comment once the stream
    has been idle for ``every`` seconds. A stream tailed by a loop that waits anyway asks
    :meth:`remaining` / :meth:`due` (no extra task); a stream written from elsewhere runs
    :meth:`run` as a task, started only once it is a stream (a JSON answer never gets one)."""

    __slots__ = ("every", "idle_since")

    def __init__(self, every: float) -> None:
        self.every = every
        self.idle_since = time.monotonic()

    def touch(self) -> None:
        """Something was written: the stream is not idle."""
        self.idle_since = time.monotonic()

    def remaining(self) -> float:
        """Seconds until the next comment is due (0 when due)."""
        return max(self.every - (time.monotonic() - self.idle_since), 0.0)

    def due(self) -> bool:
        return time.monotonic() - self.idle_since >= self.every

    async def run(self, write: Callable[[bytes], Awaitable[None]]) -> None:
        """Write a comment whenever due, until cancelled; ``write`` must :meth:`touch`."""
        while True:
            await anyio.sleep(max(self.remaining(), 0.01))
            if self.due():
                await write(KEEPALIVE)


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


async def send_one_shot(send: Send, data: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """A complete SSE answer in one write: one event, no id, with ``Content-Length`` (without it
    uvicorn chunk-encodes the body). Nothing is logged: a client that gets any of it gets all of
    it, so there is nothing to resume, and no event id is advertised (an id would invite a resume
    no log can serve)."""
    body = event(None, data)
    head = [*SSE_HEADERS, (b"content-length", b"%d" % len(body))]
    if headers:
        head += headers
    await send({"type": "http.response.start", "status": 200, "headers": head})
    await send({"type": "http.response.body", "body": body})


def priming(event_id: str, retry_ms: int) -> bytes:
    """The first event of every stream: an id to resume from, empty data, and ``retry``
    (2025-11-25 basic/transports#sending-messages-to-the-server; docs/sse-priming.md
    explains why every version gets it)."""
    return b"id: " + event_id.encode() + b"\nretry: " + str(retry_ms).encode() + b"\ndata: \n\n"


def long_lived_response(
    chunks: AsyncIterator[bytes], *, headers: dict[str, str] | None = None
) -> EventSourceResponse:
    """An sse-starlette response over pre-framed chunks. Its ping is off: ``chunks`` carries
    the keepalive comments (a :class:`Keepalive` in the tail that yields them)."""
    return EventSourceResponse(
        chunks,
        headers={
            "Cache-Control": "no-cache, no-transform",
            "X-Accel-Buffering": "no",
            "Content-Encoding": "identity",
            **(headers or {}),
        },
        ping=0,
    )
