"""Running ``tools/call`` as a task (2026-07-28 extension ``io.modelcontextprotocol/tasks``,
SEP-2663): deciding whether a call becomes a task, running its handler in the background,
and the state changes ``tasks/update`` and ``tasks/cancel`` cause.

The handler runs in this runner's own task group (started lazily on the running event loop,
like the HTTP transport's), so it outlives the request that created it. Everything a poll
can observe is written to the :class:`~mcp_transport.state.tasks.TaskStore`; this worker keeps only what
cannot be shared: the cancel scope of each task it runs and wake-ups for waiting input
calls. Work that must reach another worker (an answer or a cancel that arrived there) is
found by polling the store every ``pollIntervalMs``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio
import orjson
from anyio.abc import TaskGroup

from ... import telemetry
from ...errors import InternalError, InvalidParams, MissingClientCapability, RPCError, StateUnavailable
from ...mrtr import InputRequired
from ...protocol import Era
from ...state.tasks import MemoryTaskStore, TaskRecord, TaskStore
from ..context import ResourceReader, ServerRequestContext
from ..tools import Tool, call_tool
from .context import TaskContext
from .model import (
    create_result,
    declares_tasks,
    detailed_task,
    missing_tasks_capability_data,
    new_task_id,
    require_extension,
)

__all__ = [
    "DEFAULT_MAX_INPUT_REQUESTS",
    "DEFAULT_MAX_RESULT_BYTES",
    "DEFAULT_POLL_INTERVAL_MS",
    "DEFAULT_TTL_MS",
    "TaskRunner",
]

log = logging.getLogger("mcp_transport.tasks")

DEFAULT_TTL_MS = 60 * 60 * 1000  # a task and its result are kept one hour after creation
DEFAULT_POLL_INTERVAL_MS = 500
DEFAULT_MAX_RESULT_BYTES = 4 * 1024 * 1024  # a larger result fails the task (-32603)
DEFAULT_MAX_INPUT_REQUESTS = 32  # outstanding inputRequests per task
MAX_LISTEN_TASK_IDS = 100  # task ids one subscriptions/listen may follow
# How long a task's outcome is retried while a shared store is unreachable; past that it is
# logged and the task stays as last written until its ttlMs.
SETTLE_RETRY_SECONDS = 10.0

Principal = Callable[[ServerRequestContext], str]


def _anonymous(ctx: ServerRequestContext) -> str:
    return ""


class TaskHost(ResourceReader, Protocol):
    """What a :class:`TaskRunner` needs of its server (an ``MCPServer``)."""

    def publish(self, method: str, params: dict[str, Any] | None = None) -> None: ...


class TaskRunner:
    """Runs task-capable tools for one :class:`~..mcpserver.MCPServer`.

    ``principal``: who a request acts for (from its authorization, say); tasks are counted
    per principal against the store's bound and are visible only to the principal that
    created them. Default: one shared principal, the unguessable task id being the only
    guard (SEP-2663 "Motivation", on tasks/list scoping).
    """

    def __init__(
        self,
        server: TaskHost,
        store: TaskStore | None = None,
        *,
        ttl_ms: int = DEFAULT_TTL_MS,
        poll_interval_ms: int = DEFAULT_POLL_INTERVAL_MS,
        max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
        max_input_requests: int = DEFAULT_MAX_INPUT_REQUESTS,
        principal: Principal | None = None,
    ) -> None:
        self.server = server
        self.store: TaskStore = store if store is not None else MemoryTaskStore()
        self.ttl_ms = int(ttl_ms)
        self.poll_interval_ms = int(poll_interval_ms)
        self.max_result_bytes = max_result_bytes
        self.max_input_requests = max_input_requests
        self.principal = principal or _anonymous
        self._scopes: dict[str, anyio.CancelScope] = {}  # tasks running on this worker
        self._wakeups: dict[str, anyio.Event] = {}  # task id -> set when an answer arrives here
        # One background task group per event loop (normally one; tests may run several).
        self._hosts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Host] = weakref.WeakKeyDictionary()

    # -- tools/call ---------------------------------------------------------------------------

    async def call(
        self, tool: Tool, arguments: dict[str, Any], request: ServerRequestContext
    ) -> dict[str, Any]:
        """Answer ``tools/call`` for a task-capable tool: a ``CreateTaskResult`` when the
        client declared the extension on this request (SEP-2663 "Capability Negotiation"),
        else a plain call (or -32021 for a tool that runs only as a task)."""
        ctx = TaskContext(request, self.server, self)
        state = request.state
        if state is None or state.era is not Era.MODERN or not declares_tasks(state.client_capabilities):
            if tool.task == "required":
                raise MissingClientCapability(
                    f"Tool {tool.name!r} runs only as a task: declare the io.modelcontextprotocol/tasks "
                    'extension in _meta["io.modelcontextprotocol/clientCapabilities"].extensions',
                    missing_tasks_capability_data(),
                )
            return await call_tool(tool, arguments, lambda: ctx)
        principal = self.principal(request)
        if tool.task_start == "immediately":
            group = await self._group()  # first: the store's upkeep (a lease) covers the task
            record = await self._create(principal)
            ctx._task_id = record.task_id
            group.start_soon(self._execute, tool, arguments, ctx, None)
            return create_result(record)
        return await self._call_detachable(tool, arguments, ctx, principal)

    async def _call_detachable(
        self, tool: Tool, arguments: dict[str, Any], ctx: TaskContext, principal: str
    ) -> dict[str, Any]:
        """Run the handler as a plain request until it detaches, finishes or needs MRTR
        input; whichever comes first answers the request."""
        handoff = _Handoff()

        scope = anyio.CancelScope()

        async def detach() -> str:
            record = await self._create(principal)
            self._scopes[record.task_id] = scope
            handoff.settle(create_result(record))
            return record.task_id

        ctx._detach = detach
        (await self._group()).start_soon(self._execute, tool, arguments, ctx, (handoff, scope))
        try:
            await handoff.done.wait()
        except BaseException:
            if ctx.task_id is None:  # the request went away before the handler detached
                scope.cancel()
            raise
        if handoff.error is not None:
            raise handoff.error
        assert handoff.value is not None
        return handoff.value

    async def _create(self, principal: str) -> TaskRecord:
        record = TaskRecord(new_task_id(), principal, self.ttl_ms, self.poll_interval_ms)
        await self.store.create(record)  # durable before the CreateTaskResult (SEP-2663)
        telemetry.shift("tasks", None, "working")
        return record

    async def _execute(
        self,
        tool: Tool,
        arguments: dict[str, Any],
        ctx: TaskContext,
        attached: tuple[_Handoff, anyio.CancelScope] | None,
    ) -> None:
        scope = attached[1] if attached is not None else anyio.CancelScope()
        if ctx.task_id is not None:
            self._scopes[ctx.task_id] = scope
        result: dict[str, Any] | None = None
        error: RPCError | InputRequired | None = None
        try:
            with scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._watch, ctx, scope)
                    try:
                        result = await call_tool(tool, arguments, lambda: ctx)
                    except (RPCError, InputRequired) as exc:
                        error = exc
                    tg.cancel_scope.cancel()
        except BaseException:
            # Cancelled from outside (the event loop is ending: server shutdown). Say so, so
            # pollers do not wait on a task nobody runs any more, then let it propagate.
            if ctx.task_id is not None:
                stopped = InternalError("The server stopped while running this task; call the tool again")
                await _write(
                    ctx.task_id, self.store.finish, ctx.task_id, "failed", error=_error_object(stopped)
                )
                telemetry.shift("tasks", "working", "failed")
            raise
        finally:
            if ctx.task_id is not None:
                self._scopes.pop(ctx.task_id, None)
        if ctx.task_id is None:  # never became a task: the request gets the outcome
            if attached is not None:
                handoff = attached[0]
                if error is not None:
                    handoff.fail(error)
                elif result is not None:
                    handoff.settle(result)
            return
        await _write(ctx.task_id, self._settle, ctx.task_id, result, error, cancelled=scope.cancelled_caught)

    async def _watch(self, ctx: TaskContext, scope: anyio.CancelScope) -> None:
        """Cancel the handler when a ``tasks/cancel`` reached another worker, or the task
        expired or was failed for it (another worker took this one for dead), as seen in
        the store every poll interval."""
        while True:
            await anyio.sleep(self.poll_interval_ms / 1000)
            if ctx.task_id is None:
                continue
            try:
                record = await self.store.get(ctx.task_id)
            except StateUnavailable as exc:  # the store is out for now: let the handler run on
                log.warning("task %s: %s", ctx.task_id, exc.message)
                continue
            if record is None or record.cancel_requested or record.terminal:
                scope.cancel()
                return

    async def _settle(
        self,
        task_id: str,
        result: dict[str, Any] | None,
        error: RPCError | InputRequired | None,
        *,
        cancelled: bool,
    ) -> None:
        """Record the terminal status: a tool error is ``completed`` + ``isError``, only a
        JSON-RPC error is ``failed`` (SEP-2663 "Task Status")."""
        if cancelled:
            status, outcome = "cancelled", {}
        elif isinstance(error, RPCError):
            status, outcome = "failed", {"error": _error_object(error)}
        elif error is not None or result is None:
            status, outcome = (
                "failed",
                {"error": _error_object(InternalError("the tool ended without a result"))},
            )
        elif len(orjson.dumps(result)) > self.max_result_bytes:
            too_big = InternalError(
                f"The tool's result exceeds this server's task result limit of {self.max_result_bytes} bytes"
            )
            status, outcome = "failed", {"error": _error_object(too_big)}
        else:
            status, outcome = "completed", {"result": result}
        await self.store.finish(task_id, status, **outcome)
        telemetry.shift("tasks", "working", status)
        await self._publish(task_id)

    # -- input ----------------------------------------------------------------------------------

    async def ask(self, task_id: str, key: str, request: dict[str, Any]) -> Any:
        """Put up one input request and wait for its answer (from a ``tasks/update`` on any
        worker)."""
        record = await self.store.get(task_id)
        if record is not None and len(record.input_requests) >= self.max_input_requests:
            raise InternalError(
                f"A task may have at most {self.max_input_requests} outstanding input requests"
            )
        if not await self.store.add_input_request(task_id, key, request):
            raise InternalError(f"Task {task_id} is gone or finished, or reused input key {key!r}")
        await self._publish(task_id)
        telemetry.shift("tasks", "working", "input_required")
        try:
            while (answer := await self._take_answer(task_id, key)) is None:
                wakeup = self._wakeups.setdefault(task_id, anyio.Event())
                with anyio.move_on_after(self.poll_interval_ms / 1000):
                    await wakeup.wait()
                if wakeup.is_set() and self._wakeups.get(task_id) is wakeup:
                    del self._wakeups[task_id]
        finally:
            telemetry.shift("tasks", "input_required", "working")
        await self._publish(task_id)
        return answer

    async def _take_answer(self, task_id: str, key: str) -> Any | None:
        try:
            return await self.store.take_answer(task_id, key)
        except StateUnavailable as exc:  # no answer yet, as far as we can tell: wait on
            log.warning("task %s: %s", task_id, exc.message)
            return None

    # -- tasks/* --------------------------------------------------------------------------------

    async def get(self, task_id: Any, request: ServerRequestContext) -> dict[str, Any]:
        return detailed_task(await self._owned(task_id, request, "tasks/get"))

    async def update(self, task_id: Any, responses: Any, request: ServerRequestContext) -> None:
        await self._owned(task_id, request, "tasks/update")
        if not isinstance(responses, dict):
            raise InvalidParams(
                "tasks/update needs params.inputResponses (an object mapping input keys to results)"
            )
        await self.store.answer(task_id, responses)
        wakeup = self._wakeups.pop(task_id, None)
        if wakeup is not None:
            wakeup.set()

    async def cancel(self, task_id: Any, request: ServerRequestContext) -> None:
        """Cooperative and idempotent (SEP-2663 "Task Cancellation"): a running handler on
        this worker is cancelled now; one on another worker at its next store poll."""
        await self._owned(task_id, request, "tasks/cancel")
        await self.store.request_cancel(task_id)
        scope = self._scopes.get(task_id)
        if scope is not None:
            scope.cancel()

    async def listenable(self, task_ids: Any, request: ServerRequestContext) -> list[str]:
        """The ids of a ``subscriptions/listen`` filter's ``taskIds`` this server will send
        ``notifications/tasks`` for: the request's principal's live tasks (SEP-2663 "Task
        Status Notifications"; -32021 without the extension, -32602 for a bad list)."""
        require_extension(request, "subscriptions/listen with taskIds")
        if not isinstance(task_ids, list) or len(task_ids) > MAX_LISTEN_TASK_IDS:
            raise InvalidParams(
                f"notifications.taskIds must be a list of at most {MAX_LISTEN_TASK_IDS} task ids"
            )
        known: list[str] = []
        for task_id in dict.fromkeys(t for t in task_ids if isinstance(t, str)):
            record = await self.store.get(task_id)
            if record is not None and record.principal == self.principal(request):
                known.append(task_id)
        return known

    async def _owned(self, task_id: Any, request: ServerRequestContext, method: str) -> TaskRecord:
        """The task, if it exists and belongs to this request's principal; else -32602 (the
        same answer either way, so ids of other principals are not disclosed)."""
        if not isinstance(task_id, str) or not task_id:
            raise InvalidParams(f"{method} needs params.taskId (a string from a CreateTaskResult)")
        await self._group()  # every worker serving tasks keeps the store's upkeep running
        record = await self.store.get(task_id)
        if record is None or record.principal != self.principal(request):
            raise InvalidParams(
                f"Unknown task {task_id!r}: it never existed, or its ttlMs has elapsed and it was removed",
                {"taskId": task_id},
            )
        return record

    async def _publish(self, task_id: str) -> None:
        """Offer the task's new state to ``subscriptions/listen`` streams that asked for it
        (``notifications/tasks``, SEP-2663 "Task Status Notifications")."""
        record = await self.store.get(task_id)
        if record is not None:
            self.server.publish("notifications/tasks", detailed_task(record))

    # -- the background task group ----------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop the tasks running on this event loop (server shutdown): each ends ``failed``
        with a message saying the server stopped. Ending the loop does the same."""
        host = self._hosts.pop(asyncio.get_running_loop(), None)
        if host is not None and host.task is not None:
            host.task.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.gather(host.task, return_exceptions=True)

    async def _group(self) -> TaskGroup:
        loop = asyncio.get_running_loop()
        host = self._hosts.get(loop)
        if host is None:
            host = self._hosts[loop] = _Host()
            host.task = loop.create_task(self._run(host))
        await host.started.wait()
        if host.group is None:  # the store could not start (Redis unreachable): the next call retries
            raise host.error or InternalError("The task runner could not start; retry")
        return host.group

    async def _run(self, host: _Host) -> None:
        """Host the task handlers inside the store's upkeep (:meth:`TaskStore.running`: with
        Redis, this worker's lease and failing the tasks of dead workers), and remove tasks
        whose ``ttlMs`` has elapsed. Ends with the event loop; the handlers still running then
        end ``failed`` (see _execute) before the upkeep stops."""
        try:
            async with self.store.running(), anyio.create_task_group() as tg:
                host.group = tg
                host.started.set()
                while True:
                    await anyio.sleep(min(max(self.ttl_ms / 4000, 0.05), 5.0))
                    try:
                        for task_id in await self.store.expire(time.time()):
                            scope = self._scopes.get(task_id)
                            if scope is not None:
                                scope.cancel()
                    except Exception:  # the sweeper must outlive one bad store call
                        log.exception("task expiry sweep failed")
        except Exception as exc:
            if host.started.is_set():
                log.exception("the task runner stopped")
            host.error = exc  # for the callers waiting on a host that never started
        finally:
            host.started.set()
            if self._hosts.get(asyncio.get_running_loop()) is host:
                del self._hosts[asyncio.get_running_loop()]


class _Host:
    __slots__ = ("error", "group", "started", "task")

    def __init__(self) -> None:
        self.started = anyio.Event()
        self.group: TaskGroup | None = None
        self.task: asyncio.Task[None] | None = None
        self.error: Exception | None = None


class _Handoff:
    """How a detachable handler's first outcome reaches the waiting request."""

    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.value: dict[str, Any] | None = None
        self.error: BaseException | None = None

    def settle(self, value: dict[str, Any]) -> None:
        if not self.done.is_set():
            self.value = value
            self.done.set()

    def fail(self, error: BaseException) -> None:
        if not self.done.is_set():
            self.error = error
            self.done.set()


async def _write(task_id: str, write: Callable[..., Awaitable[object]], *args: Any, **kwargs: Any) -> None:
    """A task's outcome, written even while the task is being cancelled (shielded) and
    retried while the store is unreachable, for at most SETTLE_RETRY_SECONDS: pollers must
    not be left with a task nobody runs any more, and a store outage must not end the runner."""
    with anyio.CancelScope(shield=True), anyio.move_on_after(SETTLE_RETRY_SECONDS):
        while True:
            try:
                await write(*args, **kwargs)
                return
            except StateUnavailable as exc:
                log.warning("task %s: its outcome waits for the store: %s", task_id, exc.message)
                await anyio.sleep(exc.retry_after)
    log.error("task %s: its outcome could not be stored within %g s", task_id, SETTLE_RETRY_SECONDS)


def _error_object(error: RPCError) -> dict[str, Any]:
    out: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.data is not None:
        out["data"] = error.data
    return out
