"""In-memory implementations of the state protocols: the embedded default, one worker.

Everything here is bounded (see the limits in :class:`MemoryEventLog`) and cycle-free, so
idle sessions cost little and are freed by reference counting.
"""

from __future__ import annotations

import itertools
import time
from array import array
from collections import deque
from collections.abc import Sequence

import anyio

from .events import ONCE_KEPT, Event, check_cursor

__all__ = [
    "DEFAULT_EVENT_MAX_AGE",
    "DEFAULT_FLOW_WAIT",
    "DEFAULT_MAX_STREAM_BYTES",
    "DEFAULT_MAX_STREAM_EVENTS",
    "DEFAULT_MAX_TOTAL_BYTES",
    "MemoryEventLog",
]

# Event-log bounds. A stream keeps at most this many events and bytes (the oldest go first);
# the whole log at most DEFAULT_MAX_TOTAL_BYTES; an event older than DEFAULT_EVENT_MAX_AGE
# seconds is evicted. Sized so a 10,000-event progress stream survives a reconnect while a
# single worker's log stays well under a typical container's memory.
DEFAULT_MAX_STREAM_EVENTS = 10_000
DEFAULT_MAX_STREAM_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_TOTAL_BYTES = 256 * 1024 * 1024
DEFAULT_EVENT_MAX_AGE = 300.0
# How long a writer waits for a live reader that is a full stream bound behind before the
# bounds apply anyway (a reader that stops reading must not hold a handler forever).
DEFAULT_FLOW_WAIT = 10.0


# Events shorter than this are copied when stored, so what the log holds is what it counts.
_COMPACT_BELOW = 64 * 1024
# Events per sealed block of a stream's held data, and the evicted bytes a block may keep
# alive before it is cut (see _Held).
_BLOCK = 128
_DEAD_BYTES = 64 * 1024


class _Held:
    """The events a stream still holds, oldest first. The data of each event is one
    ``bytes`` object, kept in sealed blocks of ``_BLOCK`` (tuples of bytes: the collector
    untracks such a tuple at its first collection) and an open list for the newest; the
    stream's ``appended`` count through each event and its append time are in ``array``s.
    A full garbage collection visits every reference a tracked container holds: a deque of
    per-event tuples made that one visit per held event (25-64 ms for 1,000,000 events, and
    the total bound holds more small ones than that), a stall that could land on any
    request; here it is one per block. Reads hand out the stored bytes (no
    copy). Eviction is from the oldest end: a block goes when its last event does; the
    references to evicted events inside it are dropped once they hold ``_DEAD_BYTES`` (the
    block is cut), so evicted data never outlives its bound by more than that."""

    __slots__ = ("base", "blocks", "count", "dead", "head", "skip", "stamps", "tail", "throughs")

    def __init__(self) -> None:
        self.blocks: deque[tuple[bytes, ...]] = deque()  # sealed, oldest first
        self.tail: list[bytes] = []  # the newest events, sealed into a block at _BLOCK
        self.head = 0  # events of the oldest block (else of the tail) already evicted
        self.dead = 0  # bytes of those events the oldest block still refers to
        self.count = 0  # events held (an attribute, not __len__: this is the append path)
        self.throughs = array("q")  # the stream's `appended` through each event
        self.stamps = array("d")  # when each event was appended (time.monotonic)
        self.skip = 0  # entries of the arrays already evicted
        self.base = 0  # the stream's `appended` before the oldest held event

    def append(self, data: bytes, through: int, at: float) -> None:
        tail = self.tail
        tail.append(data)
        if len(tail) == _BLOCK:
            self.blocks.append(tuple(tail))
            self.tail = []
        self.throughs.append(through)
        self.stamps.append(at)
        self.count += 1

    def oldest_time(self) -> float:
        return self.stamps[self.skip]

    def through(self, index: int) -> int:
        """``appended`` through the held event ``index`` (0: the oldest)."""
        return self.throughs[self.skip + index]

    def popleft(self) -> int:
        """Evict the oldest event; its size."""
        end = self.throughs[self.skip]
        size = end - self.base
        self.base = end
        self.skip += 1
        self.count -= 1
        if self.skip >= 1024 and 2 * self.skip >= len(self.throughs):
            del self.throughs[: self.skip]
            del self.stamps[: self.skip]
            self.skip = 0
        self.head += 1
        if not self.blocks:  # the oldest event is in the open list: let go of it now
            if self.head == len(self.tail):
                self.tail.clear()
                self.head = 0
            else:
                self.tail[self.head - 1] = b""
        elif self.head == len(self.blocks[0]):
            self.blocks.popleft()
            self.head = self.dead = 0
        else:
            self.dead += size
            if self.dead >= _DEAD_BYTES:
                self.blocks[0] = self.blocks[0][self.head :]
                self.head = self.dead = 0
        return size

    def newest(self, count: int, seq: int) -> list[Event]:
        """The ``count`` newest events, numbered from ``seq``: O(count), whatever is held."""
        tail = self.tail
        if count <= len(tail):  # a resume near the end, a live reader keeping up
            return list(enumerate(tail[len(tail) - count :], seq))
        parts: list[Sequence[bytes]] = []
        need = count
        for part in itertools.chain((self.tail,), reversed(self.blocks)):
            if need <= 0:
                break
            taken = part[max(0, len(part) - need) :]
            parts.append(taken)
            need -= len(taken)
        data = parts[0] if len(parts) == 1 else [d for part in reversed(parts) for d in part]
        return list(enumerate(data, seq))

    def clear(self) -> None:
        if self.count:
            self.base = self.throughs[-1]
        self.blocks.clear()
        self.tail = []
        del self.throughs[:]
        del self.stamps[:]
        self.skip = self.count = self.head = self.dead = 0


