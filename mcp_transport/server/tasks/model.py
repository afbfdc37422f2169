"""The wire shapes of a task (2026-07-28 extension ``io.modelcontextprotocol/tasks``, SEP-2663
"Tasks" and "Task Status"), built from the stored :class:`~mcp_transport.state.tasks.TaskRecord`:
sans-IO, the same for every task store."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from ...errors import MissingClientCapability
from ...state.tasks import TaskRecord

__all__ = [
    "EXTENSION_ID",
    "create_result",
    "declares_tasks",
    "detailed_task",
    "missing_tasks_capability_data",
    "new_task_id",
    "require_extension",
]

EXTENSION_ID = "io.modelcontextprotocol/tasks"


def new_task_id() -> str:
    """An unguessable id: without an authorization context the id is the only thing that keeps
    one client's task from another (SEP-2663 "Motivation", tasks/list scoping)."""
    return secrets.token_urlsafe(24)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
