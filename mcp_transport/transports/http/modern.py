"""The 2026-07-28 (modern, stateless) leg of the Streamable HTTP endpoint (2026-07-28
basic/transports#streamable-http).

:func:`~.endpoint.classify_post` decides per POST which leg serves it; this module
answers the modern ones. Nothing of a request outlives it: each POST is checked, handled by
the application's one stateless connection (built once per endpoint run, not per request) and
answered.

* Checks, in this order (the official SDKs' order): the ``params._meta`` envelope
  (-32602), the ``MCP-Protocol-Version`` / ``Mcp-Method`` / ``Mcp-Name`` / ``Mcp-Param-*``
  headers against the body (-32020), the protocol version (-32022). Every error echoes the
  request id; statuses come from :func:`~mcp_transport.errors.http_status_for`.
* The answer is one JSON object, or an SSE stream once the handler sends a notification
  first (progress, logs, a ``subscriptions/listen`` stream); ``response_mode`` "json" /
  "sse" force one form. SSE streams here carry no event ids (no resumability in 2026-07-28)
  and get ``:`` keepalive comments while idle.
* The client closing the connection cancels the handler (2026-07-28
  basic/transports#cancellation).
* Notifications are accepted with 202 (the core protocol defines none over HTTP).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

import anyio
from anyio.abc import TaskGroup

from ... import jsonrpc
from ...connection import Application, StatelessConnection
from ...dispatcher import RequestScope
from ...errors import InvalidParams, InvalidRequest, RPCError, http_status_for
from ...jsonrpc import ErrorResponse, Message, Request, RequestId, Result
from ...protocol import (
    META_CLIENT_CAPABILITIES,
    META_PROTOCOL_VERSION,
    MODERN_VERSIONS,
    PeerState,
    check_modern_version,
    parse_envelope,
)
from . import sse
from .asgi import HTTPError, Receive, Send, send_empty, send_error, send_json
from .headers import validate_request_headers

__all__ = ["ModernLeg", "check_request"]

log = logging.getLogger("mcp_transport.http")


def check_request(app: Application, request: Request, headers: dict[str, str]) -> PeerState:
    """The request's ``_meta`` envelope, parsed once here and handed to the application; or
    the RPCError a modern POST must be refused with. ``headers`` has lower-case names (ASGI)."""
    params = request.params or {}
    envelope = parse_envelope(params, check_version=False)
    if envelope is None:
        raise InvalidParams(
            f'A 2026-07-28 request needs params._meta with "{META_PROTOCOL_VERSION}" and '
            f'"{META_CLIENT_CAPABILITIES}" (an object; {{}} declares none); '
            "for the session protocol send initialize"
        )
    schema = app.param_schema(request.method, params)
    validate_request_headers(
        headers, request.method, params, schema, protocol_version=envelope.protocol_version
    )
    if envelope.protocol_version not in MODERN_VERSIONS:
        check_modern_version(envelope.protocol_version)  # last: -32022 listing the supported ones
    return envelope


class _Response:
    """One modern POST's answer: JSON until the handler sends a notification, then SSE."""

    __slots__ = ("clock", "every", "keepalive_task", "lock", "mode", "send", "streaming", "watch_task")

    def __init__(self, send: Send, mode: str, keepalive: float) -> None:
        self.send = send
        self.mode = mode  # "auto" | "json" | "sse"
        self.streaming = False
        self.lock: anyio.Lock | None = None  # created by the first SSE write (JSON answers need none)
        self.every = keepalive
        self.clock: sse.Keepalive | None = None  # created by the first SSE write
        self.keepalive_task: asyncio.Task[None] | None = None
        self.watch_task: asyncio.Task[None] | None = None

    def watch(self, receive: Receive, scope: RequestScope) -> None:
        """Start the disconnect watcher of this request (a ``call_soon`` callback: it runs
        only once the handler has yielded to the event loop)."""
        self.watch_task = asyncio.get_running_loop().create_task(_cancel_on_disconnect(receive, scope))

    async def _write(self, chunk: bytes, *, more: bool = True) -> None:
        if self.lock is None:
            self.lock = anyio.Lock()
        async with self.lock:
            if not self.streaming:
                self.streaming = True
                self.clock = sse.Keepalive(self.every)
                await self.send({"type": "http.response.start", "status": 200, "headers": sse.SSE_HEADERS})
                if more:
                    self.keepalive_task = asyncio.get_running_loop().create_task(self.keepalive())
            await self.send({"type": "http.response.body", "body": chunk, "more_body": more})
            assert self.clock is not None  # set with streaming, above
            self.clock.touch()

    async def related(self, message: Message, related_to: RequestId | None) -> None:
        """The dispatcher's send: notifications of this request (its response comes back
        from :meth:`Dispatcher.handle` instead). Never a request: modern servers ask
        through MRTR."""
        if isinstance(message, (Result, ErrorResponse)) or self.mode == "json":
            return  # a JSON answer cannot carry notifications: dropped
        if isinstance(message, Request):
            log.error("dropping a server->client %s on a 2026-07-28 request (use MRTR)", message.method)
            return
        await self._write(sse.event(None, jsonrpc.dump(message)))

    def finish(self, response: Result | ErrorResponse, *, json_ok: bool) -> Awaitable[None]:
        """Write the response: on the stream if one started; an error not yet streamed as
        JSON with its status (when the client takes JSON); else per the mode. Not a
        coroutine of its own: it hands back the writer's (one frame fewer per request)."""
        data = jsonrpc.dump(response)
        if self.streaming:
            return self._write(sse.event(None, data), more=False)
        if isinstance(response, ErrorResponse) and json_ok:
            return send_json(self.send, http_status_for(response.error.code), data)
        if self.mode == "sse":
            return sse.send_one_shot(self.send, data)  # nothing streamed: one write, with a length
        return send_json(self.send, 200, data)

    async def keepalive(self) -> None:
        """``:`` comments while an SSE answer is idle (listen streams, slow tools)."""
        assert self.clock is not None  # started by the first SSE write, which sets it
        try:
            await self.clock.run(self._write)
        except Exception:  # the connection is gone: the disconnect watcher cancels the request
            log.debug("keepalive stopped", exc_info=True)


