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

from ..jsonrpc import Notification
from ..state.cluster import RESOURCE_UPDATED, Cluster
from .context import ServerConnection
from .subscriptions import Subscription

__all__ = ["RESOURCE_UPDATED", "Fanout"]

# A filter over legacy connections (say, those subscribed to a URI).
Only = Callable[[ServerConnection], bool]


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
            self.cluster.publish(RESOURCE_UPDATED, {"uri": uri}, everyone=True)
        await self._notify_here(RESOURCE_UPDATED, {"uri": uri}, lambda c: uri in c.subscriptions)

    async def notify(self, method: str, params: dict[str, Any] | None, only: Only | None) -> None:
        """To every initialized legacy connection (``only`` filters) and every listen stream
        that opted in; an unfiltered one to the other workers too (a filter is a local
        function: it cannot travel)."""
        if self.cluster is not None and only is None:
            self.cluster.publish(method, params, everyone=True)
        await self._notify_here(method, params, only)

    def publish(self, method: str, params: dict[str, Any] | None) -> None:
        """Offer to every listen stream, of every worker."""
        if self.cluster is not None:
            self.cluster.publish(method, params, everyone=False)
        self._offer(method, params)

    def list_changed(self, kind: str) -> None:
        """Schedule ``notifications/<kind>/list_changed`` to every connected client.

        Registration is synchronous (decorators), so delivery runs in each connection's task
        group. At import time there are no connections and nothing is sent.
        """
        self._offer(f"notifications/{kind}/list_changed", None)
        if self.cluster is not None:
            self.cluster.publish(f"notifications/{kind}/list_changed", None, everyone=True)
        message = Notification(f"notifications/{kind}/list_changed")
        for connection in list(self.connections):
            send, tg = connection.send_unrelated, connection.task_group
            if send is None or tg is None or connection.state is None:
                continue
            try:
                tg.start_soon(_deliver, send, message)
            except RuntimeError:  # its task group has finished: the connection is gone
                self.connections.discard(connection)

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


async def _deliver(send: Callable[[Notification], Awaitable[None]], message: Notification) -> None:
    with contextlib.suppress(Exception):  # a dead peer; the transport detaches it
        await send(message)
