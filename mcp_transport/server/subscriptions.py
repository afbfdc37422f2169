"""``subscriptions/listen`` (2026-07-28, digest §6.9): the server side, transport-free.

A listen request is just another subscriber to the server's change notifications: the
handler (:func:`~.handlers.listen`) registers a :class:`Subscription`, sends the
acknowledgement, then forwards whatever :meth:`Subscription.next` yields, tagged with the
subscription id, on its own response stream (HTTP SSE, or stdout on stdio). The
subscription ends when the client cancels the request (HTTP: closes the stream; stdio:
``notifications/cancelled``) or when the server closes it (shutdown), in which case the
handler answers the listen request with a result.

Pending notifications coalesce (a second ``tools/list_changed`` while one is queued adds
nothing), so a slow reader holds at most one entry per kind and URI.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import anyio

__all__ = ["Subscription", "honoured_filter"]

# Request filter key -> the notification it opts in to.
_LIST_CHANGED = {
    "toolsListChanged": "notifications/tools/list_changed",
    "promptsListChanged": "notifications/prompts/list_changed",
    "resourcesListChanged": "notifications/resources/list_changed",
}
_RESOURCE_UPDATED = "notifications/resources/updated"
# Task status (2026-07-28 extension io.modelcontextprotocol/tasks, SEP-2663 "Task Status
# Notifications"): opted in per task id with the filter key "taskIds".
_TASKS = "notifications/tasks"


def honoured_filter(requested: dict[str, Any], capabilities: dict[str, Any]) -> dict[str, Any]:
    """The part of a listen request's ``notifications`` filter this server will honour:
    list-changed kinds whose capability declares ``listChanged``, resource URIs when it
    declares ``resources.subscribe``. Unknown or unsupported keys are dropped."""
    honoured: dict[str, Any] = {}
    for key, kind in (
        ("toolsListChanged", "tools"),
        ("promptsListChanged", "prompts"),
        ("resourcesListChanged", "resources"),
    ):
        if requested.get(key) is True and (capabilities.get(kind) or {}).get("listChanged"):
            honoured[key] = True
    uris = requested.get("resourceSubscriptions")
    if isinstance(uris, list) and (capabilities.get("resources") or {}).get("subscribe"):
        wanted = [u for u in uris if isinstance(u, str)]
        if wanted:
            honoured["resourceSubscriptions"] = wanted
    return honoured


class Subscription:
    """One open ``subscriptions/listen`` request: what it wants and what is waiting for it."""

    __slots__ = ("_pending", "_wake", "closed", "connection", "id", "methods", "task_ids", "uris")

    def __init__(self, subscription_id: Any, honoured: dict[str, Any], connection: Any = None) -> None:
        self.id = subscription_id
        self.connection = connection  # the transport connection it arrived on (stdio EOF ends it)
        self.methods = frozenset(method for key, method in _LIST_CHANGED.items() if honoured.get(key))
        self.uris = frozenset(honoured.get("resourceSubscriptions") or ())
        self.task_ids = frozenset(honoured.get("taskIds") or ())
        self._pending: deque[tuple[str, dict[str, Any] | None]] = deque()
        self._wake = anyio.Event()
        self.closed = False

    def wants(self, method: str, params: dict[str, Any] | None) -> bool:
        if method == _RESOURCE_UPDATED:
            return isinstance(params, dict) and params.get("uri") in self.uris
        if method == _TASKS:
            return isinstance(params, dict) and params.get("taskId") in self.task_ids
        return method in self.methods

    def push(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Queue a notification if this subscription opted in to it (sync, never blocks)."""
        if self.closed or not self.wants(method, params):
            return
        entry = (method, params)
        if method == _TASKS and params is not None:
            # Each carries the task's complete state: only the newest of a task is kept.
            task_id = params.get("taskId")
            for old in [e for e in self._pending if e[0] == _TASKS and (e[1] or {}).get("taskId") == task_id]:
                self._pending.remove(old)
        if entry not in self._pending:
            self._pending.append(entry)
            self._wake.set()

    def close(self) -> None:
        """End the subscription: :meth:`next` returns None once the queue is drained."""
        self.closed = True
        self._wake.set()

    async def next(self) -> tuple[str, dict[str, Any] | None] | None:
        """The next notification to forward, or None when the subscription was closed."""
        while not self._pending:
            if self.closed:
                return None
            await self._wake.wait()
            self._wake = anyio.Event()
        return self._pending.popleft()
