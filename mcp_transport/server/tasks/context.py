"""``TaskContext``: the Context of a tool that may run as a task. The handler code is the
same for a plain call and a task; only where its calls go changes once it runs as a task
(2026-07-28 extension ``io.modelcontextprotocol/tasks``, SEP-2663):

* input calls (``elicit``, ``sample``, ``list_roots``) become the task's ``inputRequests``
  (status ``input_required``) and wait for the client's ``tasks/update``; ``ask_all`` puts
  all of its requests up at once, so the client may answer them one by one;
* ``report_progress`` sets the task's ``statusMessage`` (progress notifications are not
  sent for tasks, SEP-2663 "Task Status Notifications");
* ``log`` and ``close_stream`` do nothing: the request that started the task is answered.

Before that (a plain call, or a ``task_start="on_detach"`` tool that has not yet called
:meth:`TaskContext.detach`) every call behaves exactly as on :class:`~..context.Context`,
MRTR rounds included.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio

from ...errors import StateUnavailable
from ...state.tasks import TaskStore
from ..context import Context, ResourceReader, ServerRequestContext, _well_formed

__all__ = ["TaskContext"]

log = logging.getLogger("mcp_transport.tasks")


class TaskAsker(Protocol):
    """What a :class:`TaskContext` needs of its :class:`~.runner.TaskRunner`."""

    store: TaskStore

    async def ask(self, task_id: str, key: str, request: dict[str, Any]) -> Any: ...


class TaskContext(Context):
    __slots__ = ("_detach", "_keys", "_runner", "_task_id")

    def __init__(self, request: ServerRequestContext, server: ResourceReader, runner: TaskAsker) -> None:
        super().__init__(request, server)
        self._runner = runner
        self._task_id: str | None = None
        self._detach: Callable[[], Awaitable[str]] | None = None
        self._keys = 0

    @property
    def task_id(self) -> str | None:
        """The task this call runs as, or None while it is a plain request."""
        return self._task_id

    async def detach(self) -> None:
        """Turn the call into a task from here on: the client gets its ``CreateTaskResult``
        now and the rest of the handler runs in the background. For a tool registered with
        ``task_start="on_detach"``: input gathered before this call used MRTR rounds on the
        original request (SEP-2663 "Task Creation": resolve MRTR exchanges before creating
        the task). A no-op when the call cannot become a task or already is one."""
        detach, self._detach = self._detach, None
        if detach is not None and self._task_id is None:
            self._task_id = await detach()

    async def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        if self._task_id is None:
            await super().report_progress(progress, total, message)
            return
        shown = f"{progress:g}/{total:g}" if total is not None else f"{progress:g}"
        try:
            await self._runner.store.set_message(self._task_id, f"{shown} {message}" if message else shown)
        except StateUnavailable as exc:  # progress is advisory: a store outage must not fail the task
            log.warning("task %s: progress not stored: %s", self._task_id, exc.message)

    async def log(self, level: str, data: Any, logger: str | None = None) -> None:
        if self._task_id is None:
            await super().log(level, data, logger)

    async def close_stream(self) -> None:
        if self._task_id is None:
            await super().close_stream()

    async def ask_all(self, *calls: Awaitable[Any]) -> list[Any]:
        if self._task_id is None:
            return await super().ask_all(*calls)
        results: list[Any] = [None] * len(calls)

        async def one(index: int, call: Awaitable[Any]) -> None:
            results[index] = await call

        async with anyio.create_task_group() as tg:  # all requests outstanding together
            for index, call in enumerate(calls):
                tg.start_soon(one, index, call)
        return results

    async def _ask(
        self,
        method: str,
        params: dict[str, Any] | None,
        capability: str,
        *,
        mode: str | None = None,
        key: str | None = None,
    ) -> dict[str, Any]:
        if self._task_id is None:
            return await super()._ask(method, params, capability, mode=mode, key=key)
        self._require_capability(method, capability, mode)
        while True:
            # Keys are single-use over the task's life: a malformed answer is asked again
            # under a fresh key rather than reusing the answered one.
            self._keys += 1
            name = f"{key or method.partition('/')[0]}-{self._keys}"
            answer = await self._runner.ask(self._task_id, name, {"method": method, "params": params or {}})
            if _well_formed(method, answer):
                return answer  # type: ignore[no-any-return]  # the answer is the model the caller asked for
