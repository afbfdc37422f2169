"""What an application shares with the other workers on Redis: its tasks (under this worker's
lease) and its server-wide notifications, published on the broadcast channel."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import orjson
from anyio.streams.memory import MemoryObjectReceiveStream

from ...errors import StateUnavailable
from ..cluster import NOTIFY, Deliver
from ..tasks import TaskStore
from ._connection import RedisConnection
from ._messaging import Broadcast
from ._registry import WorkerRegistry
from ._tasks import RedisTaskStore

__all__ = ["DEFAULT_OUTBOX", "RedisCluster"]

log = logging.getLogger("mcp_transport.state.redis")

# Notifications waiting to be published; more are dropped (and logged): a worker that cannot
# publish this many is cut off from Redis, where they would be lost anyway (pub/sub keeps
# nothing for a listener that is not there).
DEFAULT_OUTBOX = 1_000


class RedisCluster:
    """``Cluster`` on the parts of a shared :class:`~mcp_transport.state.shared.SharedState`:
    the task store shares its connection and worker registry (one lease per worker, held by
    the HTTP endpoint from the worker's start); a notification travels on ``{prefix}broadcast`` as
    ``{"k": "notify", "w": worker, "m": method, "p": params, "e": everyone}``, and the reader
    of that channel (the endpoint's) hands each to :meth:`received`."""

    def __init__(
        self,
        conn: RedisConnection,
        registry: WorkerRegistry,
        broadcast: Broadcast,
        *,
        outbox: int = DEFAULT_OUTBOX,
    ) -> None:
        self.conn = conn
        self.registry = registry
        self.broadcast = broadcast
        self._send, self._outbox = anyio.create_memory_object_stream[bytes](outbox)
        self._deliver: list[Deliver] = []

    @property
    def worker(self) -> str:
        return self.registry.id

    def task_store(self) -> TaskStore:
        return RedisTaskStore(self.conn, registry=self.registry)

    def publish(self, method: str, params: dict[str, Any] | None, *, everyone: bool) -> None:
        message = {"k": NOTIFY, "w": self.worker, "m": method, "p": params, "e": everyone}
        try:
            self._send.send_nowait(orjson.dumps(message))
        except anyio.WouldBlock:
            log.warning("worker %s: %s not sent to the other workers (outbox full)", self.worker, method)

    def on_notification(self, deliver: Deliver) -> None:
        self._deliver.append(deliver)

    async def run(self) -> None:
        await self._publish_loop(self._outbox)

    async def _publish_loop(self, outbox: MemoryObjectReceiveStream[bytes]) -> None:
        async for data in outbox:
            try:
                await self.broadcast.publish(data)
            except StateUnavailable as exc:
                log.warning(
                    "worker %s: a notification was not sent to the other workers: %s", self.worker, exc
                )

    async def received(self, message: dict[str, Any]) -> None:
        try:
            if message["w"] == self.worker:
                return
            method, params, everyone = message["m"], message["p"], bool(message["e"])
        except (KeyError, TypeError):
            log.warning("worker %s: ignored a malformed notification from another worker", self.worker)
            return
        for deliver in self._deliver:
            try:
                await deliver(method, params, everyone)
            except Exception:  # one failing delivery must not stop this worker hearing the others
                log.exception("worker %s: delivering %s from another worker failed", self.worker, method)
