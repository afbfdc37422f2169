"""The session store on Redis: every worker sees the same session records; each operation is
one Lua script, so one round trip and one atomic step (keys: ``_session_scripts.py``)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson

from ..records import SessionRecord, check_changes, decode_fields, encode_fields, encode_record
from ..workers import worker_id
from . import _session_scripts as lua
from ._connection import RedisConnection

__all__ = ["DEFAULT_EXPIRE_BATCH", "DEFAULT_GRACE", "DEFAULT_IDLE_TIMEOUT", "RedisSessionStore"]

# The transport's default session idle timeout (give the store the transport's value).
DEFAULT_IDLE_TIMEOUT = 1800.0
# An idle session's hash outlives its idle timeout by this much, so a sweeper's expire()
# still finds the record (and the transport can end its streams) before Redis drops it.
DEFAULT_GRACE = 60.0
# expire() looks at most this many candidates of each kind per call (oldest first).
DEFAULT_EXPIRE_BATCH = 1000


class RedisSessionStore:
    """:class:`~mcp_transport.state.session_store.SessionStore` on Redis, for one worker.

    ``worker`` (default: this process's ``worker_id()``) names the busy marks this store
    sets. A busy session has no TTL, so marks of a worker that died would keep it forever:
    call :meth:`release_worker` with each dead worker the registry claims (the
    ``on_lapsed`` callback of ``WorkerRegistry.running``).
    """

    def __init__(
        self,
        conn: RedisConnection,
        *,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        grace: float = DEFAULT_GRACE,
        worker: str | None = None,
        expire_batch: int = DEFAULT_EXPIRE_BATCH,
    ) -> None:
        self.conn = conn
        self.worker = worker or worker_id()
        self.ttl = idle_timeout + grace
        self.expire_batch = expire_batch
        self._index = conn.key("sessions")
        self._unready = conn.key("sessions", "unready")
        self._busy = conn.key("busy", self.worker)
        script = conn.client.register_script
        self._create, self._acquire, self._release = (
            script(lua.CREATE),
            script(lua.ACQUIRE),
            script(lua.RELEASE),
        )
        self._update, self._remove, self._expire = script(lua.UPDATE), script(lua.REMOVE), script(lua.EXPIRE)
        self._release_worker = script(lua.RELEASE_WORKER)

    def _key(self, session_id: str) -> str:
        return self.conn.key("session", session_id)

    @property
    def _ttl_ms(self) -> int:
        return max(int(self.ttl * 1000), 1)

    async def create(self, record: SessionRecord, limit: int) -> bool:
        stale_before = time.time() - self.ttl  # an idle session's hash older than this is gone
        args: list[Any] = [record.id, limit, record.last_active, self._ttl_ms, self.conn.prefix, stale_before]
        with self.conn.unavailable("creating a session"):
            created = await self._create(
                keys=[self._key(record.id), self._index, self._unready],
                args=[*args, int(record.ready), *_flat(encode_record(record))],
            )
        if created == -1:
            raise ValueError(f"session id {record.id!r} is taken")
        return bool(created)

    async def get(self, session_id: str) -> SessionRecord | None:
        with self.conn.unavailable("reading a session"):
            flat = await self.conn.client.hgetall(self._key(session_id))
        if not flat:
            return None
        return decode_fields(session_id, _flat(flat))

    async def acquire(self, session_id: str) -> SessionRecord | None:
        with self.conn.unavailable("starting work on a session"):
            flat = await self._acquire(
                keys=[self._key(session_id), self._index, self._unready, self._busy],
                args=[session_id, self.worker, orjson.dumps(time.time())],
            )
        return decode_fields(session_id, flat) if flat else None

    async def release(self, session_id: str) -> None:
        with self.conn.unavailable("ending work on a session"):
            await self._release(
                keys=[self._key(session_id), self._index, self._busy],
                args=[session_id, self.worker, orjson.dumps(time.time()), self._ttl_ms],
            )

    async def update(
        self, session_id: str, *, expect: Mapping[str, Any] | None = None, **changes: Any
    ) -> SessionRecord | None:
        check_changes(changes)
        check_changes(expect or (), "expect")
        expected = encode_fields(expect or {})
        args = [session_id, self.conn.prefix, len(expected), *_flat(expected), *_flat(encode_fields(changes))]
        with self.conn.unavailable("updating a session"):
            flat = await self._update(keys=[self._key(session_id), self._unready], args=args)
        return decode_fields(session_id, flat) if flat else None

    async def remove(self, session_id: str) -> SessionRecord | None:
        with self.conn.unavailable("removing a session"):
            flat = await self._remove(
                keys=[self._key(session_id), self._index, self._unready], args=[session_id, self.conn.prefix]
            )
        return decode_fields(session_id, flat) if flat else None

    async def count(self) -> int:
        """Sessions in the index (those Redis expired count until the next expire() or a
        create() at the cap removes them)."""
        with self.conn.unavailable("counting sessions"):
            return int(await self.conn.client.zcard(self._index))

    async def expire(self, now: float, idle_timeout: float, init_timeout: float) -> list[SessionRecord]:
        with self.conn.unavailable("expiring idle sessions"):
            out = await self._expire(
                keys=[self._index, self._unready],
                args=[self.conn.prefix, now - idle_timeout, now - init_timeout, self.expire_batch],
            )
        return [decode_fields(out[i].decode(), out[i + 1]) for i in range(0, len(out), 2)]

    async def release_worker(self, dead: str) -> int:
        """Clear the busy marks of worker ``dead`` (its requests and streams died with it):
        its sessions become idle from now and expire normally. Returns how many sessions it
        held busy. Idempotent."""
        with self.conn.unavailable("clearing a dead worker's busy marks"):
            freed = await self._release_worker(
                keys=[self.conn.key("busy", dead)],
                args=[dead, self.conn.prefix, orjson.dumps(time.time()), self._ttl_ms],
            )
        return int(freed)


def _flat(mapping: Mapping[Any, Any]) -> list[Any]:
    """``{k: v, ...}`` as ``[k, v, ...]`` (HSET arguments, HGETALL replies)."""
    return [item for pair in mapping.items() for item in pair]
