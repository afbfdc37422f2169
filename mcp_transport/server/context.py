"""What a handler sees of the request it serves: ``Context``.

The same calls work on every transport and in both eras. A handler cannot tell stdio from
HTTP; it can read ``ctx.era`` if it cares about the protocol revision.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..dispatcher import RequestContext
from ..jsonrpc import Message, RequestId
from ..protocol import LOG_LEVELS, Era, Lifecycle, PeerState

if TYPE_CHECKING:
    from .mcpserver import MCPServer

__all__ = ["Context", "ServerConnection", "ServerRequestContext"]


class ServerConnection:
    """Per-connection protocol state on the server: one per stdio pipe, one per legacy HTTP
    session on a worker. Modern (2026-07-28) requests never read it: their state arrives
    with each request."""

    __slots__ = ("lifecycle", "send_unrelated", "state", "subscriptions")

    def __init__(self, state: PeerState | None = None, lifecycle: Lifecycle | None = None) -> None:
        self.state = state
        self.lifecycle = lifecycle or Lifecycle()
        self.subscriptions: set[str] = set()
        # Set by the transport: delivers a message that belongs to no request (list_changed,
        # resources/updated) to this peer; on HTTP that is the session's GET stream.
        self.send_unrelated: Callable[[Message], Awaitable[None]] | None = None


class ServerRequestContext(RequestContext):
    """The dispatcher's per-request context plus the protocol state this request runs under."""

    __slots__ = ("state",)

    state: PeerState | None

    @property
    def connection(self) -> ServerConnection:
        return self.peer  # type: ignore[no-any-return]


class Context:
    """Talk back to the client while handling a request: progress, logs, and (through the
    features layer) elicitation, sampling and roots."""

    __slots__ = ("_request", "server")

    def __init__(self, request: ServerRequestContext, server: MCPServer) -> None:
        self._request = request
        self.server = server

    @property
    def request_id(self) -> RequestId:
        return self._request.id

    @property
    def peer(self) -> PeerState | None:
        """The client's protocol version, capabilities and info for this request."""
        return self._request.state

    @property
    def era(self) -> Era:
        return self.peer.era if self.peer is not None else Era.LEGACY

    @property
    def request_context(self) -> ServerRequestContext:
        """The lower-level request context (dispatcher access)."""
        return self._request

    async def report_progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """Send a progress notification if the client asked for progress; otherwise nothing.
        ``progress`` must increase with each call (a value that does not is dropped)."""
        await self._request.report_progress(progress, total, message)

    async def log(self, level: str, data: Any, logger: str | None = None) -> None:
        """Send ``notifications/message`` if ``level`` passes the client's threshold.

        Legacy: the threshold set by ``logging/setLevel`` (info until then). Modern: only
        when the request opted in with ``_meta`` logLevel (digest §6.6).
        """
        if level not in LOG_LEVELS:
            raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LOG_LEVELS)}")
        threshold = self.peer.log_level if self.peer is not None else None
        if threshold is None:
            if self.era is Era.MODERN:
                return
            threshold = "info"
        if LOG_LEVELS.index(level) < LOG_LEVELS.index(threshold):
            return
        params: dict[str, Any] = {"level": level, "data": data}
        if logger is not None:
            params["logger"] = logger
        await self._request.notify("notifications/message", params)

    async def debug(self, data: Any) -> None:
        await self.log("debug", data)

    async def info(self, data: Any) -> None:
        await self.log("info", data)

    async def warning(self, data: Any) -> None:
        await self.log("warning", data)

    async def error(self, data: Any) -> None:
        await self.log("error", data)
