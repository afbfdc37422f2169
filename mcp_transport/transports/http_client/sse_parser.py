"""An incremental ``text/event-stream`` parser (WHATWG HTML §9.2.6), sans-IO.

Feed it bytes as they arrive; it returns the complete events. No sockets, no event loop.

One deliberate difference from a browser's EventSource: an event block with an empty data
buffer is still returned (with ``data == ""``) when it carried an ``id`` or ``retry`` field.
MCP servers send such a *priming event* first on every resumable stream
(2025-11-25 basic/transports#sending-messages-to-the-server), and
the transport wants to see it: it proves the stream is healthy and gives a resume cursor.
``id`` keeps the WHATWG meaning either way: the last event id seen on the stream so far.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_EVENT_BYTES", "EventTooLarge", "SSEParser", "ServerSentEvent"]

# One event (all its lines) may hold at most this many bytes. Matches the stdio line limit
# and the server's body limit, so a message that fits one transport fits the others; like
# h11's DEFAULT_MAX_INCOMPLETE_EVENT_SIZE it stops a peer from growing our buffer forever.
MAX_EVENT_BYTES = 4 * 1024 * 1024 + 1024


class EventTooLarge(ValueError):
    """An event grew past ``max_event_bytes`` before its terminating blank line."""


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event. ``id`` is the stream's last event id (it persists across events)."""

    data: str = ""
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEParser:
    """Bytes in, :class:`ServerSentEvent` out.

    Lines end with CRLF, LF or CR (a CR at the end of one chunk and an LF at the start of the
    next count once). Comment lines (``:``) and unknown fields are ignored; multi-line ``data``
    is joined with newlines; ``retry`` takes only ASCII digits; an ``id`` containing NUL is
    ignored. A leading UTF-8 BOM is dropped.
    """

    __slots__ = (
        "_block_bytes",
        "_buffer",
        "_data",
        "_event",
        "_has_fields",
        "_retry_in_block",
        "_skip_lf",
        "_started",
        "last_event_id",
        "max_event_bytes",
        "retry",
    )

    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self.max_event_bytes = max_event_bytes
        self.last_event_id: str | None = None
        self.retry: int | None = None  # the latest reconnection time the server asked for, ms
        self._buffer = bytearray()
        self._skip_lf = False
        self._started = False
        self._reset_block()

    def _reset_block(self) -> None:
        self._data: list[str] = []
        self._event = ""
        self._has_fields = False
        self._retry_in_block: int | None = None
        self._block_bytes = 0

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Parse more of the stream; return the events it completed."""
        if self._skip_lf and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._skip_lf = False
        if not self._started and chunk:
            self._buffer += chunk
            if len(self._buffer) < 3 and b"\xef\xbb\xbf".startswith(bytes(self._buffer)):
                return []  # could still be a BOM
            self._started = True
            chunk = bytes(self._buffer).removeprefix(b"\xef\xbb\xbf")
            self._buffer.clear()
        events: list[ServerSentEvent] = []
        for line in self._lines(chunk):
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _lines(self, chunk: bytes) -> list[bytes]:
        lines: list[bytes] = []
        start = 0
        size = len(chunk)
        while start < size:
            cr = chunk.find(b"\r", start)
            lf = chunk.find(b"\n", start)
            ends = [i for i in (cr, lf) if i >= 0]
            if not ends:
                break
            end = min(ends)
            lines.append(bytes(self._buffer) + chunk[start:end])
            self._buffer.clear()
            if chunk[end] == 13:  # CR: a following LF belongs to the same line break
                if end + 1 < size:
                    start = end + 2 if chunk[end + 1] == 10 else end + 1
                    continue
                self._skip_lf = True
            start = end + 1
        self._buffer += chunk[start:]
        if self._block_bytes + len(self._buffer) > self.max_event_bytes:
            raise EventTooLarge(f"an SSE event exceeds the {self.max_event_bytes}-byte limit")
        return lines

    def _line(self, raw: bytes) -> ServerSentEvent | None:
        if not raw:
            return self._dispatch()
        self._block_bytes += len(raw) + 1
        if self._block_bytes > self.max_event_bytes:
            raise EventTooLarge(f"an SSE event exceeds the {self.max_event_bytes}-byte limit")
        line = raw.decode("utf-8", "replace")
        if line.startswith(":"):
            return None  # comment (keep-alive)
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\x00" in value:
                return None
            self.last_event_id = value
        elif name == "retry":
            if not value.isascii() or not value.isdigit():
                return None
            self.retry = self._retry_in_block = int(value)
        else:
            return None  # unknown field
        self._has_fields = True
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._has_fields:
            self._reset_block()
            return None
        event = ServerSentEvent(
            data="\n".join(self._data),
            event=self._event or "message",
            id=self.last_event_id,
            retry=self._retry_in_block,
        )
        self._reset_block()
        return event
