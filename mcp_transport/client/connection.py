"""The client's live link to one server: a transport keeping the contract of
:mod:`mcp_transport.transports.contract`, and the one shared
:class:`~mcp_transport.dispatcher.Dispatcher` running over it in the client's task group."""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

import anyio
from anyio.abc import TaskGroup

from ..dispatcher import Dispatcher, NotificationHandler
from ..errors import MCPError, UsageError
from ..jsonrpc import Message, Notification, Request, RequestId
from ..methods import MethodTable
from ..recording import Recorder
from ..transports.contract import ClientTransport

__all__ = ["ClientState", "Connection"]

log = logging.getLogger("mcp_transport.client")


class ClientState(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


class Connection:
    """Opens once, closes once. ``transport`` may be replaced while open (the HTTP+SSE
    fallback); the dispatcher stays, so pending requests are not lost in the swap."""

    def __init__(
        self,
        transport: ClientTransport,
        methods: MethodTable,
        on_notification: NotificationHandler,
        timeout: float,
        recorder: Recorder | None = None,
    ) -> None:
        self.transport = transport
        self.recorder = recorder  # Client(record=path): every message both ways, docs/recording.md
        self.state = ClientState.UNOPENED
        self.dispatcher: Dispatcher | None = None
        self.task_group: TaskGroup | None = None
        self._methods = methods
        self._on_notification = on_notification
        self._timeout = timeout
        self._stack: AsyncExitStack | None = None

    async def open(self, handshake: Callable[[], Awaitable[None]]) -> None:
        """Enter a task group, start the transport and run ``handshake`` (also what the
        transport runs again when the server forgot the session). On failure everything
        is closed again and the error raised."""
        if self.state is not ClientState.UNOPENED:
            raise UsageError(f"Client.open(): the client is {self.state.value}; a client opens once")
        self.state = ClientState.OPEN
        self._stack = AsyncExitStack()
        try:
            self.task_group = await self._stack.enter_async_context(anyio.create_task_group())
            self.dispatcher = Dispatcher(
                self._methods,
                self._send,
                self.task_group,
                on_notification=self._on_notification,
                default_timeout=self._timeout,
            )
            self.transport.bind(self._request_failed, handshake)
            await self.transport.start(self._receiver(), self.task_group, self._transport_closed)
            await handshake()
        except BaseException:
            await self.close()
            await self.exit_task_group()
            raise

    async def close(self) -> None:
        """Fail every pending request with ConnectionClosed and shut the transport down.
        Idempotent."""
        if self.state is ClientState.CLOSED:
            return
        self.state = ClientState.CLOSED
        if self.dispatcher is not None:
            self.dispatcher.close("the client was closed")
        with anyio.CancelScope(shield=True):
            try:
                await self.transport.close()
            except Exception:  # closing must not fail; the transport is gone either way
                log.debug("transport close failed", exc_info=True)
        if self.recorder is not None:
            self.recorder.close()

    async def exit_task_group(self) -> None:
        # Only at the nesting level where the task group was entered may its scope be
        # cancelled and exited: anyio cancel scopes must exit in the order they were entered.
        stack, self._stack = self._stack, None
        if stack is not None:
            if self.task_group is not None:
                self.task_group.cancel_scope.cancel()
            await stack.aclose()

    def require_open(self, method: str) -> Dispatcher:
        if self.state is not ClientState.OPEN or self.dispatcher is None:
            raise UsageError(
                f"cannot send {method}: the client is {self.state.value} (use 'async with Client(...)')"
            )
        return self.dispatcher

    async def replace_transport(self, new: ClientTransport) -> None:
        """Swap in another transport for the same server, started before the old one closes."""
        dispatcher, task_group = self.dispatcher, self.task_group
        if dispatcher is None or task_group is None:
            raise UsageError("cannot replace the transport: the client is not open")
        try:
            await new.start(self._receiver(), task_group, self._transport_closed)
        except BaseException:
            await new.close()
            raise
        old, self.transport = self.transport, new
        await old.close()

    def _transport_closed(self, reason: str) -> None:
        if self.dispatcher is not None:
            self.dispatcher.close(reason)

    def _receiver(self) -> Callable[[Message], Awaitable[None]]:
        """What the transport delivers server messages to: the dispatcher, through the
        recorder when there is one (no cost otherwise)."""
        assert self.dispatcher is not None
        if self.recorder is None:
            return self.dispatcher.receive
        receive = self.dispatcher.receive

        async def recording(message: Message) -> None:
            self._record("s2c", message)
            await receive(message)

        return recording

    def _record(self, direction: str, message: Message) -> None:
        if self.recorder is not None:
            session = self.transport.session_id
            self.recorder.record(direction, message.to_dict(), session=session)

    async def _send(self, message: Message, related_to: RequestId | None) -> None:
        self._record("c2s", message)
        if isinstance(message, (Request, Notification)):
            await self.transport.send(message, related_to)
            return
        # Our answer to a server request: a failure here must not crash the handler task.
        try:
            await self.transport.send(message, related_to)
        except MCPError as exc:
            log.warning("could not send the response to server request %r: %s", message.id, exc)

    async def _request_failed(self, request_id: RequestId, error: Exception) -> None:
        """The transport lost a request (failed POST, dead stream): its caller gets
        ``error`` itself, never something mistakable for the server's answer."""
        if self.dispatcher is not None:
            self.dispatcher.fail(request_id, error)
