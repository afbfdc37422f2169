"""The workers of one deployment on Redis: this worker's lease (held from the worker's start)
and the fan-out of server-wide notifications over the broadcast channel."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import orjson
from anyio.streams.memory import MemoryObjectReceiveStream

from ...errors import StateUnavailable
from ..cluster import Deliver
from ..tasks import TaskStore
from ._connection import RedisConnection
from ._messaging import Broadcast
from ._registry import DEFAULT_WORKER_LEASE, WorkerRegistry
from ._tasks import RedisTaskStore

__all__ = ["DEFAULT_OUTBOX", "RedisCluster"]

log = logging.getLogger("mcp_transport.state.redis")

# Notifications waiting to be published; more are dropped (and logged): a worker that cannot
# publish this many is cut off from Redis, where they would be lost anyway (pub/sub keeps
# nothing for a listener that is not there).
DEFAULT_OUTBOX = 1_000
# The kind of broadcast message that carries a notification.
NOTIFY = "notify"
# Pause after a failed subscribe or receive before the listener tries again.
_RELISTEN_SECONDS = 1.0


class RedisCluster:
    """``Cluster`` on Redis: ``registry`` (default: one for this worker on ``conn``) is the
    lease; notifications travel on ``{prefix}broadcast`` as ``{"k": "notify", "w": worker,
    "m": method, "p": params, "e": everyone}``; each worker skips its own, and other kinds of
    message on the channel (the HTTP transport's) are not for it."""

    def __init__(
        self,
        conn: RedisConnection,
        *,
        registry: WorkerRegistry | None = None,
        lease: float = DEFAULT_WORKER_LEASE,
        outbox: int = DEFAULT_OUTBOX,
    ) -> None:
        self.conn = conn
        self.registry = registry if registry is not None else WorkerRegistry(conn, lease=lease)
        self.broadcast = Broadcast(conn)
        self._send, self._outbox = anyio.create_memory_object_stream[bytes](outbox)
        self._deliver: list[Deliver] = []

    @classmethod
    def from_url(cls, url: str, *, prefix: str, lease: float = DEFAULT_WORKER_LEASE) -> RedisCluster:
        return cls(RedisConnection(url, prefix=prefix), lease=lease)

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
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._hold_lease)
            tg.start_soon(self._publish_loop, self._outbox)
            tg.start_soon(self._listen_loop)

    async def _hold_lease(self) -> None:
        """From the worker's start (not its first task): the lease, and the clean-ups after
        the workers this one claims dead (each store adds its own by nesting ``running``)."""
        while True:
            try:
                async with self.registry.running():
                    await anyio.sleep_forever()
            except StateUnavailable as exc:  # the first renewal failed: Redis is not there yet
                log.warning("worker %s: cannot take its lease yet: %s", self.worker, exc.message)
                await anyio.sleep(_RELISTEN_SECONDS)

    async def _publish_loop(self, outbox: MemoryObjectReceiveStream[bytes]) -> None:
        async for data in outbox:
            try:
                await self.broadcast.publish(data)
            except StateUnavailable as exc:
                log.warning(
                    "worker %s: a notification was not sent to the other workers: %s", self.worker, exc
                )

    async def _listen_loop(self) -> None:
        while True:
            try:
                async with self.broadcast.listen() as subscription:
                    while True:
                        data = await subscription.receive(self.conn.max_block)
                        if data is not None:
                            await self._received(data)
            except StateUnavailable as exc:
                log.warning("worker %s: not hearing the other workers for now: %s", self.worker, exc.message)
                await anyio.sleep(_RELISTEN_SECONDS)

    async def _received(self, data: bytes) -> None:
        try:
            message = orjson.loads(data)
            if message.get("k") != NOTIFY or message["w"] == self.worker:
                return
            method, params, everyone = message["m"], message["p"], bool(message["e"])
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            log.warning("worker %s: ignored a malformed broadcast (%d bytes)", self.worker, len(data))
            return
        for deliver in self._deliver:
            try:
                await deliver(method, params, everyone)
            except Exception:  # one failing delivery must not stop this worker hearing the others
                log.exception("worker %s: delivering %s from another worker failed", self.worker, method)
