"""Where legacy HTTP sessions live today: the live-object :class:`SessionStore` protocol.

Transitional: the HTTP transport still keeps its live ``_Session`` objects here. The
record-based store that several workers can share is :mod:`mcp_transport.state.session_store`
(records in :mod:`mcp_transport.state.records`); once the transport adopts it, this protocol
and ``memory.MemorySessionStore`` go.

A store maps a session id to the worker's live session object and knows when each session
was last active, so it can expire idle ones. The in-memory implementation holds the objects
themselves; a Redis implementation would keep the serializable part (id, negotiated
version, principal, last activity as a key TTL) so any worker can re-hydrate a session, and
keep the live part (dispatcher, pending requests) in a per-worker cache.
"""

from __future__ import annotations

import secrets
from typing import Protocol, TypeVar

__all__ = ["LiveSession", "SessionStore", "new_session_id"]

T = TypeVar("T", bound="LiveSession")


def new_session_id() -> str:
    """A session id: 192 bits from the OS CSPRNG, URL-safe visible ASCII
    (2025-11-25 basic/transports#session-management)."""
    return secrets.token_urlsafe(24)


class LiveSession(Protocol):
    """What the store needs from a live session to expire it."""

    id: str
    last_active: float  # monotonic time the session last finished work
    busy: int  # requests in flight plus open GET streams: a busy session never expires
    created: float

    @property
    def ready(self) -> bool:
        """Completed initialize (initialized notification or a later request)."""
        ...


class SessionStore(Protocol[T]):
    """Each method is one atomic step of the store: another task (or worker) may run between
    two calls, never inside one. That is why the cap check is part of :meth:`add` and the
    busy mark part of :meth:`acquire`: split into two calls, they race."""

    async def add(self, session: T, limit: int) -> bool:
        """Add ``session`` unless the store already holds ``limit`` sessions; False if full.
        (A count followed by an add would let concurrent initializes past the cap.)"""
        ...

    async def get(self, session_id: str) -> T | None:
        """Look a session up without starting work on it (it may expire at any time)."""
        ...

    async def acquire(self, session_id: str) -> T | None:
        """Look a session up to work on it: mark it busy in the same step, so :meth:`expire`
        cannot take it between the lookup and the work. Pair every hit with :meth:`release`."""
        ...

    async def release(self, session: T) -> None:
        """The work :meth:`acquire` started is over: its idle time counts from now."""
        ...

    async def remove(self, session_id: str) -> T | None: ...

    async def count(self) -> int: ...

    async def all(self) -> list[T]:
        """Every session on this worker (for shutdown)."""
        ...

    async def expire(self, now: float, idle_timeout: float, init_timeout: float) -> list[T]:
        """Remove and return the sessions idle for longer than ``idle_timeout`` (and not busy),
        and those that never became ready within ``init_timeout`` of creation."""
        ...