class _Stream:
    __slots__ = (
        "appended",
        "changed",
        "closed",
        "delivered",
        "delivered_bytes",
        "first",
        "held",
        "id",
        "last",
        "nbytes",
        "once",
        "reader",
        "room",
        "session",
        "stalled",
    )

    def __init__(self, stream_id: str, session: str) -> None:
        self.id = stream_id
        self.session = session
        self.held = _Held()  # events first..last
        self.first = 1  # seq of the oldest event still held (last + 1 when empty)
        self.last = 0
        self.nbytes = 0  # bytes held
        self.appended = 0  # bytes ever appended
        self.closed = False
        self.changed: anyio.Event | None = None  # created only while a reader waits
        # Flow control: the live reader's cursor, and writers waiting for it to catch up.
        self.reader = False
        self.stalled = False  # the reader let a writer's wait run out: the bounds apply
        self.delivered = 0
        self.delivered_bytes = 0  # `appended` as of event `delivered`
        self.room: anyio.Event | None = None  # created only while a writer waits
        self.once: deque[str] | None = None  # append(once=...) ids, newest ONCE_KEPT, on first use

    def evictable(self) -> bool:
        """Whether a size bound may take the oldest held event: not when it is the newest and
        no reader has it yet (only age takes that one), so a final response or a single
        oversized event is always delivered."""
        return self.held.count > 0 and (self.first != self.last or self.delivered >= self.last)

    def bytes_through(self, seq: int) -> int:
        """``appended`` as of event ``seq``."""
        if seq >= self.last:
            return self.appended
        if seq < self.first:  # evicted: count everything before the oldest held event
            return self.held.base if self.held.count else self.appended
        return self.held.through(seq - self.first)


class _Owner:
    """One session's share of the log (for the total bound's fairness)."""

    __slots__ = ("nbytes", "streams")

    def __init__(self) -> None:
        self.streams: dict[str, _Stream] = {}
        self.nbytes = 0


