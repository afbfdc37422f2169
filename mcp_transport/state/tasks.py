"""Where tasks live (2026-07-28 extension ``io.modelcontextprotocol/tasks``, SEP-2663): the
task record, the :class:`TaskStore` protocol and the in-memory default.

A task must outlive the request that created it and, with a shared store, the worker that
runs it: any worker answers ``tasks/get``, ``tasks/update`` and ``tasks/cancel`` from the
store alone (SEP-2663 "Streamable HTTP: Routing Headers": a load balancer may send each poll
anywhere). So the store holds all of a task's observable state, every operation is one
atomic step on one record, and workers never share Python objects through it (reads return
copies). The wire shapes built from a record live with the server (``server/tasks/model.py``).

Bounds (docs/architecture.md, "Tasks"; docs/deployment.md for Redis):
``max_tasks_per_principal`` live tasks per principal and ``max_tasks`` in all (a ``tools/call``
over either is refused with :class:`TaskLimitExceeded`); a task is removed ``ttlMs`` after
its creation.
"""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import InternalError, ServerOverloaded
from .workers import worker_id

__all__ = [
    "DEFAULT_MAX_TASKS",
    "DEFAULT_MAX_TASKS_PER_PRINCIPAL",
    "STATUSES",
    "TERMINAL",
    "MemoryTaskStore",
    "TaskLimitExceeded",
    "TaskRecord",
    "TaskStore",
    "per_principal_exceeded",
    "total_exceeded",
    "worker_lost_error",
]

TERMINAL = frozenset({"completed", "failed", "cancelled"})
STATUSES = frozenset({"working", "input_required"}) | TERMINAL

DEFAULT_MAX_TASKS_PER_PRINCIPAL = 100
DEFAULT_MAX_TASKS = 10_000


@dataclass(slots=True)
class TaskRecord:
    """Everything a worker needs to answer ``tasks/get`` for a task: plain data, so a
    store can serialise it (JSON) for other workers."""

    task_id: str
    principal: str
    ttl_ms: int
    poll_interval_ms: int
    status: str = "working"
    created_at: float = field(default_factory=time.time)
    updated_at: float = 0.0
    status_message: str | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    # Outstanding input requests (key -> {method, params}) and answers not yet consumed.
    input_requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)
    # Every key ever issued: a key is never reused over the task's life (SEP-2663
    # "Task Update Requests").
    issued_keys: list[str] = field(default_factory=list)
    cancel_requested: bool = False
    # The worker running the handler (``state.workers.worker_id()``), set by the store on
    # create: if that worker dies, the task fails (:meth:`TaskStore.fail_worker`).
    worker: str = ""

    def __post_init__(self) -> None:
        if not self.updated_at:
            self.updated_at = self.created_at

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def expires_at(self) -> float:
        return self.created_at + self.ttl_ms / 1000


class TaskLimitExceeded(ServerOverloaded):
    """Too many live tasks for this principal (or on this server): -32010 like every full
    bound; the client may retry once some tasks finish and expire."""


def per_principal_exceeded(limit: int) -> TaskLimitExceeded:
    return TaskLimitExceeded(
        f"Too many tasks: at most {limit} live tasks per client; "
        "let some finish and expire (or cancel them) and retry"
    )


def total_exceeded(limit: int) -> TaskLimitExceeded:
    return TaskLimitExceeded(f"This server holds its maximum of {limit} tasks; retry later")


def worker_lost_error(worker: str) -> dict[str, Any]:
    """The ``error`` of a task whose worker died while running it."""
    lost = InternalError(
        f"The worker running this task ({worker}) stopped without finishing it (its lease lapsed); "
        "call the tool again"
    )
    return lost.to_error().to_dict()


