"""The state one HTTP endpoint runs on, as one object: :class:`SharedState`.

    StreamableHTTP(server)                                        # one worker, in memory
    StreamableHTTP(server, state=SharedState.redis("redis://localhost:6379/0"))  # a cluster

In memory (the default) the process is the whole deployment: no inbox, no broadcast, no
registry, and the transport behaves exactly as a single worker always did. With Redis,
every worker shares the session records and the event log, and reaches the others through
its inbox (messages for one worker) and the broadcast channel (for all of them); the worker
registry notices a worker that died.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .events import EventLog
from .memory import MemoryEventLog
from .session_store import MemorySessionStore, SessionStore
from .workers import worker_id

if TYPE_CHECKING:
    from .redis import Broadcast, Inbox, RedisConnection, WorkerRegistry
    from .redis._writers import StreamWriters

__all__ = ["SharedState"]


@dataclass(eq=False)
class SharedState:
    """Where one endpoint keeps its sessions and streams, and how it reaches other workers.

    ``sessions`` and ``events`` always exist; ``inbox``, ``broadcast``, ``registry`` and
    ``writers`` exist only when several workers share the state (``shared`` is then True).
    ``worker`` is this process's id (:func:`~mcp_transport.state.workers.worker_id`).
    """

    sessions: SessionStore
    events: EventLog
    worker: str
    connection: RedisConnection | None = None
    inbox: Inbox | None = None
    broadcast: Broadcast | None = None
    registry: WorkerRegistry | None = None
    writers: StreamWriters | None = None
    # Clears a dead worker's busy marks on its sessions (RedisSessionStore.release_worker).
    release_busy: Callable[[str], Awaitable[int]] | None = None

    @property
    def shared(self) -> bool:
        """Several workers may serve the same sessions."""
        return self.inbox is not None

    @classmethod
    def memory(cls, *, events: EventLog | None = None, sessions: SessionStore | None = None) -> SharedState:
        """One worker: records and events in this process (the default)."""
        return cls(
            sessions if sessions is not None else MemorySessionStore(),
            events if events is not None else MemoryEventLog(),
            worker_id(),
        )

    @classmethod
    def redis(
        cls,
        url: str,
        *,
        prefix: str | None = None,
        session_idle_timeout: float | None = None,
        worker_lease: float | None = None,
        **connection: Any,
    ) -> SharedState:
        """Every worker started with the same ``url`` and ``prefix`` serves the same
        sessions. ``session_idle_timeout``: the endpoint's (sets the records' TTL);
        ``worker_lease``: seconds after which a silent worker counts as dead (10 s);
        ``connection``: further :class:`~mcp_transport.state.redis.RedisConnection` options.
        Needs the ``mcp-transport[redis]`` extra."""
        from . import redis as r  # optional dependency: imported only when asked for
        from .redis._writers import StreamWriters

        if prefix is not None:
            connection["prefix"] = prefix
        conn = r.RedisConnection(url, **connection)
        sessions = (
            r.RedisSessionStore(conn)
            if session_idle_timeout is None
            else r.RedisSessionStore(conn, idle_timeout=session_idle_timeout)
        )
        return cls(
            sessions,
            r.RedisEventLog(conn),
            worker_id(),
            connection=conn,
            inbox=r.Inbox(conn),
            broadcast=r.Broadcast(conn),
            registry=r.WorkerRegistry(conn)
            if worker_lease is None
            else r.WorkerRegistry(conn, lease=worker_lease),
            writers=StreamWriters(conn),
            release_busy=sessions.release_worker,
        )

    async def release_worker(self, dead: str) -> int:
        """Worker ``dead`` stopped: clear its busy marks (its sessions become idle from now
        and expire normally). How many sessions it held busy."""
        return 0 if self.release_busy is None else await self.release_busy(dead)

    async def aclose(self) -> None:
        """Close the Redis client (nothing to do in memory)."""
        if self.connection is not None:
            await self.connection.aclose()
