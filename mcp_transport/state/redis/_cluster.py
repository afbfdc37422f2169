"""What an application shares with the other workers on Redis: its tasks (under this worker's
lease) and its server-wide notifications, published on the broadcast channel.

A legacy session gets a server-wide notification from the worker that holds its GET stream
(the record's ``get_holder``), which hears the broadcast. When that worker cannot hear it (it
died and the client has not resumed its GET elsewhere yet, or its lease lapsed), the worker
that published the notification appends it to the session's GET stream instead, so the
client's resume replays it as one worker would (2025-11-25
basic/transports#resumability-and-redelivery). Which sessions those are is decided in the
same script as the PUBLISH: the holders that hear it and the sessions the publisher covers
never overlap, so each session gets the notification once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
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

__all__ = ["DEFAULT_OUTBOX", "RedisCluster", "Unheld"]

log = logging.getLogger("mcp_transport.state.redis")

# Notifications waiting to be published; more are dropped (and logged): a worker that cannot
# publish this many is cut off from Redis, where they would be lost anyway (pub/sub keeps
# nothing for a listener that is not there).
DEFAULT_OUTBOX = 1_000

# Publish a notification (KEYS[1] the channel, ARGV[1] the message); for one meant for legacy
# sessions too (ARGV[4] = "1"), return the sessions (KEYS[2] the index) whose GET holder does
# not hear it: none recorded, its lease gone, or not subscribed to its ``listening`` channel
# (Broadcast). ARGV[2] the prefix, ARGV[3] this worker (the publisher delivers its own
# sessions itself). Returns id, subscriptions (JSON) pairs. It looks at every session (one
# HMGET each, the workers' checks cached): a notification for every session costs
# O(sessions) appends across the workers anyway.
_PUBLISH = """
redis.call('PUBLISH', KEYS[1], ARGV[1])
local out = {}
if ARGV[4] ~= '1' then return out end
local hears = {[ARGV[3]] = true}
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local f = redis.call('HMGET', ARGV[2] .. 'session:' .. id, 'h', 's')
  if f[1] then
    local holder = cjson.decode(f[1])
    local ok = false
    if type(holder) == 'string' then
      ok = hears[holder]
      if ok == nil then
        ok = redis.call('EXISTS', ARGV[2] .. 'worker:' .. holder) == 1
          and redis.call('PUBSUB', 'NUMSUB', ARGV[2] .. 'listening:' .. holder)[2] > 0
        hears[holder] = ok
      end
    end
    if not ok then table.insert(out, id); table.insert(out, f[2] or '[]') end
  end
end
return out
"""

# Deliver a notification this worker published, ``(method, params, sessions)``, to legacy
# sessions whose GET holder did not hear it: ``sessions`` are (id, subscribed URIs) pairs.
Unheld = Callable[[str, dict[str, Any] | None, list[tuple[str, frozenset[str]]]], Awaitable[None]]


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
        self._send, self._outbox = anyio.create_memory_object_stream[dict[str, Any]](outbox)
        self._deliver: list[Deliver] = []
        self._unheld: Unheld | None = None
        self._script = conn.client.register_script(_PUBLISH)
        self._index = conn.key("sessions")

    @property
    def worker(self) -> str:
        return self.registry.id

    def task_store(self) -> TaskStore:
        return RedisTaskStore(self.conn, registry=self.registry)

    def publish(self, method: str, params: dict[str, Any] | None, *, everyone: bool) -> None:
        message = {"k": NOTIFY, "w": self.worker, "m": method, "p": params, "e": everyone}
        try:
            self._send.send_nowait(message)
        except anyio.WouldBlock:
            log.warning("worker %s: %s not sent to the other workers (outbox full)", self.worker, method)

    def on_notification(self, deliver: Deliver) -> None:
        self._deliver.append(deliver)

    def on_unheld(self, deliver: Unheld) -> None:
        """The transport's delivery to the legacy sessions whose GET holder does not hear a
        notification this worker publishes (see the module's docstring)."""
        self._unheld = deliver

    async def run(self) -> None:
        await self._publish_loop(self._outbox)

    async def _publish_loop(self, outbox: MemoryObjectReceiveStream[dict[str, Any]]) -> None:
        async for message in outbox:
            try:
                unheld = await self._publish(message)
            except StateUnavailable as exc:
                log.warning(
                    "worker %s: a notification was not sent to the other workers: %s", self.worker, exc
                )
                continue
            if unheld and self._unheld is not None:
                try:
                    await self._unheld(message["m"], message["p"], unheld)
                except StateUnavailable as exc:
                    log.warning("worker %s: %s not delivered to sessions: %s", self.worker, message["m"], exc)
                except Exception:  # the loop must outlive one failed delivery
                    log.exception("worker %s: delivering %s to sessions failed", self.worker, message["m"])

    async def _publish(self, message: dict[str, Any]) -> list[tuple[str, frozenset[str]]]:
        """PUBLISH ``message``; the sessions left to this worker (everyone: legacy ones)."""
        legacy = self._unheld is not None and message["e"]
        with self.conn.unavailable("broadcasting"):
            flat = await self._script(
                keys=[self.broadcast.channel, self._index],
                args=[orjson.dumps(message), self.conn.prefix, self.worker, "1" if legacy else "0"],
            )
        return [(flat[i].decode(), frozenset(orjson.loads(flat[i + 1]))) for i in range(0, len(flat), 2)]

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
