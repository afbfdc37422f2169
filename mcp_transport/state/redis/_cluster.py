"""What an application shares with the other workers on Redis: its tasks (under this worker's
lease) and its server-wide notifications, published on the broadcast channel.

A legacy session gets a server-wide notification from the worker that holds its GET stream
(the record's ``get_holder``), which hears the broadcast. When that worker cannot hear it (it
died and the client has not resumed its GET elsewhere yet, or its lease lapsed), the worker
that published the notification appends it to the session's GET stream instead, so the
client's resume replays it as one worker would (2025-11-25
basic/transports#resumability-and-redelivery). Which sessions those are is decided in the
same script as the PUBLISH: the holders that hear it and the sessions the publisher covers
do not overlap then; but a session's GET resumed on a live worker before that worker's
listener reaches the message is delivered by both, so both append with the notification's
id (``EventLog.append(once=...)``) and the session's GET stream takes it once.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import orjson
from anyio.streams.memory import MemoryObjectReceiveStream

from ...errors import StateUnavailable
from ..cluster import DELIVERING, NOTIFY, RESOURCE_UPDATED, Deliver
from ..records import field_key
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
# sessions too (ARGV[4] = "1"), return the sessions whose GET holder does not hear it: those
# in ``{P}unheld`` (no holder) and in the held set of each worker in ``{P}holders`` whose
# lease is gone or that is not subscribed to its ``listening`` channel (Broadcast); the
# index is kept by the session store's scripts (_session_scripts.py). ARGV[2] the prefix,
# ARGV[3] this worker (the publisher delivers its own sessions itself). Cost: one EXISTS and
# one NUMSUB per holder, plus the ids it returns; the publisher reads those sessions after,
# in batches (LOOKUP_BATCH), so Redis serves other clients in between.
_PUBLISH = """
redis.call('PUBLISH', KEYS[1], ARGV[1])
local out = {}
if ARGV[4] ~= '1' then return out end
local P = ARGV[2]
local function take(set)
  for _, id in ipairs(redis.call('SMEMBERS', set)) do table.insert(out, id) end
end
for _, w in ipairs(redis.call('SMEMBERS', P .. 'holders')) do
  local hears = w == ARGV[3] or (redis.call('EXISTS', P .. 'worker:' .. w) == 1
    and redis.call('PUBSUB', 'NUMSUB', P .. 'listening:' .. w)[2] > 0)
  if not hears then take(P .. 'held:' .. w) end
