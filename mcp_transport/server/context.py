"""What a handler sees of the request it serves: ``Context``.

The same calls work on every transport and in both eras. A handler cannot tell stdio from
HTTP; it can read ``ctx.era`` if it cares about the protocol revision.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, NamedTuple, Protocol

from anyio.abc import TaskGroup
from pydantic import BaseModel

from ..dispatcher import Dispatcher, RequestContext, SendFn
from ..errors import MissingClientCapability, UsageError
from ..jsonrpc import Message, Request, RequestId
from ..mrtr import MRTR_METHODS, InputRequired, Round
from ..principal import Principal, current_principal
from ..protocol import LOG_LEVELS, Era, Lifecycle, PeerState
from .client_features import ElicitResult, Root, SamplingResult, elicitation_schema, sampling_messages

__all__ = [
    "STATELESS",
    "Context",
    "ResourceReader",
    "ServerConnection",
    "ServerRequestContext",
    "StatelessRequest",
    "send_stateless",
    "stateless_envelope",
]

log = logging.getLogger("mcp_transport.server")


class ResourceReader(Protocol):
    """What a :class:`Context` needs of its server (an ``MCPServer``): its own resources."""

    async def read_resource(self, uri: str, ctx: Context) -> list[dict[str, Any]]: ...


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


class StatelessRequest(NamedTuple):
    """What belongs to the stateless request a task serves (see :data:`STATELESS`)."""

    params: dict[str, Any]  # the request's own params object: which request this is
    envelope: PeerState
    send: SendFn


# The stateless 2026-07-28 request the current task is serving (set by
# ``StatelessServed.handle`` for the time of the request): one long-lived dispatcher serves
# every such request, so what belongs to one request travels with the task that runs it. A
# ContextVar: each HTTP request runs in its own task, and a task a handler starts copies its
# request's value, so concurrent requests never see each other's envelope or response stream.
STATELESS: ContextVar[StatelessRequest | None] = ContextVar("mcp_transport_stateless", default=None)


def stateless_envelope(params: dict[str, Any]) -> PeerState | None:
    """The envelope the transport parsed for the stateless request with these ``params``,
    if the current task serves it (else None: parse it)."""
    current = STATELESS.get()
    return current.envelope if current is not None and current.params is params else None


def send_stateless(message: Message, related_to: RequestId | None) -> Awaitable[None]:
    """The stateless dispatcher's ``send``: to the response of the request this task serves
    (it hands back that response's write)."""
    current = STATELESS.get()
    if current is None:  # not from a request's task: there is no response to write it to
        log.debug("dropping a stateless %s sent outside any request", type(message).__name__)
        return _nothing()
    return current.send(message, related_to)


async def _nothing() -> None:
    return None


class ServerRequestContext(RequestContext):
    """The dispatcher's per-request context plus the protocol state this request runs under."""

    __slots__ = ("round", "state", "stateless")

    def __init__(self, dispatcher: Dispatcher, request: Request, peer: Any) -> None:
        super().__init__(dispatcher, request, peer)
        self.state: PeerState | None = None
        # The stateless request this context serves, taken in the task that serves it: a
        # handler may report progress or log from another task (a callback of a client it
        # relays to, a task group of its own), where STATELESS is not this request's.
        self.stateless = STATELESS.get()
        # The MRTR round of a modern tools/call, prompts/get or resources/read: None on a
        # first round until an input call (or request_state) needs one, and on every other
        # request. The era is read from ``state``, never from this.
        self.round: Round | None = None

    @property
    def connection(self) -> ServerConnection:
        return self.peer  # type: ignore[no-any-return]  # set by the connection's initialize; typed Any there

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        bound = self.stateless
        if bound is None or STATELESS.get() is bound:
            return await super().notify(method, params)
        token = STATELESS.set(bound)  # sent from another task: to this request's response
        try:
            await super().notify(method, params)
        finally:
            STATELESS.reset(token)


class Context:
    """Talk back to the client while handling a request: progress, logs, elicitation,
    sampling, roots, and this server's own resources.

    Elicitation, sampling and roots are requests to the client. In the legacy era they are
    real server->client JSON-RPC requests on this request's stream; the 2026-07-28 era asks
    through MRTR instead (see :meth:`_ask`): the handler is re-run from the top on each
    round and every input call returns the answer the client gave in an earlier round, so
    one code path serves both eras. Write handlers so that re-running them is harmless
    (side effects after the input calls, or guarded with :attr:`request_state`), and let
    :class:`~mcp_transport.mrtr.InputRequired` through any broad ``except``. Each input
    call checks first that the client declared the capability and raises
    :class:`MissingClientCapability` (-32021) if it did not.

    ``key=`` names an input request in the modern era (the key of ``inputRequests``); by
    default keys are numbered in call order, which is stable as long as the handler asks in
    the same order each round.
    """

    __slots__ = ("_request", "server")

    def __init__(self, request: ServerRequestContext, server: ResourceReader) -> None:
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
    def principal(self) -> Principal | None:
        """Who this request acts for: the verified access token's subject, client, scopes and
        claims (HTTP with ``auth=``); None without authorization."""
        return current_principal.get()

    @property
    def era(self) -> Era:
        return self.peer.era if self.peer is not None else Era.LEGACY

    @property
    def request_context(self) -> ServerRequestContext:
        """The lower-level request context (dispatcher access)."""
        return self._request

    async def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        """Send a progress notification if the client asked for progress; otherwise nothing.
        ``progress`` must increase with each call (a value that does not is dropped)."""
        await self._request.report_progress(progress, total, message)

    async def log(self, level: str, data: Any, logger: str | None = None) -> None:
        """Send ``notifications/message`` if ``level`` passes the client's threshold.

        Legacy: the threshold set by ``logging/setLevel`` (info until then). Modern: only
        when the request opted in with ``_meta`` logLevel
        (2026-07-28 server/utilities/logging#per-request-log-level).
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

    async def elicit(
        self, message: str, schema: type[BaseModel] | dict[str, Any], *, key: str | None = None
    ) -> ElicitResult[Any]:
        """Ask the user to fill in a form (``elicitation/create``, form mode).

        ``schema`` is a pydantic model (flat: str, int, float, bool, enums, lists of enums;
        defaults become the form's defaults) or a JSON Schema dict sent as given. On accept,
        ``result.data`` is an instance of the model.
        """
        params = {"mode": "form", "message": message, "requestedSchema": elicitation_schema(schema)}
        if self.peer is not None and self.peer.protocol_version < "2025-11-25":
            del params["mode"]  # 2025-06-18 knows only forms, and no mode field
        result = await self._ask("elicitation/create", params, "elicitation", key=key)
        return ElicitResult.from_wire(result, schema)

    async def elicit_url(
        self, message: str, url: str, elicitation_id: str | None = None, *, key: str | None = None
    ) -> ElicitResult[Any]:
        """Send the user to ``url`` (``elicitation/create``, URL mode, 2025-11-25+): for
        interactions that must not pass through the client, such as a sign-in. (2026-07-28:
        no elicitation id; the client retries once the user is done.)"""
        params = {"mode": "url", "message": message, "url": url}
        if self.era is Era.LEGACY:
            params["elicitationId"] = elicitation_id or uuid.uuid4().hex
        result = await self._ask("elicitation/create", params, "elicitation", mode="url", key=key)
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
        key: str | None = None,
    ) -> SamplingResult:
        """Ask the client's language model for a completion (``sampling/createMessage``).
        ``messages`` is a string (one user message) or a list of ``{role, content}``."""
        params: dict[str, Any] = {"messages": sampling_messages(messages), "maxTokens": max_tokens}
        for field, value in (
            ("systemPrompt", system_prompt),
            ("temperature", temperature),
            ("stopSequences", stop_sequences),
            ("modelPreferences", model_preferences),
            ("metadata", metadata),
        ):
            if value is not None:
                params[field] = value
        return SamplingResult.from_wire(
            await self._ask("sampling/createMessage", params, "sampling", key=key)
        )

    async def list_roots(self, *, key: str | None = None) -> list[Root]:
        """The directories and files the client exposes (``roots/list``)."""
        result = await self._ask("roots/list", None, "roots", key=key)
        return [Root.from_wire(r) for r in result.get("roots", []) if isinstance(r, dict)]

    async def read_resource(self, uri: str) -> list[dict[str, Any]]:
        """Read one of this server's own resources: its ``contents`` list."""
        return await self.server.read_resource(uri, self)

    async def close_stream(self) -> None:
        """End this request's response stream now; the result follows on the stream the
        client resumes with (legacy HTTP with SSE resumability). A no-op where a stream cannot
        be closed early (stdio, JSON responses)."""
        self._request.close_stream()

    async def ask_all(self, *calls: Awaitable[Any]) -> list[Any]:
        """Ask for several inputs at once and return their answers in order:

            name, roots = await ctx.ask_all(ctx.elicit("Name?", Form, key="name"), ctx.list_roots())

        2026-07-28: every missing input goes into one ``input_required`` round instead of one
        round each. Legacy: the requests are sent to the client one after the other.
        """
        results: list[Any] = []
        missing = False
        for index, call in enumerate(calls):
            try:
                results.append(await call)
            except InputRequired:
                missing = True
                results.append(None)
            except BaseException:
                for pending in calls[index + 1 :]:
                    close = getattr(pending, "close", None)
                    if close is not None:
                        close()
                raise
        if missing:
            assert self._request.round is not None
            raise InputRequired(dict(self._request.round.asked))
        return results

    @property
    def request_state(self) -> Any:
        """Application state carried across MRTR rounds (JSON-serialisable; None at first).

        2026-07-28: set it before an input call and it comes back on the retry, sealed in
        ``requestState`` (integrity-protected, so the client cannot alter it). Legacy: a
        plain value that lasts this request, so the same handler code works in both eras.
        """
        current = self._request.round
        return current.app_state if current is not None else None

    @request_state.setter
    def request_state(self, value: Any) -> None:
        if self._request.round is None:
            self._request.round = Round()
        self._request.round.app_state = value

    def _require_capability(self, method: str, capability: str, mode: str | None) -> None:
        """Raise MissingClientCapability (-32021) unless the client declared ``capability``."""
        declared = self.peer.client_capabilities.get(capability) if self.peer is not None else None
        if not isinstance(declared, dict) or (mode is not None and not isinstance(declared.get(mode), dict)):
            need: dict[str, Any] = {capability: {mode: {}}} if mode else {capability: {}}
            raise MissingClientCapability(
                f"{method} needs the client capability {capability}{'.' + mode if mode else ''}, "
                "which this client did not declare",
                {"requiredCapabilities": need},
            )

    async def _ask(
        self,
        method: str,
        params: dict[str, Any] | None,
        capability: str,
        *,
        mode: str | None = None,
        key: str | None = None,
    ) -> dict[str, Any]:
        """Send one request to the client and return its result: the one place where the
        era decides how (legacy: a server->client request; 2026-07-28: MRTR)."""
        self._require_capability(method, capability, mode)
        if self.era is Era.LEGACY:
            return await self._request.request(method, params)
        if self._request.method not in MRTR_METHODS:
            raise UsageError(
                f"{method}: a 2026-07-28 server asks the client for input only while answering "
                "tools/call, prompts/get or resources/read (MRTR)"
            )
        current = self._request.round
        if current is None:  # a first round: the era gate builds none until it is needed
            current = self._request.round = Round()
        name = key if key is not None else current.next_key(method.partition("/")[0])
        answer = current.answers.get(name)
        if _well_formed(method, answer):
            return answer  # type: ignore[return-value]  # the answer is the model the caller asked for
        # No answer yet, or a malformed one: ask (again).
        current.asked[name] = {"method": method, "params": params or {}}
        raise InputRequired(dict(current.asked))


def _well_formed(method: str, answer: Any) -> bool:
    """Whether an ``inputResponses`` entry has the shape of that method's result."""
    if not isinstance(answer, dict):
        return False
    if method == "elicitation/create":
        return answer.get("action") in ("accept", "decline", "cancel")
    if method == "sampling/createMessage":
        return isinstance(answer.get("content"), (dict, list))
    if method == "roots/list":
        return isinstance(answer.get("roots"), list)
    return True
