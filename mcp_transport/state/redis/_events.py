"""The SSE event log on Redis: one Redis Stream per SSE stream, shared by every worker.

Implements :class:`~mcp_transport.state.events.EventLog`. Event ``seq`` of stream ``sid`` is
the entry ``<seq>-0``, so the event id ``<sid>:<seq>`` names the same event on every worker
and a resume is an XRANGE from ``<after+1>-0``. Bounds are enforced atomically in Lua
(``_scripts.py``); a resume into evicted events raises ResumeGap, never a partial replay
(2025-11-25 basic/transports#resumability-and-redelivery: the server replays the messages
after the last event id, so it must not pretend to when they are gone). Flow control crosses
workers: the live reader's cursor is in the stream's hash, and a writer it holds back blocks
in XREAD on the stream's cursor stream, which the reader's progress appends to.
"""

from __future__ import annotations

from typing import Any

import anyio

from ..events import Event, check_cursor
from ..memory import (
    DEFAULT_EVENT_MAX_AGE,
    DEFAULT_FLOW_WAIT,
    DEFAULT_MAX_STREAM_BYTES,
    DEFAULT_MAX_STREAM_EVENTS,
)
from . import _scripts
from ._connection import RedisConnection

__all__ = ["DEFAULT_MAX_SESSION_BYTES", "DEFAULT_STREAM_TTL", "DEFAULT_SWEEP_LIMIT", "RedisEventLog"]

# A stream nobody appended to or read for this many seconds is deleted with its events (the
# backstop when no worker is left to drop its session). Longer than the session idle timeout
# (1800 s), so an idle but live session keeps its streams.
DEFAULT_STREAM_TTL = 3600.0
# Streams one sweep() trims at most (each worker sweeps periodically; the rest wait a round).
DEFAULT_SWEEP_LIMIT = 1000
# Bytes one session's streams hold at most: over it, that session loses its own oldest
# events. Two full streams (a GET stream and one POST stream at the per-stream byte bound).
DEFAULT_MAX_SESSION_BYTES = 2 * DEFAULT_MAX_STREAM_BYTES


