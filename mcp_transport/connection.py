"""The seam between transports and the application they serve.

A transport frames bytes and moves messages; from the application it asks for a
:class:`Connection`: the dispatcher that answers one peer (a stdio pipe, a legacy HTTP
session) and the way to end it; and for the stateless 2026-07-28 requests of HTTP, one
long-lived :class:`StatelessConnection` that answers each of them. Transports depend on
these protocols only; :class:`~mcp_transport.server.MCPServer` implements them.

    connection = app.connect(send, task_group, send_unrelated=writer.write)
    await connection.dispatcher.receive(message)
    ...
    connection.close("stdin closed")
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, Protocol

from anyio.abc import TaskGroup

from .dispatcher import DEFAULT_MAX_INBOUND_REQUESTS, Dispatcher, SendFn
from .jsonrpc import ErrorResponse, Message, Request, Result
from .protocol import PeerState

__all__ = ["Application", "Connection", "SendUnrelated", "StatelessConnection"]

# Delivers a message that belongs to no request (list_changed, resources/updated) to the peer.
SendUnrelated = Callable[[Message], Awaitable[None]]


class Connection(Protocol):
    """One peer of the application, as a transport sees it."""

    @property
    def dispatcher(self) -> Dispatcher:
        """Feed it the peer's messages; it calls the transport's ``send`` for the answers."""
        ...

    @property
    def ready(self) -> bool:
        """The legacy handshake completed (``notifications/initialized`` came)."""
        ...

    @property
    def protocol_version(self) -> str | None:
        """The version the legacy handshake negotiated (None before it, and when stateless)."""
        ...

    def snapshot(self) -> dict[str, Any]:
        """The peer's protocol state as plain data, to store and :meth:`restore` elsewhere:
        ``version``, ``capabilities``, ``client_info``, ``log_level``, ``subscriptions``
        (the legacy ``resources/subscribe`` URIs)."""
        ...

    def restore(self, state: Mapping[str, Any], ready: bool) -> None:
        """Take over a peer served before by another worker: the fields of
        :meth:`snapshot` (``version`` None: not initialized yet), and whether the handshake
        had completed."""
        ...

    def open(self) -> None:
        """Start receiving broadcasts (``send_unrelated``): the peer is established."""
        ...

    def mute(self) -> None:
        """Stop receiving broadcasts, and nothing else: another worker delivers them to
        this peer now (the requests it is running here go on)."""
        ...

    def end_streams(self) -> None:
        """End this peer's ``subscriptions/listen`` requests gracefully (each answered with
        its result): its input ended, the requests already read still finish."""
        ...

    def close(self, reason: str) -> None:
        """Stop broadcasts and close the dispatcher: every pending request resolves."""
        ...


class StatelessConnection(Protocol):
    """Answers every stateless request of a transport (2026-07-28 basic/index#statelessness:
    each request carries all its state), many at once. Built once, not per request: nothing
    of one request (its envelope, where its notifications go, its cancellation, its
    principal) is kept on it or seen by another."""

    def handle(
        self, request: Request, envelope: PeerState, send: SendFn
    ) -> Coroutine[Any, Any, Result | ErrorResponse]:
        """Run ``request`` to completion in the caller's task (which awaits what this
        returns) and return its response.
        ``envelope``: its ``_meta`` envelope, which the transport parsed and checked;
        ``send``: where the messages it sends before its response go (notifications)."""
        ...


class Application(Protocol):
    """What a transport serves: it hands out connections and data the transport checks
    requests against, and hears when the process is shutting down."""

    def connect(
        self,
        send: SendFn,
        task_group: TaskGroup,
        *,
        send_unrelated: SendUnrelated | None = None,
        max_inbound: int = DEFAULT_MAX_INBOUND_REQUESTS,
    ) -> Connection:
        """A connection for one peer. ``send_unrelated``: where broadcasts go once
        :meth:`Connection.open` is called (None: this peer gets none)."""
        ...

    def stateless(self, task_group: TaskGroup) -> StatelessConnection:
        """The connection that answers stateless 2026-07-28 requests (HTTP), for the life of
        ``task_group`` (where work a request leaves behind runs, e.g. a task's handler)."""
        ...

    def param_schema(self, method: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The JSON Schema the ``Mcp-Param-*`` headers of a request are checked against
        (2026-07-28: a tool's ``inputSchema`` for ``tools/call``), or None."""
        ...

    def required_scopes(self, method: str, params: Mapping[str, Any]) -> Sequence[str]:
        """The OAuth scopes a request needs beyond the server's own (a tool's or resource's
        ``scopes``): a protected endpoint answers 403 ``insufficient_scope`` without them."""
        ...

    def shutting_down(self) -> None:
        """The process is stopping: end every open ``subscriptions/listen`` stream with its
        result so connections can close. Sync; safe to call twice."""
        ...
