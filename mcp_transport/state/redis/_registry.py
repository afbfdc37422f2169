"""Which workers are alive: a lease key per worker, renewed by a heartbeat, and a set of the
workers ever registered so that a lapsed lease can be found (and claimed by one survivor)."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress

import anyio
import anyio.abc
import orjson

from ...errors import StateUnavailable
from ..workers import worker_id
from ._connection import RedisConnection

__all__ = ["DEFAULT_WORKER_LEASE", "WorkerRegistry"]

log = logging.getLogger("mcp_transport.state.redis")

# A worker is dead once it has not renewed its lease for this many seconds. It renews every
# lease/3, so two missed heartbeats are tolerated; a death is noticed within about
# lease + lease/3 (13.3 s), inside the 30 s a client may wait for the typed error.
DEFAULT_WORKER_LEASE = 10.0

# Renew atomically: (re)write the lease with its TTL, (re)join the set; was it still live?
_RENEW = """
local had = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
return had
"""
# The live workers and their info: set members whose lease key still exists.
_LIVE = """
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local info = redis.call('GET', ARGV[1] .. id)
  if info then table.insert(out, id); table.insert(out, info) end
end
return out
"""
# Members whose lease lapsed leave the set here, atomically: each lapse is claimed once.
_CLAIM = """
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. id) == 0 then
    redis.call('SREM', KEYS[1], id); table.insert(out, id)
  end
end
return out
"""

OnLapsed = Callable[[str], Awaitable[None]]


class WorkerRegistry:
    """This worker's lease (``{prefix}worker:{id}``, TTL ``lease``) and the set of workers
    (``{prefix}workers``). Use ``async with registry.running(on_lapsed):`` in a worker."""

    def __init__(
        self, conn: RedisConnection, *, worker: str | None = None, lease: float = DEFAULT_WORKER_LEASE
    ) -> None:
        self.conn = conn
        self.id = worker or worker_id()
        self.lease = lease
        self._set = conn.key("workers")
        self._lease_prefix = conn.key("worker", "")
        self._info = orjson.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()})
        self._renew = conn.client.register_script(_RENEW)
        self._live = conn.client.register_script(_LIVE)
        self._claim = conn.client.register_script(_CLAIM)
        self._claim_after = 0.0
        self._callbacks: list[OnLapsed] = []  # of every running() block, outermost first
        self._holders = 0  # running() blocks open: the first owns the heartbeat

    async def renew(self) -> bool:
        """Write this worker's lease; False when it had lapsed (or this is the first time)."""
        with self.conn.unavailable("renewing the worker lease"):
            had = await self._renew(
                keys=[self._lease_prefix + self.id, self._set],
                args=[self.id, self._info, int(self.lease * 1000)],
            )
        return bool(had)

    async def live(self) -> dict[str, dict[str, object]]:
        """``{worker id: {"pid", "host", "started"}}`` of every worker whose lease is live."""
        with self.conn.unavailable("listing the live workers"):
            flat = await self._live(keys=[self._set], args=[self._lease_prefix])
        return {flat[i].decode(): orjson.loads(flat[i + 1]) for i in range(0, len(flat), 2)}

    async def claim_lapsed(self) -> list[str]:
        """The workers whose lease lapsed since the last claim; each is returned to exactly
        one caller in the cluster, who cleans up after it."""
        with self.conn.unavailable("looking for dead workers"):
            claimed = await self._claim(keys=[self._set], args=[self._lease_prefix])
        return [member.decode() for member in claimed]

    async def leave(self) -> None:
        """Give the lease up (a clean shutdown is not a death)."""
        with self.conn.unavailable("leaving the worker set"):
            async with self.conn.client.pipeline(transaction=True) as pipe:
                pipe.delete(self._lease_prefix + self.id)
                pipe.srem(self._set, self.id)
                await pipe.execute()

    @asynccontextmanager
    async def running(self, on_lapsed: OnLapsed | None = None) -> AsyncIterator[WorkerRegistry]:
        """Hold the lease while the block runs (a heartbeat task renews it every lease/3) and
        call ``on_lapsed(worker_id)`` for each dead worker this one claims; leave at the end.
        A callback that raises is logged and its worker is put back to be claimed again.

        Blocks may nest (the HTTP endpoint holds the lease from the worker's start, a task
        store inside it): an inner block adds its callback to the running heartbeat, and
        every callback is called for each dead worker. The outermost block owns the heartbeat.
        """
        if on_lapsed is not None:
            self._callbacks.append(on_lapsed)
        try:
            if self._holders:
                self._holders += 1
                try:
                    yield self
                finally:
                    self._holders -= 1
                return
            self._holders = 1
            try:
                async with self._holding():
                    yield self
            finally:
                self._holders = 0
        finally:
            if on_lapsed is not None:
                self._callbacks.remove(on_lapsed)

    @asynccontextmanager
    async def _holding(self) -> AsyncIterator[None]:
        try:
            await self.renew()
        except StateUnavailable as exc:
            # A worker that starts while Redis is away still starts: its heartbeat takes the
            # lease once Redis answers, and it serves 503s until then.
            log.warning("worker %s: no lease yet: %s", self.id, exc.message)
            self._claim_after = time.monotonic() + self.lease
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._heartbeat, tg)
                try:
                    yield
                finally:
                    tg.cancel_scope.cancel()
        finally:
            # Unreachable Redis: the lease lapses by itself.
            with (
                anyio.CancelScope(shield=True),
                anyio.move_on_after(self.conn.max_block),
                suppress(StateUnavailable),
            ):
                await self.leave()

    async def _heartbeat(self, tg: anyio.abc.TaskGroup) -> None:
        while True:
            await anyio.sleep(self.lease / 3)
            try:
                if not await self.renew():
                    log.warning("worker %s: its lease had lapsed (paused over %g s?)", self.id, self.lease)
                if self._callbacks and time.monotonic() >= self._claim_after:
                    for dead in await self.claim_lapsed():
                        # In its own task: a slow clean-up must not delay the next renewal.
                        tg.start_soon(self._clean_up, dead)
            except StateUnavailable as exc:
                log.warning("worker %s: heartbeat failed: %s", self.id, exc.message)
                # While we could not reach Redis, the others' leases may have lapsed there
                # too: give them a lease period to renew before anyone is declared dead.
                self._claim_after = time.monotonic() + self.lease

    async def _clean_up(self, dead: str) -> None:
        try:
            for on_lapsed in list(self._callbacks):
                await on_lapsed(dead)
        except Exception:
            log.exception(
                "worker %s: cleaning up after dead worker %s failed; it will be retried", self.id, dead
            )
            try:
                with self.conn.unavailable("putting a dead worker back"):
                    await self.conn.client.sadd(self._set, dead)
            except StateUnavailable:
                log.warning("worker %s: dead worker %s could not be put back", self.id, dead)
