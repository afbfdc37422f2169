"""``ServedConnection``: one peer of an ``MCPServer``, and ``StatelessServed``: the one that
answers its stateless 2026-07-28 requests, as the transport seam
(:class:`mcp_transport.connection.Application`) hands them out.

It reaches its server through :class:`ServedHost`, not ``MCPServer`` itself, which imports this
module: so the server package has no import cycle (tests/test_architecture.py checks it).
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from typing import Any, Protocol

from ..dispatcher import Dispatcher, SendFn
from ..jsonrpc import ErrorResponse, Request, Result
from ..protocol import LifecycleState, PeerState
from .context import STATELESS, ServerConnection, StatelessRequest

__all__ = ["ServedConnection", "ServedHost", "StatelessServed"]


class ServedHost(Protocol):
    """What a served connection asks of its server: the live-connection table (for
    notifications that belong to no request) and the end of its listen streams."""

    def attach(self, connection: ServerConnection) -> None: ...

    def detach(self, connection: ServerConnection) -> None: ...

    def close_subscriptions(self, connection: ServerConnection | None = None) -> None: ...


class ServedConnection:
    """One peer of an ``MCPServer``, as the transport seam hands it out."""

    __slots__ = ("dispatcher", "peer", "server")

    def __init__(self, server: ServedHost, peer: ServerConnection, dispatcher: Dispatcher) -> None:
        self.server = server
        self.peer = peer
        self.dispatcher = dispatcher

    @property
    def ready(self) -> bool:
        return self.peer.lifecycle.state is LifecycleState.READY

    @property
    def protocol_version(self) -> str | None:
        return self.peer.state.protocol_version if self.peer.state is not None else None

    def snapshot(self) -> dict[str, Any]:
        state, peer = self.peer.state, self.peer
        return {
            "version": state.protocol_version if state is not None else None,
            "capabilities": state.client_capabilities if state is not None else {},
            "client_info": (state.client_info or {}) if state is not None else {},
            "log_level": state.log_level if state is not None else None,
            "subscriptions": frozenset(peer.subscriptions),
        }

    def restore(self, state: Mapping[str, Any], ready: bool) -> None:
        peer = self.peer
        version = state.get("version")
        if version is not None:
            if peer.state is None or peer.state.protocol_version != version:
                info = dict(state.get("client_info") or {}) or None
                peer.state = PeerState(version, dict(state.get("capabilities") or {}), info)
                peer.lifecycle.state = LifecycleState.INITIALIZING
            peer.state.log_level = state.get("log_level")
        peer.subscriptions = set(state.get("subscriptions") or ())
        if ready:
            peer.lifecycle.state = LifecycleState.READY

    def open(self) -> None:
        self.server.attach(self.peer)

    def mute(self) -> None:
        self.server.detach(self.peer)

    def end_streams(self) -> None:
        self.server.close_subscriptions(self.peer)

    def close(self, reason: str) -> None:
        self.server.detach(self.peer)
        self.dispatcher.close(reason)


class StatelessServed:
    """Answers the stateless 2026-07-28 requests of a transport
    (:class:`mcp_transport.connection.StatelessConnection`) with one dispatcher built once:
    building a connection and a dispatcher per request was a tenth of the leg's cost. The
    dispatcher's ``send`` is :func:`~.context.send_stateless` and its peer a
    :class:`ServerConnection` that never initializes; what belongs to one request (its
    envelope, its ``send``) is bound to the task serving it by :meth:`handle`, its
    cancellation is the caller's, its principal the caller's context variable."""

    __slots__ = ("dispatcher",)

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher

    def handle(
        self, request: Request, envelope: PeerState, send: SendFn
    ) -> Coroutine[Any, Any, Result | ErrorResponse]:
        # Not a coroutine of its own (one frame fewer per request): the request's state is
        # bound to the calling task, which awaits the dispatcher's coroutine handed back. It
        # is not unbound afterwards: an ASGI server runs each request in a task of its own,
        # whose context ends with it, and a task that serves several binds each in turn
        # (stateless_envelope also checks that the params are the request's own).
        # tuple.__new__: the NamedTuple built in C, without its Python-level __new__
        STATELESS.set(tuple.__new__(StatelessRequest, (request.params or {}, envelope, send)))
        return self.dispatcher.handle(request)
