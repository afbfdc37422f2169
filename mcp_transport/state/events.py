"""The SSE event log: the delivery path of the legacy HTTP leg (docs/architecture.md,
"Where state lives").

Every SSE stream (a POST's response stream or a session's GET stream) is an append-only log
keyed by a stream id. Writers append; an HTTP response tails the log from a cursor; a client
that lost its connection resumes the tail with ``Last-Event-ID``. An event id is
``<stream-id>:<seq>``: the stream id is random (unique across sessions, streams and workers)
and ``seq`` counts from 1 within the stream, so an id names its stream and its position.
``<stream-id>:0`` is the position before the first event (the priming event's id).

The interface is shaped for a Redis implementation (one Redis Stream per SSE stream: XADD,
XRANGE/XREAD BLOCK, MAXLEN, key TTL): every call names the stream, appends return the new
sequence number, and reads are "everything after a cursor".

Flow (the policy every implementation keeps): a stream's live reader reports how far it has
delivered (:meth:`EventLog.delivered`). While it is a full stream bound behind, ``append``
waits for it, for a bounded time, instead of evicting events it has not seen; a reader that
is gone (:meth:`EventLog.detach`) or lets that wait run out leaves the log's bounds to apply.
The newest event of a stream is never evicted by a size bound before a reader got it. In
Redis: the cursor is a key the reader SETs and PUBLISHes, the writer's wait a bounded
subscribe; the bounds are XADD MAXLEN plus per-session byte counters.
"""

from __future__ import annotations

from typing import Protocol

from ..errors import ResumeGap

# The ``once`` ids (EventLog.append) a stream remembers, its newest: a server-wide notification
# reaches a session's stream from its publisher and from its new GET holder within moments of
# each other, with at most a few other notifications in between.
ONCE_KEPT = 64

__all__ = ["Event", "EventLog", "check_cursor", "format_event_id", "parse_event_id"]

Event = tuple[int, bytes]
"""One logged event: its sequence number in the stream and its data (one JSON-RPC message)."""


def format_event_id(stream_id: str, seq: int) -> str:
    return f"{stream_id}:{seq}"


def parse_event_id(event_id: str) -> tuple[str, int] | None:
    """``(stream_id, seq)`` from an event id, or None when it is not one of ours."""
    stream_id, sep, seq = event_id.strip(" \t").rpartition(":")
    if not sep or not stream_id or not seq.isdigit() or len(seq) > 18:
        return None
    return stream_id, int(seq)


def check_cursor(stream_id: str, after: int, first: int, last: int) -> None:
    """What every log's ``read`` raises for a cursor it cannot serve from events
    ``first..last``: ValueError past the last event, ResumeGap when events after it are gone."""
    if after > last:
        sent = format_event_id(stream_id, last)
        raise ValueError(f"no event {format_event_id(stream_id, after)} was sent: the last is {sent}")
    if after + 1 < first:
        raise ResumeGap(
            f"Cannot resume stream {stream_id} after event {format_event_id(stream_id, after)}: "
            f"events up to {format_event_id(stream_id, first - 1)} were evicted from the bounded event log; "
            "re-send the request",
            {"streamId": stream_id, "oldestAvailable": first},
        )


class EventLog(Protocol):
    """Bounded, append-only event streams, each owned by one session.

    A read that asks for events the log has already evicted raises
    :class:`~mcp_transport.errors.ResumeGap`; a partial replay never happens silently.
    """

    async def create(self, stream_id: str, session_id: str) -> None:
        """Open an empty stream owned by ``session_id``."""

    async def append(
        self, stream_id: str, data: bytes, *, last: bool = False, once: str | None = None
    ) -> int:
        """Append one event and return its sequence number. ``last`` also closes the stream
        (its final event, e.g. the response of a POST). Appending to an unknown or closed
        stream returns 0 and stores nothing. May wait (bounded) for the live reader.
        ``once``: an id this stream takes one event for, whoever appends it (a server-wide
        notification, which with several workers both its publisher and the session's GET
        holder may deliver); a repeat among the last ``ONCE_KEPT`` returns 0, stores nothing."""

    async def close(self, stream_id: str) -> None:
        """Mark a stream finished without a final event (its request was cancelled)."""

    async def read(self, stream_id: str, after: int) -> tuple[list[Event], bool]:
        """Events after sequence ``after`` and whether the stream is closed (no more will
        come). Raises ResumeGap when events after ``after`` were evicted, KeyError for an
        unknown stream, ValueError when ``after`` is beyond the last event (never sent)."""

    async def wait(self, stream_id: str, after: int, timeout: float) -> None:
        """Return when the stream has events after ``after``, is closed, is woken, or
        ``timeout`` seconds pass."""

    async def delivered(self, stream_id: str, seq: int) -> None:
        """A live reader has written every event up to ``seq`` to its client and goes on
        reading (the first call attaches it; a resume may move the cursor back). ``append``
        waits for this reader, bounded, rather than evict what it has not delivered."""

    async def detach(self, stream_id: str) -> None:
        """The live reader is gone: appends stop waiting and the bounds apply."""

    async def cursor(self, stream_id: str) -> int:
        """The last ``seq`` a live reader reported delivered (kept after it detaches, so a
        new reader on any worker continues from there); 0 for a new or unknown stream."""

    def wake(self, stream_id: str) -> None:
        """Release the waiters of a stream (a reader was taken over or told to stop)."""

    async def owner(self, stream_id: str) -> str | None:
        """The session that owns a stream, or None if the stream is unknown."""

    async def drop_session(self, session_id: str) -> None:
        """Forget every stream of a session (it was deleted or expired)."""

    async def sweep(self) -> None:
        """Evict events older than the age limit and forget finished streams (called
        periodically)."""
