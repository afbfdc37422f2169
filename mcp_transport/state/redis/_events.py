"""The SSE event log on Redis: one Redis Stream per SSE stream, shared by every worker.

Implements :class:`~mcp_transport.state.events.EventLog`. Event ``seq`` of stream ``sid`` is
the entry ``<seq>-0``, so the event id ``<sid>:<seq>`` names the same event on every worker
and a resume is an XRANGE from ``<after+1>-0``. Bounds are enforced atomically in Lua
(``_scripts.py``); a resume into evicted events raises ResumeGap, never a partial replay
(2025-11-25 basic/transports#resumability-and-redelivery: the server replays the messages
after the last event id, so it must not pretend to when they are gone).
"""

from __future__ import annotations

import anyio

from ...errors import ResumeGap
from ..events import Event, format_event_id
from ..memory import DEFAULT_EVENT_MAX_AGE, DEFAULT_MAX_STREAM_BYTES, DEFAULT_MAX_STREAM_EVENTS
from . import _scripts
from ._connection import RedisConnection

__all__ = ["DEFAULT_STREAM_TTL", "DEFAULT_SWEEP_LIMIT", "RedisEventLog"]

# A stream nobody appended to or read for this many seconds is deleted with its events (the
# backstop when no worker is left to drop its session). Longer than the session idle timeout
# (1800 s), so an idle but live session keeps its streams.
DEFAULT_STREAM_TTL = 3600.0
# Streams one sweep() trims at most (each worker sweeps periodically; the rest wait a round).
DEFAULT_SWEEP_LIMIT = 1000


class RedisEventLog:
    """:class:`~mcp_transport.state.events.EventLog` on Redis.

    Bounds per stream as in the memory log (``max_stream_events``, ``max_stream_bytes``,
    ``max_age``); the total is bounded by the number of streams and Redis's ``maxmemory``
    (with ``noeviction``, a full Redis refuses appends with StateUnavailable). ``ttl``: see
    DEFAULT_STREAM_TTL. ``wake`` releases the waiters on this worker only.
    """

    def __init__(
        self,
        conn: RedisConnection,
        *,
        max_stream_events: int = DEFAULT_MAX_STREAM_EVENTS,
        max_stream_bytes: int = DEFAULT_MAX_STREAM_BYTES,
        max_age: float = DEFAULT_EVENT_MAX_AGE,
        ttl: float = DEFAULT_STREAM_TTL,
    ) -> None:
        self.conn = conn
        self.max_stream_events = max_stream_events
        self.max_stream_bytes = max_stream_bytes
        self.max_age = max_age
        self._ttl = int(ttl * 1000)
        self._touch = (self._ttl, conn.prefix)  # the scripts' last two arguments: renew for ttl
        self._index = conn.key("streams", "by-age")
        client = conn.client
        self._append = client.register_script(_scripts.APPEND)
        self._close = client.register_script(_scripts.CLOSE)
        self._read = client.register_script(_scripts.READ)
        self._drop = client.register_script(_scripts.DROP_SESSION)
        self._sweep = client.register_script(_scripts.SWEEP)
        self._waiters: dict[str, set[anyio.CancelScope]] = {}

    def _keys(self, stream_id: str) -> tuple[str, str]:
        meta = self.conn.key("stream", stream_id)
        return meta, meta + ":events"

    def _session_key(self, session_id: str) -> str:
        return self.conn.key("session", session_id, "streams")

    async def create(self, stream_id: str, session_id: str) -> None:
        meta, events = self._keys(stream_id)
        sessions = self._session_key(session_id)
        with self.conn.unavailable(f"creating stream {stream_id}"):
            async with self.conn.client.pipeline(transaction=True) as pipe:
                pipe.delete(meta, events)
                pipe.hset(
                    meta, mapping={"session": session_id, "first": 1, "last": 0, "bytes": 0, "closed": 0}
                )
                pipe.pexpire(meta, self._ttl)
                pipe.sadd(sessions, stream_id)
                pipe.pexpire(sessions, self._ttl)
                await pipe.execute()

    async def append(self, stream_id: str, data: bytes, *, last: bool = False) -> int:
        bounds = (self.max_stream_events, self.max_stream_bytes, int(self.max_age * 1000), self._ttl)
        with self.conn.unavailable(f"appending to stream {stream_id}"):
            seq = await self._append(
                keys=[*self._keys(stream_id), self._index],
                args=[data, int(last), *bounds, stream_id, self.conn.prefix],
            )
        return int(seq)

    async def close(self, stream_id: str) -> None:
        with self.conn.unavailable(f"closing stream {stream_id}"):
            await self._close(keys=list(self._keys(stream_id)), args=list(self._touch))

    async def read(self, stream_id: str, after: int) -> tuple[list[Event], bool]:
        with self.conn.unavailable(f"reading stream {stream_id}"):
            found = await self._read(keys=list(self._keys(stream_id)), args=[f"{after + 1}-0", *self._touch])
        if found is None:
            raise KeyError(stream_id)
        first, closed, entries = int(found[0]), found[1] == b"1", found[2]
        if after + 1 < first:
            raise _gap(stream_id, after, first)
        # Entries <seq>-n with n >= 1 only wake readers: skip them.
        return [
            (int(entry_id[:-2]), fields[1]) for entry_id, fields in entries if entry_id.endswith(b"-0")
        ], closed

    async def wait(self, stream_id: str, after: int, timeout: float) -> None:
        """Blocks in XREAD BLOCK, so an append or close by any worker wakes it; returns
        early after the connection's ``max_block`` (the caller reads and waits again)."""
        block = int(min(timeout, self.conn.max_block) * 1000)
        if block <= 0:
            return
        waiters = self._waiters.setdefault(stream_id, set())
        with anyio.CancelScope() as scope:
            waiters.add(scope)
            try:
                with self.conn.unavailable(f"waiting on stream {stream_id}"):
                    await self.conn.client.xread(
                        {self._keys(stream_id)[1]: f"{after}-0"}, count=1, block=block
                    )
            finally:
                waiters.discard(scope)
                if not waiters:
                    self._waiters.pop(stream_id, None)

    def wake(self, stream_id: str) -> None:
        for scope in self._waiters.get(stream_id, ()):
            scope.cancel()  # the blocked XREAD's connection is dropped, not reused

    async def owner(self, stream_id: str) -> str | None:
        with self.conn.unavailable(f"looking up stream {stream_id}"):
            session = await self.conn.client.hget(self._keys(stream_id)[0], "session")
        return session.decode() if isinstance(session, bytes) else session

    async def drop_session(self, session_id: str) -> None:
        with self.conn.unavailable(f"dropping the streams of session {session_id}"):
            await self._drop(keys=[self._session_key(session_id), self._index], args=[self.conn.prefix])

    async def sweep(self) -> None:
        bounds = (
            self.max_stream_events,
            self.max_stream_bytes,
            int(self.max_age * 1000),
            DEFAULT_SWEEP_LIMIT,
        )
        with self.conn.unavailable("sweeping the event log"):
            await self._sweep(keys=[self._index], args=[self.conn.prefix, *bounds])


def _gap(stream_id: str, after: int, first: int) -> ResumeGap:
    return ResumeGap(
        f"Cannot resume stream {stream_id} after event {format_event_id(stream_id, after)}: "
        f"events up to {format_event_id(stream_id, first - 1)} were evicted from the bounded event log; "
        "re-send the request",
        {"streamId": stream_id, "oldestAvailable": first},
    )
