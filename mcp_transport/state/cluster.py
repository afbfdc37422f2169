"""What an application needs of the state several workers share (docs/deployment.md).

The HTTP endpoint, given shared state (``run_http(..., redis_url=...)`` or
``StreamableHTTP(app, state=SharedState.redis(url))``), builds the cluster (a
:class:`~mcp_transport.state.redis.RedisCluster`), hands it to the application if the
application is a :class:`ClusterMember` (an ``MCPServer`` is), runs ``cluster.run()`` in its
background task group for the life of the worker, and hands it the broadcast messages of kind
:data:`NOTIFY` (``received``). The application keeps there what every
worker must see the same way: its tasks, and its server-wide notifications (``list_changed``,
``resources/updated``), which each worker delivers to the clients connected to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, Protocol, runtime_checkable

from .tasks import TaskStore

__all__ = ["DELIVERING", "NOTIFY", "RESOURCE_UPDATED", "Cluster", "ClusterMember", "Deliver", "Delivered"]

# The kind (``"k"``) of the broadcast messages that carry an application's notifications.
NOTIFY = "notify"

# The one server-wide notification that goes only to the legacy sessions subscribed to its
# URI (2025-11-25 server/resources#subscriptions), wherever it is delivered.
RESOURCE_UPDATED = "notifications/resources/updated"

# The id of the broadcast notification this task delivers (set around ``Deliver``), which the
# transport appends to a session's GET stream with ``EventLog.append(once=...)``: its
# publisher may append it to the same stream for a session whose GET holder it counted as
# gone, just before that session's GET moved to this worker (docs/deployment.md). The id
# travels beside the delivery, not in it: the application's connections know nothing of it.
DELIVERING: ContextVar[str | None] = ContextVar("DELIVERING", default=None)

# Deliver a notification that another worker emitted to this worker's clients:
# ``(method, params, everyone)``, everyone: legacy sessions too, else listen streams only.
Deliver = Callable[[str, dict[str, Any] | None, bool], Awaitable[None]]


class Delivered(Protocol):
    """A notification's delivery under way; ``wait()`` returns once it is done or failed."""

    async def wait(self) -> Any: ...

    def is_set(self) -> bool: ...


class Cluster(Protocol):
    """The workers of one deployment, as the application sees them."""

    @property
    def worker(self) -> str:
        """This worker's id (the ``Mcp-Worker`` header)."""
        ...

    def task_store(self) -> TaskStore:
        """A task store every worker sees, held under this worker's lease."""
        ...

    def publish(self, method: str, params: dict[str, Any] | None, *, everyone: bool) -> Delivered | None:
        """Send a server-wide notification to every other worker (sync: it is queued);
        ``everyone``: for legacy sessions too, else for ``subscriptions/listen`` streams only.
        The receipt is done once the notification is published and appended to the GET
        streams this worker covers (sessions whose GET holder does not hear it); None when
        it was dropped or nothing will send it."""
        ...

    def on_notification(self, deliver: Deliver) -> None:
        """Call ``deliver(method, params, everyone)`` for each notification another worker
        publishes."""
        ...

    async def run(self) -> None:
        """Send the published notifications, until cancelled."""
        ...

    async def received(self, message: dict[str, Any]) -> None:
        """A broadcast message of kind :data:`NOTIFY` (this worker's own are skipped)."""
        ...


@runtime_checkable
class ClusterMember(Protocol):
    """An application that serves from shared state when several workers run it."""

    def join_cluster(self, cluster: Cluster) -> None:
        """Use ``cluster`` for tasks and server-wide notifications. Raises ValueError when the
        application cannot be shared as configured (say, no shared MRTR keys)."""
        ...
