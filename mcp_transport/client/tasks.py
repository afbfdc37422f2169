"""The client side of durable tasks (2026-07-28 extension ``io.modelcontextprotocol/tasks``,
SEP-2663): a :class:`ToolTask` handle on a ``tools/call`` the server answered with a task.

The handle holds nothing but the task id and the client it talks through, so a task can be
picked up again by id from another client, process or machine (``Client.task(task_id)``):
the server keeps the task, the client only polls it. ``result()`` polls ``tasks/get`` at
the server's ``pollIntervalMs`` and answers ``input_required`` rounds with ``tasks/update``,
through the same elicitation, sampling and roots handlers as a plain call's MRTR rounds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import anyio

from ..errors import MCPError, RemoteError, UsageError
from .listen import Subscription

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "EXTENSION_ID",
    "MAX_POLL_INTERVAL",
    "MIN_POLL_INTERVAL",
    "TERMINAL",
    "TaskCancelled",
    "TaskPeer",
    "ToolTask",
    "declare_tasks",
]

EXTENSION_ID = "io.modelcontextprotocol/tasks"
TERMINAL = frozenset({"completed", "failed", "cancelled"})
# Seconds between polls when the server names no pollIntervalMs, and the bounds we keep a
# server's value within: a 0 must not spin, a huge one must not stall a finished task.
DEFAULT_POLL_INTERVAL = 1.0
MIN_POLL_INTERVAL = 0.01
MAX_POLL_INTERVAL = 30.0
# While notifications/tasks arrive through a listen, a poll still runs at least this often:
# a notification dropped for a slow reader or a lost stream must not stall the wait.
LISTEN_BACKSTOP = 10.0


class TaskCancelled(MCPError):
    """The task ended ``cancelled``: it has no result."""


class TaskPeer(Protocol):
    """What a handle needs from its client: send a request (the envelope added), and answer
    a set of input requests with the client's handlers."""

    async def request(
        self, method: str, params: Mapping[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]: ...

    async def _answer_inputs(self, method: str, task: dict[str, Any]) -> dict[str, Any]: ...

    def _listen_tasks(self, task_ids: list[str]) -> AbstractAsyncContextManager[Subscription]: ...


def declare_tasks(capabilities: dict[str, Any]) -> dict[str, Any]:
    """``capabilities`` with the extension declared (SEP-2663 "Capability Negotiation": per
    request, in the ``_meta`` client capabilities, an empty object means support)."""
    extensions = dict(capabilities.get("extensions") or {})
    extensions.setdefault(EXTENSION_ID, {})
    return {**capabilities, "extensions": extensions}


def poll_interval(task: Mapping[str, Any]) -> float:
    """Seconds to wait before the next poll, as the server suggests (SEP-2663 "Tasks":
    clients SHOULD honour it), within our bounds."""
    raw = task.get("pollIntervalMs", task.get("pollIntervalMilliseconds"))
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        return DEFAULT_POLL_INTERVAL
    return min(max(raw / 1000, MIN_POLL_INTERVAL), MAX_POLL_INTERVAL)


class ToolTask:
    """A task on the server. ``task_id`` names it; ``last`` is the last task state seen (the
    ``CreateTaskResult`` or a ``tasks/get`` result).

    * ``await task.status()``: the current ``DetailedTask`` (``tasks/get``);
    * ``await task.result(timeout=None, listen=False)``: wait for the end; the
      ``CallToolResult`` when ``completed`` (a tool error is a result with ``isError``),
      RemoteError when ``failed``, TaskCancelled when ``cancelled``; TimeoutError after
      ``timeout`` seconds (the task goes on on the server). ``listen`` wakes on the
      server's ``notifications/tasks`` instead of waiting out each poll interval;
    * ``await task.cancel()``: ask the server to cancel it (idempotent; cooperative: the
      task may still complete).
    """

    def __init__(self, peer: TaskPeer, task_id: str, last: dict[str, Any] | None = None) -> None:
        if not task_id:
            raise UsageError(f"a task id is a non-empty string, not {task_id!r}")
        self._peer = peer
        self.task_id: str | None = task_id
        self.last: dict[str, Any] = dict(last or {"taskId": task_id})

    @classmethod
    def finished(cls, peer: TaskPeer, result: dict[str, Any]) -> ToolTask:
        """A handle on a call the server answered at once, without a task (the server is the
        sole decider, SEP-2663 "Capability Negotiation"): ``task_id`` is None, ``status()``
        and ``result()`` answer from ``result``, ``cancel()`` does nothing."""
        task = cls(peer, "-", {"status": "completed", "result": result})
        task.task_id = None
        return task

    def __repr__(self) -> str:
        return f"ToolTask({self.task_id!r}, status={self.last.get('status')!r})"

    def _params(self, **extra: Any) -> dict[str, Any]:
        params: dict[str, Any] = {"taskId": self.task_id, **extra}
        if isinstance(self.last.get("requestState"), str):  # echoed as given (SEP-2663)
            params["requestState"] = self.last["requestState"]
        return params

    async def status(self) -> dict[str, Any]:
        """The task now (``tasks/get``): ``status``, and ``result``, ``error`` or
        ``inputRequests`` inlined as the status has them."""
        if self.task_id is None:
            return self.last
        task = await self._peer.request("tasks/get", self._params())
        if task.get("taskId", self.task_id) != self.task_id or not isinstance(task.get("status"), str):
            raise MCPError(
                f"tasks/get for {self.task_id!r} answered something that is not that task: {task!r}"
            )
        self.last = task
        return task

    async def cancel(self) -> None:
        """``tasks/cancel``: an empty acknowledgement, also for a task already finished."""
        if self.task_id is not None:
            await self._peer.request("tasks/cancel", self._params())

    async def result(self, *, timeout: float | None = None, listen: bool = False) -> dict[str, Any]:
        """Poll until the task ends and return its result (see the class docstring). With
        ``listen``, a ``subscriptions/listen`` for this task's ``notifications/tasks`` wakes
        the wait as soon as the task changes (polls go on every 10 s at least); a server that
        refuses the listen or leaves ``taskIds`` out of its acknowledgement is polled."""
        with anyio.fail_after(math.inf if timeout is None else timeout):
            task = await self._listening() if listen and self.task_id is not None else None
            if task is None:
                task = await self._until_done(None)
        return self._outcome(task)

    async def _listening(self) -> dict[str, Any] | None:
        """The task's end, waited for under a listen; None if the server has no such listen."""
        assert self.task_id is not None
        try:
            async with self._peer._listen_tasks([self.task_id]) as subscription:
                if subscription.honoured.get("taskIds"):
                    return await self._until_done(subscription)
        except RemoteError as exc:
            if exc.code not in (-32601, -32602, -32021):  # not "no such listen": a real error
                raise
        return None

    async def _until_done(self, subscription: Subscription | None) -> dict[str, Any]:
        task = await self.status()
        while task["status"] not in TERMINAL:
            if task["status"] == "input_required":
                await self._answer(task)
            elif subscription is None:
                await anyio.sleep(poll_interval(task))
            else:
                with anyio.move_on_after(max(poll_interval(task), LISTEN_BACKSTOP)):
                    await _next_change(subscription)
            task = await self.status()
        return task

    async def _answer(self, task: dict[str, Any]) -> None:
        if not task.get("inputRequests"):  # all answered already: wait for the server to move on
            await anyio.sleep(poll_interval(task))
            return
        answers = await self._peer._answer_inputs("tasks/get", {"inputRequests": task["inputRequests"]})
        await self._peer.request("tasks/update", self._params(inputResponses=answers["inputResponses"]))

    def _outcome(self, task: dict[str, Any]) -> dict[str, Any]:
        """The result of a task in a terminal status, or its error raised."""
        status = task["status"]
        if status == "completed":
            result = task.get("result")
            if not isinstance(result, dict):
                raise MCPError(f"task {self.task_id!r} completed without a result object")
            return result
        if status == "failed":
            raw = task.get("error")
            error: dict[str, Any] = raw if isinstance(raw, dict) else {}
            code = error.get("code")
            raise RemoteError(
                code if isinstance(code, int) else -32603,
                str(error.get("message") or f"task {self.task_id!r} failed"),
                error.get("data"),
            )
        raise TaskCancelled(
            f"task {self.task_id!r} was cancelled: {task.get('statusMessage') or 'no result'}"
        )


async def _next_change(subscription: Subscription) -> None:
    """Wait for the next notification on the listen (any: it only wakes a poll); an ended
    listen waits forever, leaving the backstop poll."""
    try:
        await subscription.__anext__()
    except StopAsyncIteration:
        await anyio.sleep_forever()
