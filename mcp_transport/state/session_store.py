"""Where legacy HTTP sessions live when any worker may serve any request: the record-based
:class:`SessionStore` protocol and its in-memory implementation.

The store holds :class:`~mcp_transport.state.records.SessionRecord` values (plain data), never
a worker's live objects: each worker keeps its own dispatcher and open responses for the
sessions it runs, and re-hydrates a session it has not seen from the record.
``mcp_transport.state.redis.RedisSessionStore`` is the shared implementation.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

from .records import SessionRecord, check_changes

__all__ = ["MemorySessionStore", "SessionStore"]


class SessionStore(Protocol):
    """Each method is one atomic step of the store: another task, or another worker, may run
    between two calls, never inside one. That is why the cap check is part of :meth:`create`,
    the busy mark part of :meth:`acquire`, and :meth:`update` can compare and set."""

    async def create(self, record: SessionRecord, limit: int) -> bool:
        """Store a new session unless ``limit`` sessions exist; False if full. (A count
        followed by a create would let concurrent initializes past the cap.) ValueError if
        the id is taken."""
        ...

    async def get(self, session_id: str) -> SessionRecord | None:
        """The record, without starting work on the session (it may expire at any time)."""
        ...

    async def acquire(self, session_id: str) -> SessionRecord | None:
        """Start work on a session: busy + 1 and last_active = now in the same step (so
        :meth:`expire` cannot take it between the lookup and the work). Pair every hit with
        :meth:`release`."""
        ...

    async def release(self, session_id: str) -> None:
        """The work :meth:`acquire` started is over: busy - 1, idle time counts from now.
        Nothing happens for a session that is gone (it was removed meanwhile). A shared
        store may keep this to itself until :meth:`flush` (other workers see the session
        busy until then: it expires late, never early)."""
        ...

    async def flush(self) -> None:
        """Tell the store what :meth:`release` kept back (call it periodically, and before
        the worker stops). Raises StateUnavailable when the store cannot take it; what it
        did not take stays for the next call."""
        ...

    async def update(
        self, session_id: str, *, expect: Mapping[str, Any] | None = None, **changes: Any
    ) -> SessionRecord | None:
        """Change fields of :data:`~mcp_transport.state.records.UPDATABLE` in one step; with
        ``expect``, only if those fields hold those values now (compare-and-set: a GET
        takeover sets ``get_holder`` expecting the holder it saw). The record after the
        change, or None if the session is gone or an expectation failed."""
        ...

    async def remove(self, session_id: str) -> SessionRecord | None:
        """Forget the session (busy or not: a DELETE runs inside a request of its own)."""
        ...

    async def count(self) -> int: ...

    async def expire(self, now: float, idle_timeout: float, init_timeout: float) -> list[SessionRecord]:
        """Remove and return the sessions that are not busy and were idle for longer than
        ``idle_timeout`` seconds or never became ready within ``init_timeout`` of creation.
        ``now`` is wall-clock time. A busy session never expires."""
        ...


def matches(record: SessionRecord, expect: Mapping[str, Any] | None) -> bool:
    if not expect:
        return True
    check_changes(expect, "expect")
    return all(getattr(record, name) == _normal(name, value) for name, value in expect.items())


def _normal(name: str, value: Any) -> Any:
    return frozenset(value) if name == "subscriptions" else value


class MemorySessionStore:
    """Records in a dict, for one worker (one process is the whole deployment). Bounded by the
    ``limit`` each :meth:`create` is given (the transport's ``max_sessions``): about 1 KB per
    session beyond what its client sent in capabilities and info.

    A release is noted in ``_released`` (busy, last active) and folded into the record when
    it is next read: every request acquires and releases, and a frozen record copied once
    per request instead of twice: the store's share of a request nearly halves."""

    __slots__ = ("_records", "_released")

    def __init__(self) -> None:
        self._records: dict[str, SessionRecord] = {}
        self._released: dict[str, tuple[int, float]] = {}  # keys: a subset of _records'

    def _current(self, session_id: str) -> SessionRecord | None:
        record = self._records.get(session_id)
        released = self._released.pop(session_id, None)
        if record is not None and released is not None:
            record = self._records[session_id] = record.touched(*released)
        return record

    async def create(self, record: SessionRecord, limit: int) -> bool:
        if record.id in self._records:
            raise ValueError(f"session id {record.id!r} is taken")
        if len(self._records) >= limit:
            return False
        self._records[record.id] = replace(record, busy=0)
        return True

    async def get(self, session_id: str) -> SessionRecord | None:
        return self._current(session_id)

    async def acquire(self, session_id: str) -> SessionRecord | None:
        record = self._records.get(session_id)
        if record is not None:
            released = self._released.pop(session_id, None)
            busy = record.busy if released is None else released[0]
            record = self._records[session_id] = record.touched(busy + 1, time.time())
        return record

    async def release(self, session_id: str) -> None:
        record = self._records.get(session_id)
        if record is not None:
            released = self._released.get(session_id)
            busy = record.busy if released is None else released[0]
            self._released[session_id] = (max(busy - 1, 0), time.time())

    async def flush(self) -> None:
        """Nothing kept back: release() takes effect at once."""

    async def update(
        self, session_id: str, *, expect: Mapping[str, Any] | None = None, **changes: Any
    ) -> SessionRecord | None:
        check_changes(changes)
        record = self._current(session_id)
        if record is None or not matches(record, expect):
            return None
        record = self._records[session_id] = replace(record, **changes)
        return record

    async def remove(self, session_id: str) -> SessionRecord | None:
        record = self._current(session_id)
        self._records.pop(session_id, None)
        return record

    async def count(self) -> int:
        return len(self._records)

    async def expire(self, now: float, idle_timeout: float, init_timeout: float) -> list[SessionRecord]:
        for session_id in list(self._released):
            self._current(session_id)
        gone = [r for r in self._records.values() if expired(r, now, idle_timeout, init_timeout)]
        for record in gone:
            del self._records[record.id]
        return gone


def expired(record: SessionRecord, now: float, idle_timeout: float, init_timeout: float) -> bool:
    if record.busy:
        return False
    return now - record.last_active > idle_timeout or (
        not record.ready and now - record.created > init_timeout
    )
