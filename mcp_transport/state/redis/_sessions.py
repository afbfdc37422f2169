"""The session store on Redis: every worker sees the same session records; each operation is
one Lua script, so one round trip and one atomic step (keys: ``_session_scripts.py``).

A request costs one round trip: ``acquire`` (is the session there, mark it busy, and its
record unless this worker's cached copy is still current). ``release`` sends nothing: the
worker counts its own requests per session and clears its mark once it holds none, for
every session at once, at the next ``flush`` (the endpoint's sweeper, at most a sweep
interval later, and at shutdown). Until then the session counts as busy: it cannot expire
early, only up to one sweep interval late, and its idle time counts from the real end of
its last request.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Mapping
from typing import Any

import orjson

from ..records import SessionRecord, check_changes, decode_fields, encode_fields, encode_record
from ..workers import worker_id
from . import _session_scripts as lua
from ._connection import RedisConnection

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_EXPIRE_BATCH",
    "DEFAULT_GRACE",
    "DEFAULT_IDLE_TIMEOUT",
    "RedisSessionStore",
]

# The transport's default session idle timeout (give the store the transport's value).
DEFAULT_IDLE_TIMEOUT = 1800.0
# An idle session's hash outlives its idle timeout by this much, so a sweeper's expire()
# still finds the record (and the transport can end its streams) before Redis drops it.
DEFAULT_GRACE = 60.0
# expire() looks at most this many candidates of each kind per call (oldest first); flush()
# clears at most this many busy marks per script (one script runs alone in Redis: keep it short).
DEFAULT_EXPIRE_BATCH = 1000
# Records this worker keeps (with their revision) so that acquire() need not read the whole
# record back while nobody changed it. The oldest cached goes first beyond this.
DEFAULT_CACHE_SIZE = 10_000


class RedisSessionStore:
    """:class:`~mcp_transport.state.session_store.SessionStore` on Redis, for one worker.

    ``worker`` (default: this process's ``worker_id()``) names the busy marks this store
    sets; one store per worker id (it counts the worker's requests). A busy session has no
    TTL, so marks of a worker that died would keep it forever: call :meth:`release_worker`
    with each dead worker the registry claims (the ``on_lapsed`` callback of
    ``WorkerRegistry.running``). Call :meth:`flush` periodically and before the worker
    stops: it clears the marks of sessions this worker no longer works on.

    On a cache hit, :meth:`acquire` returns the cached record with ``last_active`` now;
    its ``busy`` is the number of workers that held the session at the last full read.
    """

    def __init__(
        self,
        conn: RedisConnection,
        *,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        grace: float = DEFAULT_GRACE,
        worker: str | None = None,
        expire_batch: int = DEFAULT_EXPIRE_BATCH,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.conn = conn
        self.worker = worker or worker_id()
        self.ttl = idle_timeout + grace
        self.expire_batch = expire_batch
        self.cache_size = cache_size
        # This worker's side of the busy marks: requests per session (acquires in flight
        # included), and the sessions it stopped working on, for the next flush: id ->
        # (the latest acquire sequence number sent then, when).
        self._seq = itertools.count(1)
        self._sent = 0
        self._held: dict[str, int] = {}
        self._pending: dict[str, tuple[int, float]] = {}
        self._cache: dict[str, tuple[bytes, SessionRecord]] = {}  # id -> (revision, record)
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
        # A random first revision: a record created again under the same id never passes
        # for the one a worker cached.
        revision: list[Any] = ["n", secrets.randbelow(1 << 48)]
        with self.conn.unavailable("creating a session"):
            created = await self._create(
                keys=[self._key(record.id), self._index, self._unready],
                args=[*args, int(record.ready), *_flat(encode_record(record)), *revision],
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
        cached = self._cache.get(session_id)
        self._held[session_id] = self._held.get(session_id, 0) + 1
        self._pending.pop(session_id, None)  # this acquire marks it again
        self._sent = seq = next(self._seq)
        now = time.time()
        try:
            with self.conn.unavailable("starting work on a session"):
                reply = await self.conn.run(
                    self._acquire,
                    [self._key(session_id), self._index, self._unready, self._busy],
                    [session_id, self.worker, orjson.dumps(now), seq, cached[0] if cached else b""],
                )
        except BaseException:
            self._done(session_id, now)  # the script may have run: its mark goes as usual
            raise
        if not reply:
            self._held_less(session_id)  # nothing marked: the session is gone
            self._cache.pop(session_id, None)
            return None
        if cached is not None and reply == 1:
            return cached[1].touched(max(cached[1].busy, 1), now)
        return self._cached(session_id, reply)

    async def release(self, session_id: str) -> None:
        """Local: the mark goes at the next :meth:`flush` (if no request took it again)."""
        if session_id in self._held:
            self._done(session_id, time.time())

    async def flush(self) -> None:
        """Clear this worker's busy marks on the sessions it no longer works on (one round
        trip per ``expire_batch`` sessions). What Redis did not take stays for the next."""
        while self._pending:
            batch = dict(itertools.islice(self._pending.items(), self.expire_batch))
            for session_id in batch:
                del self._pending[session_id]
            args: list[Any] = [self.conn.prefix, self.worker, self._ttl_ms]
            for session_id, (seq, at) in batch.items():
                args += [session_id, seq, orjson.dumps(at)]
            try:
                with self.conn.unavailable("ending work on sessions"):
                    await self._release(keys=[self._index, self._busy], args=args)
            except BaseException:
                for session_id, entry in batch.items():
                    if session_id not in self._held:
                        self._pending.setdefault(session_id, entry)
                raise

    def _done(self, session_id: str, at: float) -> None:
        """One request on the session ended at ``at``; the last one queues its mark to go."""
        if not self._held_less(session_id):
            self._pending[session_id] = (self._sent, at)

    def _held_less(self, session_id: str) -> bool:
        """One request fewer on the session; whether some remain."""
        left = self._held.get(session_id, 0) - 1
        if left > 0:
            self._held[session_id] = left
            return True
        self._held.pop(session_id, None)
        return False

    def _cached(self, session_id: str, flat: list[Any]) -> SessionRecord:
        """The record from a whole hash, kept with its revision (the oldest beyond the bound
        leaves)."""
        record = decode_fields(session_id, flat)
        revision = dict(zip(flat[::2], flat[1::2], strict=True)).get(b"n")
        if revision is not None:
            self._cache.pop(session_id, None)
            self._cache[session_id] = (revision, record)
            if len(self._cache) > self.cache_size:
                del self._cache[next(iter(self._cache))]
        return record

    async def update(
        self, session_id: str, *, expect: Mapping[str, Any] | None = None, **changes: Any
    ) -> SessionRecord | None:
        check_changes(changes)
        check_changes(expect or (), "expect")
        expected = encode_fields(expect or {})
        args = [session_id, self.conn.prefix, len(expected), *_flat(expected), *_flat(encode_fields(changes))]
        with self.conn.unavailable("updating a session"):
            flat = await self._update(keys=[self._key(session_id), self._unready], args=args)
        return self._cached(session_id, flat) if flat else None

    async def remove(self, session_id: str) -> SessionRecord | None:
        with self.conn.unavailable("removing a session"):
            flat = await self._remove(
                keys=[self._key(session_id), self._index, self._unready], args=[session_id, self.conn.prefix]
            )
        self._cache.pop(session_id, None)
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
        gone = [decode_fields(out[i].decode(), out[i + 1]) for i in range(0, len(out), 2)]
        for record in gone:
            self._cache.pop(record.id, None)
        return gone

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
