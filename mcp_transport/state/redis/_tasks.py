"""Tasks on Redis: :class:`~mcp_transport.state.tasks.TaskStore` shared by every worker, so a
task created on one is polled, answered and cancelled through any other (2026-07-28
extension ``io.modelcontextprotocol/tasks``, SEP-2663 "Streamable HTTP: Routing Headers").

Task ``id`` is one hash ``{prefix}task:{id}`` that Redis removes ``ttlMs`` after creation
(SEP-2663 "Task Creation": the task and its result are kept for ``ttlMs``). Its fields:
``principal``, ``worker`` (the owner), ``ttl``, ``poll``, ``status``, ``created`` and
``updated`` (epoch seconds, the writing worker's clock), ``message``, ``result`` and
``error`` (JSON), ``cancel`` ("1"), ``issued`` (input keys issued so far), ``pending``
(outstanding input requests), and per input key ``k``: ``key:k`` (its issue number: keys are
never reused), ``req:k`` (the outstanding request, JSON) and ``ans:k`` (an answer not yet
taken, JSON). JSON is never decoded inside Redis: results keep every number as written.

Three sorted sets index the tasks, scored by their expiry time (Redis's clock), each expiring
with its longest-lived member and trimmed of expired members on every create, so an index
never outlives its tasks: ``{prefix}tasks:principal:{principal}`` (the per-principal bound),
``{prefix}tasks:all`` (the total bound) and ``{prefix}tasks:worker:{worker}`` (the tasks a
worker is running; a survivor that claims a dead worker fails them).

Every operation is one round trip: one Lua script (read-modify-write steps, atomic) or one
command. The Lua scripts compute the key of a task's worker from the prefix, so a single Redis
primary is assumed, as for the rest of this package.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from redis.typing import EncodableT

from ..tasks import (
    DEFAULT_MAX_TASKS,
    DEFAULT_MAX_TASKS_PER_PRINCIPAL,
    TaskRecord,
    per_principal_exceeded,
    total_exceeded,
    worker_lost_error,
)
from ._connection import DEFAULT_PREFIX, RedisConnection
from ._registry import DEFAULT_WORKER_LEASE, WorkerRegistry

__all__ = ["RedisTaskStore"]

log = logging.getLogger("mcp_transport.state.redis")

# Expired members one expire() call takes off the total index (the rest wait a round).
EXPIRE_LIMIT = 1000

_COMMON = """
local TERMINAL = {completed = true, failed = true, cancelled = true}
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- lastUpdatedAt only moves forward (workers' clocks differ a little). Strings are written
-- as given: a Lua number would be cut to 14 digits.
local function touch(task, now)
  local old = redis.call('HGET', task, 'updated')
  if not old or tonumber(now) > tonumber(old) then redis.call('HSET', task, 'updated', now) end
end
-- A live task ends: its status and payload, its input gone, off its worker's running set.
local function settle(task, id, status, result, err, now, prefix)
  local s = redis.call('HMGET', task, 'status', 'worker')
  if not s[1] or TERMINAL[s[1]] then return 0 end
  for _, f in ipairs(redis.call('HKEYS', task)) do
    local kind = string.sub(f, 1, 4)
    if kind == 'req:' or kind == 'ans:' then redis.call('HDEL', task, f) end
  end
  redis.call('HSET', task, 'status', status, 'pending', 0)
  if result ~= '' then redis.call('HSET', task, 'result', result) end
  if err ~= '' then redis.call('HSET', task, 'error', err) end
  touch(task, now)
  redis.call('ZREM', prefix .. 'tasks:worker:' .. s[2], id)
  return 1
end
"""

# KEYS task, principal index, worker index, total index; ARGV id, ttl_ms, max per principal,
# max in all, then the hash's field/value pairs. 1 created, -1 / -2 over the principal's /
# the total bound, 0 the id exists.
_CREATE = (
    _COMMON
    + """
local now = now_ms()
for i = 2, 4 do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now) end
if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[4]) then return -2 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return -1 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
for i = 2, 4 do
  redis.call('ZADD', KEYS[i], now + tonumber(ARGV[2]), ARGV[1])
  -- an index lives as long as its longest-lived task
  if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
