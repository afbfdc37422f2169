"""The task record and its wire shapes (2026-07-28 extension ``io.modelcontextprotocol/tasks``,
SEP-2663 "Tasks" and "Task Status"): sans-IO, shared by every :class:`~.store.TaskStore`."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ...errors import MissingClientCapability

__all__ = [
    "EXTENSION_ID",
    "TERMINAL",
    "TaskRecord",
    "create_result",
    "declares_tasks",
    "detailed_task",
    "missing_tasks_capability_data",
    "new_task_id",
    "require_extension",
]

EXTENSION_ID = "io.modelcontextprotocol/tasks"
TERMINAL = frozenset({"completed", "failed", "cancelled"})
STATUSES = frozenset({"working", "input_required"}) | TERMINAL


def new_task_id() -> str:
    """An unguessable id: without an authorization context the id is the only thing that keeps
    one client's task from another (SEP-2663 "Motivation", tasks/list scoping)."""
    return secrets.token_urlsafe(24)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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

    def __post_init__(self) -> None:
        if not self.updated_at:
            self.updated_at = self.created_at

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def expires_at(self) -> float:
        return self.created_at + self.ttl_ms / 1000


def _base(record: TaskRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "taskId": record.task_id,
        "status": record.status,
        "createdAt": _iso(record.created_at),
        "lastUpdatedAt": _iso(record.updated_at),
        "ttlMs": int(record.ttl_ms),
        "pollIntervalMs": int(record.poll_interval_ms),
    }
    if record.status_message:
        out["statusMessage"] = record.status_message
    return out


def create_result(record: TaskRecord) -> dict[str, Any]:
    """The flat ``CreateTaskResult`` (``Result & Task``, SEP-2663 "Task Creation"): no
    result, error, inputRequests or requestState."""
    return {"resultType": "task", **_base(record)}


def detailed_task(record: TaskRecord) -> dict[str, Any]:
    """The ``DetailedTask`` of ``tasks/get`` and ``notifications/tasks``: the status-specific
    payload inlined (SEP-2663 "Task Polling")."""
    out = _base(record)
    if record.status == "input_required":
        out["inputRequests"] = dict(record.input_requests)
    elif record.status == "completed" and record.result is not None:
        out["result"] = record.result
    elif record.status == "failed" and record.error is not None:
        out["error"] = record.error
    return out


def declares_tasks(client_capabilities: dict[str, Any] | None) -> bool:
    """Whether a request's client capabilities include the extension (SEP-2663
    "Capability Negotiation": per request, in ``_meta``)."""
    extensions = (client_capabilities or {}).get("extensions")
    return isinstance(extensions, dict) and isinstance(extensions.get(EXTENSION_ID), dict)


def require_extension(request: Any, method: str) -> None:
    """-32021 unless the request (a ServerRequestContext) declared the extension (SEP-2663
    "Capability Negotiation"; the tasks suite checks it for tasks/get, update and cancel)."""
    state = request.state
    if state is None or not declares_tasks(state.client_capabilities):
        raise MissingClientCapability(
            f"{method} needs the io.modelcontextprotocol/tasks extension declared in "
            '_meta["io.modelcontextprotocol/clientCapabilities"].extensions',
            missing_tasks_capability_data(),
        )


def missing_tasks_capability_data() -> dict[str, Any]:
    """``data`` of the -32021 error naming the extension the client must declare."""
    return {"requiredCapabilities": {"extensions": {EXTENSION_ID: {}}}}
