"""The one JSON-RPC dispatcher every transport shares (stdio, legacy HTTP, modern HTTP),
on both sides (server and client).

A transport parses bytes into messages and calls :meth:`Dispatcher.receive`; the dispatcher
calls the transport's ``send(message, related_to)`` for everything going out. ``related_to``
is the id of the inbound request an outgoing message belongs to (its response, its progress,
a server->client request made while handling it), or None for unrelated traffic; HTTP uses it
to pick the SSE stream, stdio ignores it.

Bookkeeping (id allocation, the pending table, progress monotonicity, "close resolves every
pending request") lives in :class:`~mcp_transport.pending.PendingTable`, which is
synchronous and tested without an event loop. The :class:`Dispatcher` is the thin async shell
around it: task spawning, timeouts and cancellation.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from anyio.abc import TaskGroup

from . import telemetry
from .errors import (
    ConnectionClosed,
    InternalError,
    InvalidRequest,
    RequestTimeout,
    RPCError,
    ServerOverloaded,
)
from .jsonrpc import (
    ErrorObject,
    ErrorResponse,
    Message,
    Notification,
    Request,
    RequestId,
    Response,
    Result,
    preview,
)
from .methods import MethodTable
from .pending import PendingTable, ProgressCallback
from .request_scope import RequestScope

__all__ = [
    "DEFAULT_MAX_INBOUND_REQUESTS",
    "DEFAULT_REQUEST_TIMEOUT",
    "Dispatcher",
    "NotificationHandler",
    "PendingTable",
    "ProgressCallback",
    "RequestContext",
    "RequestScope",
    "SendFn",
    "contained",
]

log = logging.getLogger("mcp_transport.dispatcher")

SendFn = Callable[[Message, "RequestId | None"], Awaitable[None]]
BatchReply = Callable[[list[Response]], Awaitable[None]]
NotificationHandler = Callable[["Dispatcher", Notification], Awaitable[None]]

# Outbound requests time out after this many seconds unless the caller says otherwise. Progress
# notifications extend the deadline, but never past MAX_REQUEST_TIMEOUT
# (2025-11-25 basic/lifecycle#timeouts).
DEFAULT_REQUEST_TIMEOUT = 60.0
MAX_REQUEST_TIMEOUT_FACTOR = 10

# Inbound requests one connection (a stdio pipe, an HTTP session) may have running at once;
# past it a request is answered at once with -32010 (SERVER_OVERLOADED: back off and retry),
# so a client that floods a connection cannot grow its tasks without bound.
DEFAULT_MAX_INBOUND_REQUESTS = 1000

_INTERNAL_ERROR_MESSAGE = "Internal error: the handler failed; the details are in the server log"


class RequestContext:
    """One inbound request being handled: what handlers use to talk back to the peer.

    Everything sent through it is related to this request, so on HTTP it travels on this
    request's stream. ``peer`` is whatever the owner of the dispatcher attached (the MCP
    layer keeps the negotiated version and capabilities there).
    """

    __slots__ = ("_last_progress", "dispatcher", "id", "method", "params", "peer")

    def __init__(self, dispatcher: Dispatcher, request: Request, peer: Any) -> None:
        self.dispatcher = dispatcher
        self.id = request.id
        self.method = request.method
        self.params = request.params or {}
        self.peer = peer
        self._last_progress = -math.inf

    @property
    def meta(self) -> dict[str, Any]:
        meta = self.params.get("_meta")
        return meta if isinstance(meta, dict) else {}

    @property
    def progress_token(self) -> str | int | None:
        """The requester's ``_meta.progressToken`` (None if it sent none, or not a string or
        an integer). Read when asked: most requests never report progress."""
        meta = self.params.get("_meta")
        token = meta.get("progressToken") if isinstance(meta, dict) else None
        return token if type(token) in (str, int) else None

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        await self.dispatcher.notify(method, params, related_to=self.id)

    async def request(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        return await self.dispatcher.request(method, params, timeout=timeout, related_to=self.id)

    def close_stream(self) -> None:
        """End this request's response stream now, before its result (legacy HTTP SSE
        polling, 2025-11-25 basic/transports#sending-messages-to-the-server): the client
        resumes with GET + Last-Event-ID and collects the rest there. A no-op unless the
        transport set ``Dispatcher.on_close_stream``."""
        hook = self.dispatcher.on_close_stream
        if hook is not None:
            hook(self.id)

    async def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        """Send notifications/progress if the requester asked for it
        (2025-11-25 basic/utilities/progress#behavior-requirements).

        ``progress`` must increase with every call; a value that does not is dropped rather
        than sent, because the spec forbids it and the peer may reject the stream.
        """
        token = self.progress_token
        if token is None or not progress > self._last_progress:
            return
        self._last_progress = progress
        params: dict[str, Any] = {"progressToken": token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        await self.notify("notifications/progress", params)


async def contained(call: Awaitable[object], what: str, *args: Any) -> None:
    """Await a user callback or a write; log what it raises instead of letting it end the
    connection's task group (a bad handler or one dead reply must not kill the server for
    everyone else, a raising progress callback must not kill a client's reader). The one
    containment for every callback, server side and client side. ``what`` is a %-format for
    ``args`` (peer values, quoted bounded and only when something went wrong)."""
    try:
        await call
    except ConnectionClosed as exc:
        log.debug(what + ": the connection is closed (%s)", *map(preview, args), exc)
    except Exception:
        log.exception(what + " failed; the connection carries on", *map(preview, args))


class Dispatcher:
    """JSON-RPC for one connection (a stdio pipe, or one HTTP session on this worker).

    Inbound requests run concurrently in ``task_group``, each in its own cancel scope, so a
    slow request never blocks others; at most ``max_inbound`` at once (more are refused with
    -32010). Inbound notifications run inline, in arrival order, and must not block.
    ``notifications/cancelled`` and ``notifications/progress`` are handled here; everything
    else goes to ``on_notification``.

    Containment: whatever a user callback (a request handler, ``on_notification``, a
    progress callback) raises is logged and stops there; a reply that cannot be written is
    logged and lost alone. Nothing a peer sends or a handler does ends the connection.
    """

    def __init__(
        self,
        methods: MethodTable,
        send: SendFn,
        task_group: TaskGroup,
        *,
        peer: Any = None,
        on_notification: NotificationHandler | None = None,
        uncancellable: frozenset[str] = frozenset({"initialize"}),
        default_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        context_class: type[RequestContext] = RequestContext,
        max_inbound: int = DEFAULT_MAX_INBOUND_REQUESTS,
    ) -> None:
        self.methods = methods
        self.peer = peer
        self._send = send
        self._task_group = task_group
        self._on_notification = on_notification
        self._uncancellable = uncancellable
        self._default_timeout = default_timeout
        self._context_class = context_class
        self._max_inbound = max_inbound
        self._batches = 0  # batches received with receive_batch whose reply is not written yet
        self._pending = PendingTable()
        # Inbound requests in progress: id -> (method, the cancel scope of its handler).
        self._inbound: dict[RequestId, tuple[str, RequestScope]] = {}
        # Set by a transport that can end a request's response stream early (HTTP SSE);
        # called with the request id by RequestContext.close_stream.
        self.on_close_stream: Callable[[RequestId], None] | None = None

    # -- inbound ---------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Inbound requests being handled (batches until their reply is written) plus
        outbound requests awaiting an answer."""
        return len(self._inbound) + len(self._pending) + self._batches

    def is_handling(self, request_id: object) -> bool:
        """Whether an inbound request started by :meth:`receive` is still running (a
        cancelled one stops without a response; transports use this to stop waiting)."""
        return type(request_id) in (str, int) and request_id in self._inbound

    async def receive(self, message: Message) -> None:
        """Feed one parsed message from the peer. A request runs in its own task and its
        response is sent; everything else is handled inline."""
        if isinstance(message, Request):
            refused = self._refusal(message)
            if refused is not None:
                await self._reply(refused, message.id)
                return
            scope = self._track(message)
            self._task_group.start_soon(self._handle, message, scope)
        elif isinstance(message, (Result, ErrorResponse)):
            self._pending.resolve(message)
        elif message.method == "notifications/cancelled":
            self._cancel_inbound((message.params or {}).get("requestId"))
        elif message.method == "notifications/progress":
            await self._progress(message.params or {})
        elif self._on_notification is not None:
            await contained(self._on_notification(self, message), "the %s handler", message.method)

    async def handle(self, request: Request, *, observed: bool = False) -> Result | ErrorResponse:
        """Run one request to completion and return its response without sending it.

        Untracked: not counted, not cancellable through notifications/cancelled. For a
        request that belongs to no connection yet (``initialize`` minting an HTTP session, a
        stateless 2026-07-28 request); everything else goes through :meth:`run`.
        ``observed``: telemetry already wraps this call (internal).
        """
        if telemetry.STATE.on and not observed:  # a SERVER span and the request metrics
            return await telemetry.serve(request, self.peer, self._observed_handle)
        ctx = self._context_class(self, request, self.peer)
        try:
            return Result(request.id, await self.methods.call(ctx, request.method, request.params))
        except Exception as exc:
            return ErrorResponse(request.id, _error_object(request, exc))

    def _observed_handle(self, request: Request) -> Awaitable[Result | ErrorResponse]:
        return self.handle(request, observed=True)

    def run(self, request: Request) -> Awaitable[Result | ErrorResponse | None]:
        """Like :meth:`handle`, in the caller's task (await what this returns), but tracked
        as in flight: a duplicate id or one past ``max_inbound`` is refused,
        ``notifications/cancelled`` and :meth:`close` cancel it (then None: a cancelled
        request gets no response). For transports that answer in the same task (HTTP)."""
        return self._execute(request, None)

    async def run_batch(self, batch: list[Message]) -> list[Response]:
        """A JSON-RPC batch (2025-03-26 only, 2025-03-26 basic#batching): notifications and
        responses are handled in order, requests run concurrently through :meth:`run`
        (tracked, cancellable, ids checked against every request in flight). Returns the
        responses in batch order, cancelled requests left out; the caller writes them as one
        array (none: nothing to write). The batch's own shape (no duplicate ids, no
        ``initialize``) is checked by :func:`~mcp_transport.jsonrpc.parse`."""
        slots: list[Response | None] = []

        async def run_into(index: int, request: Request) -> None:
            slots[index] = await self.run(request)

        async with anyio.create_task_group() as tg:
            for message in batch:
                if isinstance(message, Request):
                    slots.append(None)
                    tg.start_soon(run_into, len(slots) - 1, message)
                else:
                    await self.receive(message)
        return [r for r in slots if r is not None]

    async def receive_batch(self, batch: list[Message], reply: BatchReply) -> None:
        """:meth:`run_batch` in a task of the connection, counted in :attr:`in_flight` until
        ``reply`` has written its responses (so a transport that waits for in-flight work
        before closing, like stdio at EOF, waits for the batch's answer too). For transports
        that answer out of band (stdio)."""
        self._batches += 1
        self._task_group.start_soon(self._handle_batch, batch, reply)

    async def _handle_batch(self, batch: list[Message], reply: BatchReply) -> None:
        try:
            responses = await self.run_batch(batch)
            if responses:
                await contained(reply(responses), "writing a batch reply")
        finally:
            self._batches -= 1

    def _refusal(self, request: Request) -> ErrorResponse | None:
        # (_execute tests the two conditions inline first: the common case costs no call.)
        """Why an inbound request cannot start now, as its error response, or None."""
        if request.id in self._inbound:
            err: RPCError = InvalidRequest(
                f"Request id {preview(request.id)} is already in use by a request in progress"
            )
        elif len(self._inbound) >= self._max_inbound:
            err = ServerOverloaded(
                f"Too many concurrent requests: {self._max_inbound} are already running on this connection; "
                "wait for some to finish, then retry"
            )
        else:
            return None
        return ErrorResponse(request.id, err.to_error())

    def _track(self, request: Request) -> RequestScope:
        scope = RequestScope()
        self._inbound[request.id] = (request.method, scope)
        return scope

    async def _handle(self, request: Request, scope: RequestScope) -> None:
        response = await self._execute(request, scope)
        if response is not None:
            await self._reply(response, request.id)

    async def _execute(self, request: Request, scope: RequestScope | None) -> Result | ErrorResponse | None:
        """Run a tracked request in its scope (None: check and track it here, as
        :meth:`run`); None when it was cancelled: no response, even from a handler that
        finished anyway (2025-11-25 basic/utilities/cancellation)."""
        if scope is None:
            if request.id in self._inbound or len(self._inbound) >= self._max_inbound:
                return self._refusal(request)
            scope = self._track(request)
        try:
            return await scope.run(self.handle(request))
        finally:
            self._inbound.pop(request.id, None)

    async def _reply(self, response: Response, request_id: RequestId) -> None:
        """Send one response; a failure to write it fails this response only."""
        sending = self._send(response, request_id)
        await contained(sending, "writing the response to request %s", request_id)

    def _cancel_inbound(self, request_id: Any) -> None:
        entry = self._inbound.get(request_id) if type(request_id) in (str, int) else None
        # Unknown, finished, malformed or uncancellable (initialize): ignored
        # (2025-11-25 basic/utilities/cancellation#behavior-requirements).
        if entry is not None and entry[0] not in self._uncancellable:
            entry[1].cancel()

    async def _progress(self, params: dict[str, Any]) -> None:
        entry = self._pending.get(params.get("progressToken"))
        if entry is None or entry.on_progress is None:
            return
        progress = params.get("progress")
        if not isinstance(progress, (int, float)):
            return
        if entry.scope is not None and math.isfinite(entry.timeout):
            # Progress proves the peer is alive: push the deadline out, within the maximum.
            extended = min(anyio.current_time() + entry.timeout, entry.hard_deadline)
            entry.scope.deadline = max(entry.scope.deadline, extended)
        callback = entry.on_progress(progress, params.get("total"), params.get("message"))
        await contained(callback, "a progress callback")

    # -- outbound --------------------------------------------------------------------------

    async def notify(
        self, method: str, params: dict[str, Any] | None = None, *, related_to: RequestId | None = None
    ) -> None:
        """Send a notification. After :meth:`close` it is dropped: a handler still running
        as its connection ends must not reach a transport that has freed the connection
        (an HTTP session's GET stream would be re-created for a dead session)."""
        if self.closed:
            log.debug("dropping %s: the connection is closed", method)
            return
        await self._send(Notification(method, params), related_to)

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        related_to: RequestId | None = None,
        on_progress: ProgressCallback | None = None,
        observed: bool = False,
    ) -> dict[str, Any]:
        """Send a request to the peer and wait for its result.

        Raises RemoteError (the peer answered with an error), RequestTimeout (after sending
        notifications/cancelled) or ConnectionClosed. Never waits forever: ``timeout`` is
        the idle limit (progress resets it), bounded by MAX_REQUEST_TIMEOUT_FACTOR times it.
        ``observed``: telemetry already wraps this call (internal).
        """
        if telemetry.STATE.on and not observed:  # a CLIENT span, its trace context in params._meta
            return await telemetry.call(
                method,
                params,
                lambda sent: self.request(
                    method,
                    sent,
                    timeout=timeout,
                    related_to=related_to,
                    on_progress=on_progress,
                    observed=True,
                ),
            )
        limit = self._default_timeout if timeout is None else timeout
        rid, entry = self._pending.open(on_progress, limit)
        if on_progress is not None:
            params = dict(params or {})
            params["_meta"] = {**(params.get("_meta") or {}), "progressToken": rid}
        now = anyio.current_time()
        entry.hard_deadline = now + limit * MAX_REQUEST_TIMEOUT_FACTOR
        try:
            await self._send(Request(rid, method, params), related_to)
            with anyio.CancelScope(deadline=now + limit) as scope:
                entry.scope = scope
                await entry.done.wait()
        except BaseException:
            if not entry.done.is_set():
                with anyio.CancelScope(shield=True):
                    await self._abandon(rid, related_to, "the request was cancelled by the caller")
            raise
        if not entry.done.is_set():
            await self._abandon(rid, related_to, "timeout")
            raise RequestTimeout(f"{method} (id {rid}) got no response within {limit:g} s")
        outcome = entry.outcome
        if isinstance(outcome, Exception):
            raise outcome
        return outcome  # type: ignore[return-value]  # the handler's outcome is a Result or ErrorResponse by contract

    async def _abandon(self, rid: RequestId, related_to: RequestId | None, reason: str) -> None:
        self._pending.forget(rid)
        if self._pending.closed is not None:
            return
        try:
            await self._send(
                Notification("notifications/cancelled", {"requestId": rid, "reason": reason}), related_to
            )
        except Exception:  # the connection may be gone; the request is already abandoned
            log.debug("could not send cancellation for request %s", rid, exc_info=True)

    def id_prefix(self, prefix: str) -> None:
        """Make the ids of outbound requests strings ``<prefix><n>`` (see PendingTable)."""
        self._pending.prefix = prefix

    def fail(self, request_id: RequestId, error: Exception) -> bool:
        """Fail one pending outbound request with a local error, for a transport that lost
        it (a failed POST, a dead stream); the caller of :meth:`request` gets ``error``
        itself, never something mistakable for the peer's answer. False if not pending."""
        return self._pending.fail(request_id, error)

    # -- shutdown --------------------------------------------------------------------------

    def close(self, reason: str = "connection closed") -> None:
        """Resolve every pending outbound request with ConnectionClosed and cancel every
        running inbound handler. Idempotent."""
        self._pending.close(reason)
        for _, scope in list(self._inbound.values()):
            scope.cancel()

    @property
    def closed(self) -> bool:
        return self._pending.closed is not None


def _error_object(request: Request, exc: Exception) -> ErrorObject:
    """The one place where a handler's exception becomes a JSON-RPC error."""
    if isinstance(exc, RPCError):
        return exc.to_error()
    log.error("handler for %s (id %r) failed", request.method, request.id, exc_info=exc)
    return InternalError(_INTERNAL_ERROR_MESSAGE).to_error()