end
return 1
"""
)

# KEYS task; ARGV id, status, result JSON or '', error JSON or '', now, prefix. 1 or 0.
_FINISH = _COMMON + "return settle(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])"

# KEYS task; ARGV message, '1' to set it ('0' clears it), now.
_SET_MESSAGE = (
    _COMMON
    + """
local s = redis.call('HGET', KEYS[1], 'status')
if not s or TERMINAL[s] then return 0 end
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 'message', ARGV[1])
else redis.call('HDEL', KEYS[1], 'message') end
touch(KEYS[1], ARGV[3])
return 1
"""
)

# KEYS task; ARGV key, request JSON, now. 0: unknown, terminal, or the key was issued before.
_ADD_INPUT = (
    _COMMON
    + """
local s = redis.call('HMGET', KEYS[1], 'status', 'key:' .. ARGV[1])
if not s[1] or TERMINAL[s[1]] or s[2] then return 0 end
local n = redis.call('HINCRBY', KEYS[1], 'issued', 1)
redis.call('HSET', KEYS[1], 'key:' .. ARGV[1], n, 'req:' .. ARGV[1], ARGV[2], 'status', 'input_required')
redis.call('HINCRBY', KEYS[1], 'pending', 1)
touch(KEYS[1], ARGV[3])
return 1
"""
)

# KEYS task; ARGV now, then key/answer JSON pairs. Answers to outstanding keys only
# (partial fulfilment); ``working`` again once none is outstanding. 0: unknown task.
_ANSWER = (
    _COMMON
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
local accepted = 0
for i = 2, #ARGV, 2 do
  if redis.call('HDEL', KEYS[1], 'req:' .. ARGV[i]) == 1 then
    redis.call('HSET', KEYS[1], 'ans:' .. ARGV[i], ARGV[i + 1])
    accepted = accepted + 1
  end
end
if accepted > 0 then
  local left = redis.call('HINCRBY', KEYS[1], 'pending', -accepted)
  if left == 0 and status == 'input_required' then redis.call('HSET', KEYS[1], 'status', 'working') end
  touch(KEYS[1], ARGV[1])
end
return 1
"""
)

# KEYS task; ARGV key. The answer (taken: removed), or nil.
_TAKE_ANSWER = """
local v = redis.call('HGET', KEYS[1], 'ans:' .. ARGV[1])
if v then redis.call('HDEL', KEYS[1], 'ans:' .. ARGV[1]) end
return v
"""

# KEYS task; ARGV now. The task after the flag is set (not on a terminal task), or nil.
_CANCEL = (
    _COMMON
    + """
local s = redis.call('HMGET', KEYS[1], 'status', 'cancel')
if not s[1] then return false end
if not TERMINAL[s[1]] and not s[2] then
  redis.call('HSET', KEYS[1], 'cancel', '1')
  touch(KEYS[1], ARGV[1])
end
return redis.call('HGETALL', KEYS[1])
"""
)

# KEYS the dead worker's index; ARGV prefix, error JSON, now. The ids of the tasks failed.
_FAIL_WORKER = (
    _COMMON
    + """
local failed = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if settle(ARGV[1] .. 'task:' .. id, id, 'failed', '', ARGV[2], ARGV[3], ARGV[1]) == 1 then
    table.insert(failed, id)
  end
end
redis.call('DEL', KEYS[1])
return failed
"""
)

# KEYS total index; ARGV limit. The ids whose TTL elapsed (Redis removed their hashes).
_EXPIRE = (
    _COMMON
    + """
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[1]))
if #gone > 0 then redis.call('ZREM', KEYS[1], unpack(gone)) end
return gone
"""
)

# KEYS principal index. Its live tasks.
_COUNT = _COMMON + "return redis.call('ZCOUNT', KEYS[1], '(' .. now_ms(), '+inf')"


