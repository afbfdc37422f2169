"""In-memory implementations of the state protocols: the embedded default, one worker.

Everything here is bounded (see the limits in :class:`MemoryEventLog`) and cycle-free, so
idle sessions cost little and are freed by reference counting.
"""

from __future__ import annotations

import time
from collections import deque
from itertools import islice
from typing import Generic, TypeVar

import anyio

from ..errors import ResumeGap
from ..jsonrpc import Message
from .bus import Deliver
from .events import Event, format_event_id
from .sessions import SessionRecord

__all__ = [
    "DEFAULT_EVENT_MAX_AGE",
    "DEFAULT_MAX_STREAM_BYTES",
    "DEFAULT_MAX_STREAM_EVENTS",
    "DEFAULT_MAX_TOTAL_BYTES",
    "MemoryBus",
    "MemoryEventLog",
    "MemorySessionStore",
]

T = TypeVar("T", bound=SessionRecord)

# Event-log bounds. A stream keeps at most this many events and bytes (the oldest go first);
# the whole log at most DEFAULT_MAX_TOTAL_BYTES; an event older than DEFAULT_EVENT_MAX_AGE
# seconds is evicted. Sized so a 10,000-event progress stream survives a reconnect while a
# single worker's log stays well under a typical container's memory.
DEFAULT_MAX_STREAM_EVENTS = 10_000
DEFAULT_MAX_STREAM_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_TOTAL_BYTES = 256 * 1024 * 1024
DEFAULT_EVENT_MAX_AGE = 300.0


class MemorySessionStore(Generic[T]):
    """A dict of live sessions with idle expiry."""

    __slots__ = ("_sessions",)

    def __init__(self) -> None:
        self._sessions: dict[str, T] = {}

    async def add(self, session: T, limit: int) -> bool:
        if len(self._sessions) >= limit:
            return False
        self._sessions[session.id] = session
        return True

    async def get(self, session_id: str) -> T | None:
        return self._sessions.get(session_id)

    async def acquire(self, session_id: str) -> T | None:
        session = self._sessions.get(session_id)
        if session is not None:
            session.busy += 1
        return session

    async def release(self, session: T) -> None:
        session.busy -= 1
        session.last_active = time.monotonic()

    async def remove(self, session_id: str) -> T | None:
        return self._sessions.pop(session_id, None)

    async def count(self) -> int:
        return len(self._sessions)

    async def all(self) -> list[T]:
        return list(self._sessions.values())

    async def expire(self, now: float, idle_timeout: float, init_timeout: float) -> list[T]:
        gone = [
            s
            for s in self._sessions.values()
            if not s.busy and (now - s.last_active > idle_timeout or (not s.ready and now - s.created > init_timeout))
        ]
        for s in gone:
            del self._sessions[s.id]
        return gone


class _Stream:
    __slots__ = ("changed", "closed", "events", "first", "id", "last", "nbytes", "session")

    def __init__(self, stream_id: str, session: str) -> None:
        self.id = stream_id
        self.session = session
        self.events: deque[tuple[int, bytes, float]] = deque()
        self.first = 1  # seq of the oldest event still held (last + 1 when empty)
        self.last = 0
        self.nbytes = 0
        self.closed = False
        self.changed: anyio.Event | None = None  # created only while someone waits