class RedisEventLog:
    """:class:`~mcp_transport.state.events.EventLog` on Redis, with the memory log's policy
    (docs/http-server.md "Event log bounds and flow control") except the total bound.

    Per stream ``max_stream_events``, ``max_stream_bytes`` (never the newest event before a
    reader got it) and ``max_age`` (applied by :meth:`sweep`); flow control with ``max_wait``,
    the writer's wait woken by the reader's progress on any worker. Fairness is a bound per
    session, ``max_session_bytes``: a session over it pays with its own oldest events, so a
    flood never evicts another session's events. There is no total bound in the log: the
    total is the sessions times their bound, capped by Redis's ``maxmemory`` (with
    ``noeviction``, a full Redis refuses appends with StateUnavailable). ``ttl``: see
    DEFAULT_STREAM_TTL. ``wake`` releases the waiters on this worker only.
    """

    def __init__(
        self,
        conn: RedisConnection,
        *,
        max_stream_events: int = DEFAULT_MAX_STREAM_EVENTS,
        max_stream_bytes: int = DEFAULT_MAX_STREAM_BYTES,
        max_session_bytes: int = DEFAULT_MAX_SESSION_BYTES,
        max_age: float = DEFAULT_EVENT_MAX_AGE,
        max_wait: float = DEFAULT_FLOW_WAIT,
        ttl: float = DEFAULT_STREAM_TTL,
    ) -> None:
        self.conn = conn
        self.max_stream_events = max_stream_events
        self.max_stream_bytes = max_stream_bytes
        self.max_session_bytes = max_session_bytes
        self.max_age = max_age
        self.max_wait = max_wait
        self._ttl = int(ttl * 1000)
        self._common = (conn.prefix, self._ttl)  # every script's first two arguments
        client = conn.client
        self._scripts = {
            name: client.register_script(getattr(_scripts, name.upper()))
            for name in ("append", "delivered", "detach", "close", "read", "drop_session", "sweep")
        }
        self._waiters: dict[str, set[anyio.CancelScope]] = {}

    async def _run(self, script: str, doing: str, *args: str | bytes | int) -> Any:
        """One script, one round trip."""
        with self.conn.unavailable(doing):
            return await self._scripts[script](args=[*self._common, *args])

    def _key(self, stream_id: str, what: str = "") -> str:
        return self.conn.key("stream", stream_id, what) if what else self.conn.key("stream", stream_id)

    async def create(self, stream_id: str, session_id: str) -> None:
        meta = self._key(stream_id)
        streams = self.conn.key("session", session_id, "streams")
        counter = self.conn.key("session", session_id, "bytes")
        fields: dict[str, str | int] = {"session": session_id, "first": 1}
        fields.update(
            dict.fromkeys(("last", "bytes", "appended", "delivered", "dbytes", "closed", "reader"), 0)
        )
        with self.conn.unavailable(f"creating stream {stream_id}"):
            async with self.conn.client.pipeline(transaction=True) as pipe:
                pipe.delete(meta, self._key(stream_id, "events"), self._key(stream_id, "cursor"))
                pipe.hset(meta, mapping=fields)  # type: ignore[arg-type]  # redis-py's mapping type is invariant
                pipe.sadd(streams, stream_id)
                pipe.incrby(counter, 0)
                for key in (meta, streams, counter):
                    pipe.pexpire(key, self._ttl)
                await pipe.execute()

    async def append(
        self, stream_id: str, data: bytes, *, last: bool = False, once: str | None = None
    ) -> int:
        """One round trip, unless the live reader is a full stream bound behind: then wait
        for its progress (on any worker) at most ``max_wait``, and append anyway after."""
        bounds = (self.max_stream_events, self.max_stream_bytes, self.max_session_bytes)
        doing = f"appending to stream {stream_id}"
        deadline, force = None, 0
        while True:
            seq = await self._run("append", doing, stream_id, data, int(last), *bounds, force, once or "")
            if not isinstance(seq, list):
                return int(seq)
            now = anyio.current_time()
            deadline = now + self.max_wait if deadline is None else deadline
            if now >= deadline:
                force = 1  # the reader let the wait run out: it counts as stalled
                continue
            block = max(1, int(min(deadline - now, self.conn.max_block) * 1000))
            with self.conn.unavailable(f"waiting for the reader of stream {stream_id}"):
                await self.conn.client.xread({self._key(stream_id, "cursor"): seq[0]}, count=1, block=block)

    async def delivered(self, stream_id: str, seq: int) -> None:
        await self._run("delivered", f"moving the cursor of stream {stream_id}", stream_id, seq)

    async def detach(self, stream_id: str) -> None:
        await self._run("detach", f"detaching the reader of stream {stream_id}", stream_id)

    async def close(self, stream_id: str) -> None:
        await self._run("close", f"closing stream {stream_id}", stream_id)

    async def read(self, stream_id: str, after: int) -> tuple[list[Event], bool]:
        found = await self._run("read", f"reading stream {stream_id}", stream_id, f"{after + 1}-0")
        if found is None:
            raise KeyError(stream_id)
        first, last, closed, entries = found
        check_cursor(stream_id, after, int(first), int(last))
        # Entries <seq>-n with n >= 1 only wake readers: skip them.
        return [
            (int(entry_id[:-2]), fields[1]) for entry_id, fields in entries if entry_id.endswith(b"-0")
        ], closed == 1

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
                        {self._key(stream_id, "events"): f"{after}-0"}, count=1, block=block
                    )
            finally:
                waiters.discard(scope)
                if not waiters:
                    self._waiters.pop(stream_id, None)

    def wake(self, stream_id: str) -> None:
        for scope in self._waiters.get(stream_id, ()):
            scope.cancel()  # the blocked XREAD's connection is dropped, not reused

    async def cursor(self, stream_id: str) -> int:
        with self.conn.unavailable(f"reading the cursor of stream {stream_id}"):
            seq = await self.conn.client.hget(self._key(stream_id), "delivered")
        return int(seq) if seq is not None else 0

    async def owner(self, stream_id: str) -> str | None:
        with self.conn.unavailable(f"looking up stream {stream_id}"):
            session = await self.conn.client.hget(self._key(stream_id), "session")
        return session.decode() if isinstance(session, bytes) else session

    async def drop_session(self, session_id: str) -> None:
        await self._run("drop_session", f"dropping the streams of session {session_id}", session_id)

    async def sweep(self) -> None:
        await self._run("sweep", "sweeping the event log", int(self.max_age * 1000), DEFAULT_SWEEP_LIMIT)
