"""What a handler sees of the request it serves: ``Context``.

The same calls work on every transport and in both eras. A handler cannot tell stdio from
HTTP; it can read ``ctx.era`` if it cares about the protocol revision.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from anyio.abc import TaskGroup
from pydantic import BaseModel

from ..dispatcher import RequestContext
from ..errors import MissingClientCapability, UsageError
from ..jsonrpc import Message, RequestId
from ..protocol import LOG_LEVELS, Era, Lifecycle, PeerState
from .client_features import ElicitResult, Root, SamplingResult, elicitation_schema, sampling_messages

if TYPE_CHECKING:
    from .mcpserver import MCPServer

__all__ = ["Context", "ServerConnection", "ServerRequestContext"]


class ServerConnection:
    """Per-connection protocol state on the server: one per stdio pipe, one per legacy HTTP
    session on a worker. Modern (2026-07-28) requests never read it: their state arrives
    with each request."""

    __slots__ = ("lifecycle", "send_unrelated", "state", "subscriptions", "task_group")

    def __init__(self, state: PeerState | None = None, lifecycle: Lifecycle | None = None) -> None:
        self.state = state
        self.lifecycle = lifecycle or Lifecycle()
        self.subscriptions: set[str] = set()
        # Set by the transport: delivers a message that belongs to no request (list_changed,
        # resources/updated) to this peer; on HTTP that is the session's GET stream.
        self.send_unrelated: Callable[[Message], Awaitable[None]] | None = None
        # Set by MCPServer.dispatcher: where notifications caused by synchronous code (a tool
        # registered at run time -> list_changed) are delivered from.
        self.task_group: TaskGroup | None = None


class ServerRequestContext(RequestContext):
    """The dispatcher's per-request context plus the protocol state this request runs under."""

    __slots__ = ("state",)

    state: PeerState | None

    @property
    def connection(self) -> ServerConnection:
        return self.peer  # type: ignore[no-any-return]


class Context:
    """Talk back to the client while handling a request: progress, logs, elicitation,
    sampling, roots, and this server's own resources.

    Elicitation, sampling and roots are requests to the client. In the legacy era they are
    real server->client JSON-RPC requests on this request's stream; the 2026-07-28 era asks
    through MRTR instead (see :meth:`_ask`). Each checks first that the client declared the
    capability and raises :class:`MissingClientCapability` (-32021) if it did not.
    """

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

    # -- asking the client -------------------------------------------------------------------

    async def elicit(self, message: str, schema: type[BaseModel] | dict[str, Any]) -> ElicitResult[Any]:
        """Ask the user to fill in a form (``elicitation/create``, form mode).

        ``schema`` is a pydantic model (flat: str, int, float, bool, enums, lists of enums;
        defaults become the form's defaults) or a JSON Schema dict sent as given. On accept,
        ``result.data`` is an instance of the model.
        """
        params = {"mode": "form", "message": message, "requestedSchema": elicitation_schema(schema)}
        if self.peer is not None and self.peer.protocol_version < "2025-11-25":
            del params["mode"]  # 2025-06-18 knows only forms, and no mode field
        result = await self._ask("elicitation/create", params, "elicitation")
        return ElicitResult.from_wire(result, schema)

    async def elicit_url(self, message: str, url: str, elicitation_id: str | None = None) -> ElicitResult[Any]:
        """Send the user to ``url`` (``elicitation/create``, URL mode, 2025-11-25+): for
        interactions that must not pass through the client, such as a sign-in."""
        params = {"mode": "url", "message": message, "url": url, "elicitationId": elicitation_id or uuid.uuid4().hex}
        result = await self._ask("elicitation/create", params, "elicitation", mode="url")
        return ElicitResult.from_wire(result)

    async def sample(
        self,
        messages: str | list[dict[str, Any]],
        *,
        max_tokens: int,
        system_prompt: str | None = None,
        temperature: float | None = None,
        stop_sequences: list[str] | None = None,
        model_preferences: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> SamplingResult:
        """Ask the client's language model for a completion (``sampling/createMessage``).
        ``messages`` is a string (one user message) or a list of ``{role, content}``."""
        params: dict[str, Any] = {"messages": sampling_messages(messages), "maxTokens": max_tokens}
        for key, value in (
            ("systemPrompt", system_prompt),
            ("temperature", temperature),
            ("stopSequences", stop_sequences),
            ("modelPreferences", model_preferences),
            ("metadata", metadata),
        ):
            if value is not None:
                params[key] = value
        return SamplingResult.from_wire(await self._ask("sampling/createMessage", params, "sampling"))

    async def list_roots(self) -> list[Root]:
        """The directories and files the client exposes (``roots/list``)."""
        result = await self._ask("roots/list", None, "roots")
        return [Root.from_wire(r) for r in result.get("roots", []) if isinstance(r, dict)]

    async def read_resource(self, uri: str) -> list[dict[str, Any]]:
        """Read one of this server's own resources: its ``contents`` list."""
        return await self.server.read_resource(uri, self)

    async def close_stream(self) -> None:
        """End this request's response stream now; the result follows on the stream the
        client resumes with (legacy HTTP with SSE resumability). A no-op where a stream cannot
        be closed early (stdio, JSON responses)."""
        self._request.close_stream()

    async def _ask(
        self, method: str, params: dict[str, Any] | None, capability: str, *, mode: str | None = None
    ) -> dict[str, Any]:
        """Send one request to the client and return its result: the one place where the
        era decides how (legacy: a server->client request; 2026-07-28: MRTR)."""
        declared = self.peer.client_capabilities.get(capability) if self.peer is not None else None
        if not isinstance(declared, dict) or (mode is not None and not isinstance(declared.get(mode), dict)):
            need = {capability: {mode: {}}} if mode else {capability: {}}
            raise MissingClientCapability(
                f"{method} needs the client capability {capability}{'.' + mode if mode else ''}, "
                "which this client did not declare",
                {"requiredCapabilities": need},
            )
        if self.era is Era.MODERN:
            # MRTR (digest §6.8) plugs in here: answer from this round's inputResponses or
            # end the round with resultType "input_required".
            raise UsageError(f"{method} is not available to 2026-07-28 requests yet: it needs MRTR (input_required)")
        return await self._request.request(method, params)