class ModernLeg:
    """Serves the 2026-07-28 POSTs of one :class:`~.endpoint.StreamableHTTP` endpoint."""

    def __init__(self, app: Application, *, response_mode: str, keepalive: float) -> None:
        self.app = app
        self.response_mode = response_mode
        self.keepalive = keepalive
        # The application's stateless connection, and the endpoint task group it serves in
        # (a restarted endpoint runs a new one): built once, not per request.
        self._stateless: tuple[TaskGroup, StatelessConnection] | None = None

    async def post(
        self,
        message: Message | list[Message],
        headers: dict[str, str],
        receive: Receive,
        send: Send,
        *,
        accept_json: bool,
        accept_sse: bool,
        task_group: TaskGroup,
    ) -> None:
        if isinstance(message, (list, Result, ErrorResponse)):
            raise HTTPError(
                400,
                InvalidRequest(
                    "A 2026-07-28 POST carries one JSON-RPC request or notification: no batches, no responses"
                ),
            )
        if not isinstance(message, Request):
            await send_empty(send, 202)  # no client notification is defined over HTTP; accepted
            return
        try:
            envelope = check_request(self.app, message, headers)
        except RPCError as exc:
            await send_error(send, http_status_for(exc.code), exc, id=message.id)
            return
        mode = self.response_mode if accept_json and accept_sse else ("json" if accept_json else "sse")
        if message.method == "subscriptions/listen" and accept_sse:
            mode = "sse"  # a listen answer is a stream whatever the response mode
        out = _Response(send, mode, self.keepalive)
        stateless = self._stateless
        if stateless is None or stateless[0] is not task_group:  # first request, or a restarted endpoint
            stateless = self._stateless = (task_group, self.app.stateless(task_group))
        request_scope = RequestScope()
        # The disconnect watcher is a plain asyncio task started by a call_soon callback: it
        # exists only if the handler yields to the event loop (a handler that answers without
        # suspending cannot be cancelled anyway), so the JSON fast path of a quick handler
        # spawns no task at all.
        handle = asyncio.get_running_loop().call_soon(out.watch, receive, request_scope)
        try:
            response = await request_scope.run(stateless[1].handle(message, envelope, out.related))
        finally:  # the request is over: its watcher and keepalive tasks too, if they started
            handle.cancel()
            if out.watch_task is not None:
                out.watch_task.cancel()
            if out.keepalive_task is not None:
                out.keepalive_task.cancel()
        if response is None:
            log.debug("request %r cancelled: the client closed its connection", message.id)
            return
        await out.finish(response, json_ok=accept_json)


async def _cancel_on_disconnect(receive: Receive, scope: RequestScope) -> None:
    """Closing the response stream is the modern cancel signal (2026-07-28
    basic/transports#cancellation). The body
    has been read, so the next ASGI message is the disconnect."""
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                scope.cancel()
                return
    except Exception:  # a server that cannot report the disconnect: nothing to watch
        log.debug("cannot watch for disconnects", exc_info=True)