end
take(P .. 'unheld')
return out
"""

# A notification waiting in the outbox, and its receipt (set once it is sent and appended).
_Queued = tuple[dict[str, Any], anyio.Event]

# Sessions read per round trip (one pipeline of HMGETs) after the script returned their ids.
LOOKUP_BATCH = 500

# Deliver a notification this worker published, ``(method, params, sessions, id)``, to legacy
# sessions whose GET holder did not hear it: ``sessions`` are (id, GET stream id or None)
# pairs, already filtered by subscription for ``resources/updated``; ``id`` the notification's
# (append it with ``once=id``: a session's new GET holder may deliver it too).
Unheld = Callable[[str, dict[str, Any] | None, list[tuple[str, str | None]], str], Awaitable[None]]


class RedisCluster:
    """``Cluster`` on the parts of a shared :class:`~mcp_transport.state.shared.SharedState`:
    the task store shares its connection and worker registry (one lease per worker, held by
    the HTTP endpoint from the worker's start); a notification travels on ``{prefix}broadcast`` as
    ``{"k": "notify", "w": worker, "i": id, "m": method, "p": params, "e": everyone}`` (``id``
    unique, so each GET stream takes it once, whichever workers deliver it), and the reader
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
        self._send, self._outbox = anyio.create_memory_object_stream[_Queued](outbox)
        self._running = False
        self._deliver: list[Deliver] = []
        self._unheld: Unheld | None = None
        self._script = conn.client.register_script(_PUBLISH)

    @property
    def worker(self) -> str:
        return self.registry.id

    def task_store(self) -> TaskStore:
        return RedisTaskStore(self.conn, registry=self.registry)

    def publish(self, method: str, params: dict[str, Any] | None, *, everyone: bool) -> anyio.Event | None:
        message = {
            "k": NOTIFY,
            "w": self.worker,
            "i": secrets.token_hex(8),
            "m": method,
            "p": params,
            "e": everyone,
        }
        done = anyio.Event()
        try:
            self._send.send_nowait((message, done))
        except anyio.WouldBlock:
            log.warning("worker %s: %s not sent to the other workers (outbox full)", self.worker, method)
            return None
        # Queued before run() starts it is sent then; nobody waits for that.
        return done if self._running else None

    def on_notification(self, deliver: Deliver) -> None:
        self._deliver.append(deliver)

    def on_unheld(self, deliver: Unheld) -> None:
        """The transport's delivery to the legacy sessions whose GET holder does not hear a
        notification this worker publishes (see the module's docstring)."""
        self._unheld = deliver

    async def run(self) -> None:
        self._running = True
        try:
            await self._publish_loop(self._outbox)
        finally:  # the worker stops: nobody waits for what is left
            self._running = False
            while True:
                try:
                    self._outbox.receive_nowait()[1].set()
                except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                    break

    async def _publish_loop(self, outbox: MemoryObjectReceiveStream[_Queued]) -> None:
        async for message, done in outbox:
            try:
                await self._send_one(message)
            finally:  # the raising request answers now (fanout.delivered), whatever happened
                done.set()

    async def _send_one(self, message: dict[str, Any]) -> None:
        """Publish ``message`` and append it to the GET streams whose holder did not hear it."""
        try:
            unheld = await self._publish(message)
        except StateUnavailable as exc:
            log.warning("worker %s: a notification was not sent to the other workers: %s", self.worker, exc)
            return
        if unheld and self._unheld is not None:
            try:
                sessions = await self._get_streams(unheld, message["m"], message["p"])
                await self._unheld(message["m"], message["p"], sessions, message["i"])
            except StateUnavailable as exc:
                log.warning("worker %s: %s not delivered to sessions: %s", self.worker, message["m"], exc)
            except Exception:  # the loop must outlive one failed delivery
                log.exception("worker %s: delivering %s to sessions failed", self.worker, message["m"])

    async def _publish(self, message: dict[str, Any]) -> list[str]:
        """PUBLISH ``message``; the sessions left to this worker (everyone: legacy ones)."""
        legacy = self._unheld is not None and message["e"]
        with self.conn.unavailable("broadcasting"):
            ids = await self._script(
                keys=[self.broadcast.channel],
                args=[orjson.dumps(message), self.conn.prefix, self.worker, "1" if legacy else "0"],
            )
        return [i.decode() for i in ids]

    async def _get_streams(
        self, ids: list[str], method: str, params: dict[str, Any] | None
    ) -> list[tuple[str, str | None]]:
        """(id, GET stream id) of the sessions ``ids`` that still exist; for a
        ``resources/updated`` only those subscribed to its URI (2025-11-25
        server/resources#subscriptions). LOOKUP_BATCH sessions per round trip."""
        uri = (params or {}).get("uri") if method == RESOURCE_UPDATED else None
        out: list[tuple[str, str | None]] = []
        fields = [field_key("get_stream"), field_key("subscriptions")]
        for start in range(0, len(ids), LOOKUP_BATCH):
            batch = ids[start : start + LOOKUP_BATCH]
            with self.conn.unavailable("reading sessions"):
                async with self.conn.client.pipeline(transaction=False) as pipe:
                    for session_id in batch:
                        pipe.hmget(self.conn.key("session", session_id), fields)
                    rows = await pipe.execute()
            for session_id, (stream, subscribed) in zip(batch, rows, strict=True):
                if stream is None:  # removed since (every record has the field)
                    continue
                if uri is None or uri in orjson.loads(subscribed or b"[]"):
                    out.append((session_id, orjson.loads(stream)))
        return out

    async def received(self, message: dict[str, Any]) -> None:
        try:
            if message["w"] == self.worker:
                return
            method, params, everyone = message["m"], message["p"], bool(message["e"])
            # None from a worker of an older version (a rolling upgrade): appended as before.
            once = message.get("i")
        except (KeyError, TypeError):
            log.warning("worker %s: ignored a malformed notification from another worker", self.worker)
            return
        delivering = DELIVERING.set(once if isinstance(once, str) else None)
        try:
            for deliver in self._deliver:
                try:
                    await deliver(method, params, everyone)
                except Exception:  # one failing delivery must not stop this worker hearing the others
                    log.exception("worker %s: delivering %s from another worker failed", self.worker, method)
        finally:
            DELIVERING.reset(delivering)