class TaskStore(Protocol):
    """The operations the task runner and the ``tasks/*`` methods need. Each is atomic on
    one task; an unknown (or expired) task id gives None / False, never an exception."""

    worker: str  # this worker's id, recorded as the owner of the tasks it creates

    async def create(self, record: TaskRecord) -> None:
        """Store a new task owned by this worker (``record.worker`` is set); once this
        returns, :meth:`get` finds it on every worker (SEP-2663 "Task Creation": no
        CreateTaskResult before that). Raises :class:`TaskLimitExceeded` over a bound."""

    async def get(self, task_id: str) -> TaskRecord | None: ...

    async def finish(
        self,
        task_id: str,
        status: str,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> bool:
        """Move a task to a terminal status; False if it is unknown or already terminal
        (the first terminal status wins: a late completion never overwrites a cancel)."""

    async def set_message(self, task_id: str, message: str | None) -> None: ...

    async def add_input_request(self, task_id: str, key: str, request: dict[str, Any]) -> bool:
        """Record an outstanding input request; the task becomes ``input_required``."""

    async def answer(self, task_id: str, responses: dict[str, Any]) -> bool:
        """Accept ``inputResponses``: answers to outstanding keys are kept and those keys
        leave ``inputRequests``; other keys are ignored (SEP-2663 "Task Update Requests").
        The task is ``working`` again once no request is outstanding. False: unknown task."""

    async def take_answer(self, task_id: str, key: str) -> Any | None:
        """Remove and return the answer to ``key``, or None if there is none yet."""

    async def request_cancel(self, task_id: str) -> TaskRecord | None:
        """Flag a task for cooperative cancellation (a no-op on a terminal task)."""

    async def fail_worker(self, worker: str) -> list[str]:
        """The tasks ``worker`` was still running end ``failed`` (:func:`worker_lost_error`):
        it died. Their ids."""

    async def expire(self, now: float) -> list[str]:
        """Remove the tasks whose ``ttlMs`` has elapsed; their ids."""

    async def count(self, principal: str) -> int:
        """Live (stored) tasks of ``principal``."""

    def running(self) -> AbstractAsyncContextManager[None]:
        """Held by the task runner while this worker runs tasks: what the store needs
        meanwhile (a shared store: this worker's lease, and failing the tasks of workers
        that died)."""


class MemoryTaskStore:
    """The default store: one process's dict. Right for one worker; use a shared store
    (Redis) behind a load balancer. Never awaits, so every operation is atomic."""

    def __init__(
        self,
        *,
        max_tasks_per_principal: int = DEFAULT_MAX_TASKS_PER_PRINCIPAL,
        max_tasks: int = DEFAULT_MAX_TASKS,
        worker: str | None = None,
    ) -> None:
        self.max_tasks_per_principal = max_tasks_per_principal
        self.max_tasks = max_tasks
        self.worker = worker or worker_id()
        self._tasks: dict[str, TaskRecord] = {}

    def _live(self, task_id: str) -> TaskRecord | None:
        record = self._tasks.get(task_id)
        if record is not None and record.expires_at() <= time.time():
            del self._tasks[task_id]
            return None
        return record

    async def create(self, record: TaskRecord) -> None:
        if len(self._tasks) >= self.max_tasks:
            await self.expire(time.time())
        if len(self._tasks) >= self.max_tasks:
            raise total_exceeded(self.max_tasks)
        if await self.count(record.principal) >= self.max_tasks_per_principal:
            raise per_principal_exceeded(self.max_tasks_per_principal)
        record.worker = self.worker
        self._tasks[record.task_id] = copy.deepcopy(record)

    async def get(self, task_id: str) -> TaskRecord | None:
        record = self._live(task_id)
        return copy.deepcopy(record) if record is not None else None

    async def finish(
        self,
        task_id: str,
        status: str,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> bool:
        record = self._live(task_id)
        if record is None or record.terminal:
            return False
        record.status, record.result, record.error = status, result, error
        record.input_requests.clear()
        record.answers.clear()
        _touch(record)
        return True

    async def set_message(self, task_id: str, message: str | None) -> None:
        record = self._live(task_id)
        if record is not None and not record.terminal:
            record.status_message = message
            _touch(record)

    async def add_input_request(self, task_id: str, key: str, request: dict[str, Any]) -> bool:
        record = self._live(task_id)
        if record is None or record.terminal or key in record.issued_keys:
            return False
        record.issued_keys.append(key)
        record.input_requests[key] = request
        record.status = "input_required"
        _touch(record)
        return True

    async def answer(self, task_id: str, responses: dict[str, Any]) -> bool:
        record = self._live(task_id)
        if record is None:
            return False
        accepted = [key for key in responses if key in record.input_requests]
        for key in accepted:
            del record.input_requests[key]
            record.answers[key] = responses[key]
        if accepted:
            if not record.input_requests and record.status == "input_required":
                record.status = "working"
            _touch(record)
        return True

    async def take_answer(self, task_id: str, key: str) -> Any | None:
        record = self._live(task_id)
        return record.answers.pop(key, None) if record is not None else None

    async def request_cancel(self, task_id: str) -> TaskRecord | None:
        record = self._live(task_id)
        if record is None:
            return None
        if not record.terminal and not record.cancel_requested:
            record.cancel_requested = True
            _touch(record)
        return copy.deepcopy(record)

    async def fail_worker(self, worker: str) -> list[str]:
        running = [t for t, r in self._tasks.items() if r.worker == worker and not r.terminal]
        error = worker_lost_error(worker)
        return [task_id for task_id in running if await self.finish(task_id, "failed", error=error)]

    async def expire(self, now: float) -> list[str]:
        gone = [task_id for task_id, record in self._tasks.items() if record.expires_at() <= now]
        for task_id in gone:
            del self._tasks[task_id]
        return gone

    async def count(self, principal: str) -> int:
        now = time.time()
        return sum(1 for r in self._tasks.values() if r.principal == principal and r.expires_at() > now)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Nothing to hold: this store dies with its worker, and so do the tasks in it."""
        yield


def _touch(record: TaskRecord) -> None:
    record.updated_at = max(time.time(), record.updated_at)