class MemoryEventLog:
    """:class:`~mcp_transport.state.events.EventLog` in this process's memory."""

    def __init__(
        self,
        *,
        max_stream_events: int = DEFAULT_MAX_STREAM_EVENTS,
        max_stream_bytes: int = DEFAULT_MAX_STREAM_BYTES,
        max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
        max_age: float = DEFAULT_EVENT_MAX_AGE,
    ) -> None:
        self.max_stream_events = max_stream_events
        self.max_stream_bytes = max_stream_bytes
        self.max_total_bytes = max_total_bytes
        self.max_age = max_age
        self._streams: dict[str, _Stream] = {}
        self._by_session: dict[str, list[str]] = {}
        # Every held event in append order, for the total-bytes and age bounds.
        self._order: deque[tuple[_Stream, int, int, float]] = deque()
        self.total_bytes = 0

    def __len__(self) -> int:
        return len(self._streams)

    async def create(self, stream_id: str, session_id: str) -> None:
        self._streams[stream_id] = _Stream(stream_id, session_id)
        self._by_session.setdefault(session_id, []).append(stream_id)

    async def append(self, stream_id: str, data: bytes, *, last: bool = False) -> int:
        stream = self._streams.get(stream_id)
        if stream is None or stream.closed:
            return 0
        now = time.monotonic()
        stream.last += 1
        seq = stream.last
        stream.events.append((seq, data, now))
        stream.nbytes += len(data)
        self._order.append((stream, seq, len(data), now))
        self.total_bytes += len(data)
        if last:
            stream.closed = True
        while len(stream.events) > self.max_stream_events or stream.nbytes > self.max_stream_bytes:
            self._evict_head(stream)
        while self.total_bytes > self.max_total_bytes and self._order:
            self._evict_oldest()
        self._notify(stream)
        return seq

    async def close(self, stream_id: str) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None and not stream.closed:
            stream.closed = True
            self._notify(stream)

    async def read(self, stream_id: str, after: int) -> tuple[list[Event], bool]:
        stream = self._streams[stream_id]
        if after + 1 < stream.first:
            raise ResumeGap(
                f"Cannot resume stream {stream_id} after event {format_event_id(stream_id, after)}: "
                f"events up to {format_event_id(stream_id, stream.first - 1)} were evicted from the bounded event log; "
                "re-send the request",
                {"streamId": stream_id, "oldestAvailable": stream.first},
            )
        events = stream.events
        if not events or after >= stream.last:
            return [], stream.closed
        skip = max(0, after + 1 - events[0][0])
        return [(seq, data) for seq, data, _ in islice(events, skip, None)], stream.closed

    async def wait(self, stream_id: str, after: int, timeout: float) -> None:
        stream = self._streams.get(stream_id)
        if stream is None or stream.closed or stream.last > after:
            return
        if stream.changed is None:
            stream.changed = anyio.Event()
        with anyio.move_on_after(timeout):
            await stream.changed.wait()

    def wake(self, stream_id: str) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            self._notify(stream)

    async def owner(self, stream_id: str) -> str | None:
        stream = self._streams.get(stream_id)
        return stream.session if stream is not None else None

    async def drop_session(self, session_id: str) -> None:
        for stream_id in self._by_session.pop(session_id, ()):
            stream = self._streams.pop(stream_id, None)
            if stream is not None:
                self.total_bytes -= stream.nbytes
                stream.nbytes = 0
                stream.events.clear()
                stream.closed = True
                self._notify(stream)
        # Their entries in _order are skipped lazily (the stream no longer holds them).

    async def sweep(self) -> None:
        horizon = time.monotonic() - self.max_age
        while self._order and self._order[0][3] < horizon:
            self._evict_oldest()

    def _notify(self, stream: _Stream) -> None:
        if stream.changed is not None:
            stream.changed.set()
            stream.changed = None

    def _evict_head(self, stream: _Stream) -> None:
        seq, data, _ = stream.events.popleft()
        stream.first = seq + 1
        stream.nbytes -= len(data)
        self.total_bytes -= len(data)

    def _evict_oldest(self) -> None:
        stream, seq, _, _ = self._order.popleft()
        if stream.events and stream.events[0][0] == seq:
            self._evict_head(stream)
        if not stream.events and stream.closed and self._streams.get(stream.id) is stream:
            # A closed stream with nothing left to replay cannot be resumed: forget it.
            del self._streams[stream.id]
            ids = self._by_session.get(stream.session)
            if ids is not None:
                ids.remove(stream.id)
                if not ids:
                    del self._by_session[stream.session]


class MemoryBus:
    """Direct delivery on this worker."""

    __slots__ = ("_subscribers",)

    def __init__(self) -> None:
        self._subscribers: dict[str, Deliver] = {}

    def subscribe(self, session_id: str, deliver: Deliver) -> None:
        self._subscribers[session_id] = deliver

    def unsubscribe(self, session_id: str) -> None:
        self._subscribers.pop(session_id, None)

    async def publish(self, session_id: str, message: Message) -> bool:
        deliver = self._subscribers.get(session_id)
        if deliver is None:
            return False
        await deliver(message)
        return True
