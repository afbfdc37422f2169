"""``Fanout``: server-wide notifications, those that belong to no request (list changes,
resource updates, ``notify_all``, the listen streams' offers). They go to this worker's
legacy connections and ``subscriptions/listen`` streams and, once the server joined a cluster,
through it to every other worker's.

``MCPServer`` owns one and keeps its public methods (``notify_all``, ``publish``, ...) as the
API; this module is the mechanism behind them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from ..jsonrpc import Notification
from ..state.cluster import RESOURCE_UPDATED, Cluster, Delivered
from .context import ServerConnection
from .subscriptions import Subscription

__all__ = ["PENDING", "RESOURCE_UPDATED", "Fanout", "delivered"]

# A filter over legacy connections (say, those subscribed to a URI).
Only = Callable[[ServerConnection], bool]

# The deliveries under way of the server-wide notifications raised on this worker that a
# request's own answer must not overtake: the list changes delivered in each connection's task
# group and, with several workers, the cluster's publishes. A request that finds some waits
# for them before it answers (era_gate, :func:`delivered`); done ones are dropped there.
PENDING: list[Delivered] = []
# Past this many, the done ones are dropped when another is added: the list holds at most this
# many plus those under way (bounded by the cluster's outbox and the connections).
_PRUNE_AT = 64


class Fanout:
    """The live audience of one server on this worker, and the cluster that reaches the
    audience of the others."""

    def __init__(self) -> None:
        # Live legacy connections on this process, for notifications that belong to no
        # request. Transports attach/detach; modern requests never appear here.
        self.connections: set[ServerConnection] = set()
        # Open subscriptions/listen requests (2026-07-28), any transport.
        self.subscriptions: set[Subscription] = set()
        self.cluster: Cluster | None = None  # several workers: join

    def join(self, cluster: Cluster) -> None:
        """From now on, fan out to (and receive from) the other workers of ``cluster``."""
        self.cluster = cluster
        cluster.on_notification(self._from_cluster)

    async def resource_updated(self, uri: str) -> None:
        """``notifications/resources/updated`` to the clients subscribed to ``uri``; other
        workers apply the same filter to theirs (:meth:`_from_cluster`)."""
        if self.cluster is not None:
            _raised(self.cluster.publish(RESOURCE_UPDATED, {"uri": uri}, everyone=True))
        await self._notify_here(RESOURCE_UPDATED, {"uri": uri}, lambda c: uri in c.subscriptions)

    async def notify(self, method: str, params: dict[str, Any] | None, only: Only | None) -> None:
        """To every initialized legacy connection (``only`` filters) and every listen stream
        that opted in; an unfiltered one to the other workers too (a filter is a local
        function: it cannot travel)."""
        if self.cluster is not None and only is None:
            _raised(self.cluster.publish(method, params, everyone=True))
        await self._notify_here(method, params, only)

    def publish(self, method: str, params: dict[str, Any] | None) -> None:
        """Offer to every listen stream, of every worker."""
        if self.cluster is not None:
            _raised(self.cluster.publish(method, params, everyone=False))
        self._offer(method, params)

    def list_changed(self, kind: str) -> None:
        """Schedule ``notifications/<kind>/list_changed`` to every connected client.

        Registration is synchronous (decorators), so delivery runs in each connection's task
        group. At import time there are no connections and nothing is sent.
        """
        self._offer(f"notifications/{kind}/list_changed", None)
        if self.cluster is not None:
            _raised(self.cluster.publish(f"notifications/{kind}/list_changed", None, everyone=True))
        message = Notification(f"notifications/{kind}/list_changed")
        for connection in list(self.connections):
            send, tg = connection.send_unrelated, connection.task_group
            if send is None or tg is None or connection.state is None:
                continue
            done = anyio.Event()
            try:
                tg.start_soon(_deliver, send, message, done)
            except RuntimeError:  # its task group has finished: the connection is gone
                self.connections.discard(connection)
                continue
            _raised(done)

    def close_subscriptions(self, connection: ServerConnection | None = None) -> None:
        """End open listen streams gracefully (each answers its request with a result): all
        of them or those of one connection."""
        for subscription in list(self.subscriptions):
            if connection is None or subscription.connection is connection:
                subscription.close()

    async def _from_cluster(self, method: str, params: dict[str, Any] | None, everyone: bool) -> None:
        """A notification another worker emitted: to this worker's clients, as it would
        (``everyone``: legacy sessions too; else only listen streams, as :meth:`publish`)."""
        if not everyone:
            self._offer(method, params)
            return
        uri = params.get("uri") if params and method == RESOURCE_UPDATED else None
        await self._notify_here(method, params, None if uri is None else lambda c: uri in c.subscriptions)

    async def _notify_here(self, method: str, params: dict[str, Any] | None, only: Only | None) -> None:
        """Deliver to this worker's legacy connections and listen streams only."""
        self._offer(method, params)
        message = Notification(method, params)
        for connection in list(self.connections):
            if (
                connection.send_unrelated is None
                or connection.state is None
                or (only and not only(connection))
            ):
                continue
            with contextlib.suppress(Exception):  # one dead peer must not stop delivery to the others
                await connection.send_unrelated(message)

    def _offer(self, method: str, params: dict[str, Any] | None) -> None:
        """:meth:`publish` on this worker only."""
        for subscription in list(self.subscriptions):
            subscription.push(method, params)


async def delivered() -> None:
    """Wait for the deliveries in :data:`PENDING` (each ends: a Redis step fails in bounded
    time), so the request about to answer has its notifications in the event log of every GET
    stream this worker delivers them to, its own sessions' and those whose GET holder is gone:
    a client that reads the answer and then resumes its GET stream finds them there (2025-11-25
    basic/transports#resumability-and-redelivery). The holders on other workers deliver theirs
    when they hear the broadcast (docs/deployment.md). A request may wait for another's
    notifications too: the price of checking one list, not a context, per request."""
    for delivery in list(PENDING):
        await delivery.wait()
    PENDING[:] = [delivery for delivery in PENDING if not delivery.is_set()]


async def _deliver(
    send: Callable[[Notification], Awaitable[None]], message: Notification, done: anyio.Event
) -> None:
    try:
        with contextlib.suppress(Exception):  # a dead peer; the transport detaches it
            await send(message)
    finally:
        done.set()


def _raised(delivery: Delivered | None) -> None:
    """A delivery the next answers of this worker's requests wait for (:func:`delivered`)."""
    if delivery is None:
        return
    if len(PENDING) >= _PRUNE_AT:  # raised with no request answering: keep only those under way
        PENDING[:] = [pending for pending in PENDING if not pending.is_set()]
    PENDING.append(delivery)
