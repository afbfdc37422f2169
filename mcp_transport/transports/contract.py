"""The client transport contract: everything ``Client`` asks of a transport, typed.

A transport moves JSON-RPC messages and owns whatever its wire needs beyond them: the HTTP
session id, the negotiated version header, the server->client channel and its resumption,
the tool schemas that ``Mcp-Param-*`` headers are built from. ``Client`` runs the protocol on
top and reaches the transport only through :class:`ClientTransport`. A transport that has no
session, channel or header schemas (stdio, the deprecated HTTP+SSE one) inherits the
answers of :class:`TransportDefaults`; one that only moves messages (:class:`MessageTransport`,
the three methods you write for your own) is lifted by :class:`Adapted`.

This module sits below ``client/`` so that transports implement the contract without
importing the client.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from anyio.abc import TaskGroup

from ..errors import ConnectionClosed
from ..jsonrpc import Message, RequestId

__all__ = [
    "Adapted",
    "ChannelState",
    "ClientTransport",
    "MessageTransport",
    "Receive",
    "RequestFailed",
    "SessionExpired",
    "StreamLost",
    "TransportDefaults",
]

Receive = Callable[[Message], Awaitable[None]]
"""Where a transport hands every message from the server."""
RequestFailed = Callable[[RequestId, Exception], Awaitable[None]]
"""Fails one pending request with a local error (its POST failed, its stream died)."""
SessionExpired = Callable[[], Awaitable[None]]
"""Runs the handshake again: the server forgot the session (HTTP 404)."""


class StreamLost(ConnectionClosed):
    """A 2026-07-28 request's response stream ended before its response. The request is
    lost (modern streams do not resume); ``Client`` sends it again once, with a new id."""


class ChannelState(enum.Enum):
    """The state of a client's server->client SSE channel (the GET stream)."""

    NONE = "none"  # not opened, or the server offers no stream (405/404)
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"  # the reconnect budget ran out, or the server refused the stream for good
    CLOSED = "closed"  # the client closed it


@runtime_checkable
class MessageTransport(Protocol):
    """The least a transport does: move messages.

    ``start`` begins delivering every message from the server to ``receive`` (running its
    readers in ``task_group``) and calls ``on_closed(reason)`` if the connection ends;
    ``send`` delivers one message (``related_to`` is the server request it answers, if
    any); ``close`` shuts down, bounded in time.
    """

    async def start(
        self, receive: Receive, task_group: TaskGroup, on_closed: Callable[[str], None]
    ) -> None: ...

    async def send(self, message: Message, related_to: RequestId | None = None) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class ClientTransport(MessageTransport, Protocol):
    """Everything ``Client`` uses (``StdioProcess``, ``HTTPTransport``, ``LegacySSETransport``)."""

    @property
    def url(self) -> str | None:
        """The server's http(s) URL, which the era cache is keyed by; None off HTTP."""

    @property
    def session_id(self) -> str | None:
        """The legacy session the server assigned (``Mcp-Session-Id``), if any."""

    @property
    def channel_state(self) -> ChannelState | None:
        """The server->client stream's state; None when the transport has no such stream."""

    @property
    def legacy_sse(self) -> bool:
        """This is the deprecated HTTP+SSE transport (the era cache remembers it per URL)."""

    @property
    def uses_tool_schemas(self) -> bool:
        """Requests carry headers built from tool input schemas (modern HTTP ``Mcp-Param-*``)."""

    def bind(self, on_request_failed: RequestFailed, on_session_expired: SessionExpired) -> None:
        """Called once before ``start``: how to fail one lost request, and how to renew a
        session the server forgot (the transport retries the request once afterwards)."""

    def negotiated(self, protocol_version: str) -> None:
        """The legacy handshake agreed on ``protocol_version``: state it on every later message."""

    async def session_ready(self) -> None:
        """The legacy handshake finished: open the server->client channel, if there is one."""

    def reset_session(self) -> None:
        """Forget the session and version: an era probe's answer did not open a session."""

    def tool_schema_missing(self, name: str) -> bool:
        """A ``tools/call`` of ``name`` would lack the schema its headers come from."""

    def learn_tools(self, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A complete modern tools/list: keep what the headers need, replacing what was known,
        and return the tools that can be called (those with invalid header annotations
        dropped, as 2026-07-28 basic/transports#custom-headers requires)."""

    def legacy_fallback(self) -> ClientTransport | None:
        """The deprecated HTTP+SSE transport for the same server, to try when ``initialize``
        fails as a 2024-11-05 server makes it fail; None when there is none to try."""


class TransportDefaults:
    """The contract's answers for a transport with no session, no server->client channel
    and no header schemas: stdio, the deprecated HTTP+SSE transport, your own."""

    url: str | None = None
    session_id: str | None = None
    channel_state: ChannelState | None = None
    legacy_sse = False
    uses_tool_schemas = False

    def bind(self, on_request_failed: RequestFailed, on_session_expired: SessionExpired) -> None:
        """Nothing to bind: every failure of such a transport ends the whole connection."""

    def negotiated(self, protocol_version: str) -> None:
        """No per-message version to state."""

    async def session_ready(self) -> None:
        """No channel to open: the connection carries everything."""

    def reset_session(self) -> None:
        """No session to forget."""

    def tool_schema_missing(self, name: str) -> bool:
        return False

    def learn_tools(self, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return tools

    def legacy_fallback(self) -> ClientTransport | None:
        return None


class Adapted(TransportDefaults):
    """A :class:`MessageTransport` of your own, given the contract's defaults. ``inner`` is it."""

    def __init__(self, inner: MessageTransport) -> None:
        self.inner = inner

    async def start(self, receive: Receive, task_group: TaskGroup, on_closed: Callable[[str], None]) -> None:
        await self.inner.start(receive, task_group, on_closed)

    async def send(self, message: Message, related_to: RequestId | None = None) -> None:
        await self.inner.send(message, related_to)

    async def close(self) -> None:
        await self.inner.close()