class MemoryEventLog:
    """:class:`~mcp_transport.state.events.EventLog` in this process's memory.

    Bounds (each a constructor argument; docs/http-server.md "Event log bounds"):

    * per stream, ``max_stream_events`` and ``max_stream_bytes``: the oldest events go first,
      never the newest one before a reader got it (a final response or a single event larger
      than the bound is still delivered);
    * the whole log, ``max_total_bytes``: a session holding more than its fair share (the
      bound divided among the sessions with streams) pays for its own appends, otherwise
      the session holding the most bytes loses its oldest events, so one session's flood
      never evicts the events of a session within its share;
    * ``max_age`` seconds per event, applied by :meth:`sweep` to every event;
    * flow control: while a live reader is attached (:meth:`delivered`) and a full stream
      bound behind, :meth:`append` waits for it, at most ``max_wait`` seconds; then the
      reader counts as stalled and the bounds apply until it delivers again.

    Nothing else grows: a stream is held while it is open or holds events; a closed, empty
    stream without a reader is forgotten.
    """

    def __init__(
        self,
        *,
        max_stream_events: int = DEFAULT_MAX_STREAM_EVENTS,
        max_stream_bytes: int = DEFAULT_MAX_STREAM_BYTES,
        max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
        max_age: float = DEFAULT_EVENT_MAX_AGE,
        max_wait: float = DEFAULT_FLOW_WAIT,
    ) -> None:
        self.max_stream_events = max_stream_events
        self.max_stream_bytes = max_stream_bytes
        self.max_total_bytes = max_total_bytes
        self.max_age = max_age
        self.max_wait = max_wait
        self._streams: dict[str, _Stream] = {}
        self._owners: dict[str, _Owner] = {}
        self.total_bytes = 0

    def __len__(self) -> int:
        return len(self._streams)

    async def create(self, stream_id: str, session_id: str) -> None:
        stream = self._streams[stream_id] = _Stream(stream_id, session_id)
        owner = self._owners.get(session_id)
        if owner is None:
            owner = self._owners[session_id] = _Owner()
        owner.streams[stream_id] = stream

    async def append(
        self, stream_id: str, data: bytes, *, last: bool = False, once: str | None = None
    ) -> int:
        stream = self._streams.get(stream_id)
        if stream is not None and self._behind(stream, len(data)):
            await self._wait_for_room(stream, len(data))
        if stream is None or stream.closed or self._streams.get(stream_id) is not stream:
            return 0
        if once is not None:  # one worker never repeats one, but the interface is the same
            if stream.once is None:
                stream.once = deque(maxlen=ONCE_KEPT)
            elif once in stream.once:
                return 0
            stream.once.append(once)
        size = len(data)
        if size < _COMPACT_BELOW:
            # orjson's output keeps its whole initial buffer (about 4 KiB for a 100-byte
            # message): held 10,000 times that is 40 MB where the bound counts 1 MB. A copy
            # holds only the bytes.
            data = bytes(memoryview(data))
        stream.last += 1
        stream.appended += size
        stream.held.append(data, stream.appended, time.monotonic())
        stream.nbytes += size
        self._owners[stream.session].nbytes += size
        self.total_bytes += size
        if last:
            stream.closed = True
        while (
            stream.held.count > self.max_stream_events or stream.nbytes > self.max_stream_bytes
        ) and stream.evictable():
            self._evict_head(stream)
        self._bound_total(stream.session)
        self._notify(stream)
        return stream.last

    async def close(self, stream_id: str) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None and not stream.closed:
            stream.closed = True
            self._notify(stream)
            self._release_writers(stream)  # they find it closed and store nothing
            self._forget_if_done(stream)

    async def read(self, stream_id: str, after: int) -> tuple[list[Event], bool]:
        stream = self._streams[stream_id]
        check_cursor(stream_id, after, stream.first, stream.last)
        count = stream.last - after
        if count <= 0:
            return [], stream.closed
        # From the newest end: O(events replayed), not O(events held).
        return stream.held.newest(count, after + 1), stream.closed

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

    async def delivered(self, stream_id: str, seq: int) -> None:
        stream = self._streams.get(stream_id)
        if stream is None:
            return
        seq = min(seq, stream.last)
        if not stream.reader or seq > stream.delivered:
            stream.stalled = False  # attached, or making progress: writers wait for it again
        stream.reader = True
        stream.delivered = seq
        stream.delivered_bytes = stream.bytes_through(seq)
        self._release_writers(stream)

    async def detach(self, stream_id: str) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            stream.reader = stream.stalled = False
            self._release_writers(stream)
            self._forget_if_done(stream)

    async def cursor(self, stream_id: str) -> int:
        stream = self._streams.get(stream_id)
        return stream.delivered if stream is not None else 0

    async def owner(self, stream_id: str) -> str | None:
        stream = self._streams.get(stream_id)
        return stream.session if stream is not None else None

    async def drop_session(self, session_id: str) -> None:
        owner = self._owners.pop(session_id, None)
        for stream in owner.streams.values() if owner is not None else ():
            del self._streams[stream.id]
            self.total_bytes -= stream.nbytes
            stream.nbytes = 0
            stream.held.clear()
            stream.closed = True
            self._notify(stream)
            self._release_writers(stream)

    async def sweep(self) -> None:
        horizon = time.monotonic() - self.max_age
        for stream in list(self._streams.values()):
            while stream.held.count and stream.held.oldest_time() < horizon:
                self._evict_head(stream)
            self._forget_if_done(stream)

    # -- flow control -------------------------------------------------------------------------

    def _behind(self, stream: _Stream, size: int) -> bool:
        """Whether appending ``size`` bytes would evict an event the live reader has not
        delivered yet."""
        if not stream.reader or stream.stalled or stream.closed:
            return False
        pending = stream.last - stream.delivered
        return pending > 0 and (
            pending >= self.max_stream_events
            or stream.appended - stream.delivered_bytes + size > self.max_stream_bytes
        )

    async def _wait_for_room(self, stream: _Stream, size: int) -> None:
        with anyio.move_on_after(self.max_wait) as scope:
            while self._behind(stream, size):
                if stream.room is None:
                    stream.room = anyio.Event()
                await stream.room.wait()
        if scope.cancelled_caught:
            stream.stalled = True  # gone or too slow: the bounds apply until it delivers again

    def _release_writers(self, stream: _Stream) -> None:
        if stream.room is not None:
            stream.room.set()
            stream.room = None

    # -- bounds ------------------------------------------------------------------------------

    def _bound_total(self, appender: str) -> None:
        """Over the total bound: the appender pays if it holds more than its fair share,
        otherwise the session holding the most; never with an undelivered newest event."""
        while self.total_bytes > self.max_total_bytes:
            owner = self._owners[appender]
            if owner.nbytes * len(self._owners) < self.total_bytes:
                owner = max(self._owners.values(), key=lambda o: o.nbytes)
            victim = min(
                (s for s in owner.streams.values() if s.evictable()),
                key=lambda s: s.held.oldest_time(),
                default=None,
            )
            if victim is None:
                return  # only undelivered newest events are left there; age will take them
            self._evict_head(victim)
            self._forget_if_done(victim)

    def _notify(self, stream: _Stream) -> None:
        if stream.changed is not None:
            stream.changed.set()
            stream.changed = None

    def _evict_head(self, stream: _Stream) -> None:
        size = stream.held.popleft()
        stream.first += 1
        stream.nbytes -= size
        self._owners[stream.session].nbytes -= size
        self.total_bytes -= size

    def _forget_if_done(self, stream: _Stream) -> None:
        """A closed stream with nothing left to replay and no reader cannot be resumed."""
        if (
            stream.closed
            and not stream.held.count
            and not stream.reader
            and self._streams.get(stream.id) is stream
        ):
            del self._streams[stream.id]
            owner = self._owners[stream.session]
            del owner.streams[stream.id]
            if not owner.streams:
                del self._owners[stream.session]