class RedisTaskStore:
    """:class:`~mcp_transport.state.tasks.TaskStore` on Redis, for several workers.

    ``registry``: this worker's lease (default ``WorkerRegistry(conn)``), held while the task
    runner runs (:meth:`running`); the tasks this worker creates are recorded as its own, and
    the survivor that claims a dead worker (its lease lapsed) fails the tasks it was running.
    Bounds as in :class:`~mcp_transport.state.tasks.MemoryTaskStore`, cluster-wide.
    """

    def __init__(
        self,
        conn: RedisConnection,
        *,
        registry: WorkerRegistry | None = None,
        max_tasks_per_principal: int = DEFAULT_MAX_TASKS_PER_PRINCIPAL,
        max_tasks: int = DEFAULT_MAX_TASKS,
    ) -> None:
        self.conn = conn
        self.registry = registry if registry is not None else WorkerRegistry(conn)
        self.worker = self.registry.id
        self.max_tasks_per_principal = max_tasks_per_principal
        self.max_tasks = max_tasks
        self._all = conn.key("tasks", "all")
        script = conn.client.register_script
        self._create, self._finish = script(_CREATE), script(_FINISH)
        self._set_message, self._add_input = script(_SET_MESSAGE), script(_ADD_INPUT)
        self._answer, self._take_answer = script(_ANSWER), script(_TAKE_ANSWER)
        self._cancel, self._fail_worker = script(_CANCEL), script(_FAIL_WORKER)
        self._expire, self._count = script(_EXPIRE), script(_COUNT)

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = DEFAULT_PREFIX, lease: float = DEFAULT_WORKER_LEASE, **bounds: int
    ) -> RedisTaskStore:
        """A store on its own connection to ``url`` (``redis://host:port/db``)."""
        conn = RedisConnection(url, prefix=prefix)
        return cls(conn, registry=WorkerRegistry(conn, lease=lease), **bounds)

    def _task(self, task_id: str) -> str:
        return self.conn.key("task", task_id)

    def _worker_index(self, worker: str) -> str:
        return self.conn.key("tasks", "worker", worker)

    async def create(self, record: TaskRecord) -> None:
        record.worker = self.worker
        keys = [
            self._task(record.task_id),
            self.conn.key("tasks", "principal", record.principal),
            self._worker_index(self.worker),
            self._all,
        ]
        args: list[EncodableT] = [record.task_id, record.ttl_ms, self.max_tasks_per_principal, self.max_tasks]
        with self.conn.unavailable(f"creating task {record.task_id}"):
            created = await self._create(keys=keys, args=args + _encode(record))
        if created == -1:
            raise per_principal_exceeded(self.max_tasks_per_principal)
        if created == -2:
            raise total_exceeded(self.max_tasks)
        if created == 0:
            raise ValueError(f"task {record.task_id} exists already")

    async def get(self, task_id: str) -> TaskRecord | None:
        with self.conn.unavailable(f"reading task {task_id}"):
            raw: dict[bytes, bytes] = await self.conn.client.hgetall(self._task(task_id))  # type: ignore[assignment]  # redis-py types hgetall's awaitable loosely
        return _decode(task_id, raw)

    async def finish(
        self,
        task_id: str,
        status: str,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> bool:
        args: list[EncodableT] = [task_id, status, _json_or_empty(result), _json_or_empty(error)]
        with self.conn.unavailable(f"finishing task {task_id}"):
            done = await self._finish(keys=[self._task(task_id)], args=[*args, _now(), self.conn.prefix])
        return bool(done)

    async def set_message(self, task_id: str, message: str | None) -> None:
        args = [message or "", "0" if message is None else "1", _now()]
        with self.conn.unavailable(f"updating task {task_id}"):
            await self._set_message(keys=[self._task(task_id)], args=args)

    async def add_input_request(self, task_id: str, key: str, request: dict[str, Any]) -> bool:
        args: list[EncodableT] = [key, orjson.dumps(request), _now()]
        with self.conn.unavailable(f"asking for input on task {task_id}"):
            return bool(await self._add_input(keys=[self._task(task_id)], args=args))

    async def answer(self, task_id: str, responses: dict[str, Any]) -> bool:
        args: list[EncodableT] = [_now()]
        for key, value in responses.items():
            args += [key, orjson.dumps(value)]
        with self.conn.unavailable(f"answering task {task_id}"):
            return bool(await self._answer(keys=[self._task(task_id)], args=args))

    async def take_answer(self, task_id: str, key: str) -> Any | None:
        with self.conn.unavailable(f"reading an answer of task {task_id}"):
            raw = await self._take_answer(keys=[self._task(task_id)], args=[key])
        return orjson.loads(raw) if raw is not None else None

    async def request_cancel(self, task_id: str) -> TaskRecord | None:
        with self.conn.unavailable(f"cancelling task {task_id}"):
            flat = await self._cancel(keys=[self._task(task_id)], args=[_now()])
        return _decode(task_id, dict(zip(flat[::2], flat[1::2], strict=True))) if flat else None

    async def fail_worker(self, worker: str) -> list[str]:
        args: list[EncodableT] = [self.conn.prefix, orjson.dumps(worker_lost_error(worker)), _now()]
        with self.conn.unavailable(f"failing the tasks of worker {worker}"):
            failed = await self._fail_worker(keys=[self._worker_index(worker)], args=args)
        return [task_id.decode() for task_id in failed]

    async def expire(self, now: float) -> list[str]:
        """Redis removes each task at its TTL by itself; this takes the expired ones off the
        total index (at most EXPIRE_LIMIT a call) and names them. ``now`` is not used:
        Redis's clock decides."""
        with self.conn.unavailable("expiring tasks"):
            gone = await self._expire(keys=[self._all], args=[EXPIRE_LIMIT])
        return [task_id.decode() for task_id in gone]

    async def count(self, principal: str) -> int:
        with self.conn.unavailable("counting tasks"):
            return int(await self._count(keys=[self.conn.key("tasks", "principal", principal)]))

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Hold this worker's lease; fail the tasks of each dead worker this one claims."""
        async with self.registry.running(self._lapsed):
            yield

    async def _lapsed(self, worker: str) -> None:
        failed = await self.fail_worker(worker)
        if failed:
            log.warning("worker %s died: %d of its tasks failed (%s)", worker, len(failed), ", ".join(failed))


def _now() -> str:
    """This worker's clock for ``updated``, as a string: exact, unlike a Lua number."""
    return repr(time.time())


def _json_or_empty(value: dict[str, Any] | None) -> bytes:
    return orjson.dumps(value) if value is not None else b""


def _encode(record: TaskRecord) -> list[EncodableT]:
    """The hash's field/value pairs for a whole record."""
    fields: dict[str, EncodableT] = {
        "principal": record.principal,
        "worker": record.worker,
        "ttl": int(record.ttl_ms),
        "poll": int(record.poll_interval_ms),
        "status": record.status,
        "created": repr(record.created_at),
        "updated": repr(record.updated_at),
        "issued": len(record.issued_keys),
        "pending": len(record.input_requests),
    }
    optional = {"message": record.status_message, "result": record.result, "error": record.error}
    for name, value in optional.items():
        if value is not None:
            fields[name] = value if isinstance(value, str) else orjson.dumps(value)
    if record.cancel_requested:
        fields["cancel"] = "1"
    for number, key in enumerate(record.issued_keys, 1):
        fields[f"key:{key}"] = number
    fields |= {f"req:{key}": orjson.dumps(value) for key, value in record.input_requests.items()}
    fields |= {f"ans:{key}": orjson.dumps(value) for key, value in record.answers.items()}
    return [item for pair in fields.items() for item in pair]


def _decode(task_id: str, raw: dict[bytes, bytes]) -> TaskRecord | None:
    if not raw:
        return None
    f = {name.decode(): value for name, value in raw.items()}
    issued = [k for _, k in sorted((int(v), name[4:]) for name, v in f.items() if name.startswith("key:"))]
    return TaskRecord(
        task_id,
        f["principal"].decode(),
        int(f["ttl"]),
        int(f["poll"]),
        status=f["status"].decode(),
        created_at=float(f["created"]),
        updated_at=float(f["updated"]),
        status_message=f["message"].decode() if "message" in f else None,
        result=orjson.loads(f["result"]) if "result" in f else None,
        error=orjson.loads(f["error"]) if "error" in f else None,
        input_requests={k: orjson.loads(f["req:" + k]) for k in issued if "req:" + k in f},
        answers={k: orjson.loads(f["ans:" + k]) for k in issued if "ans:" + k in f},
        issued_keys=issued,
        cancel_requested="cancel" in f,
        worker=f["worker"].decode(),
    )
