"""``Client``: connect to an MCP server over Streamable HTTP or stdio and call it.

    async with Client("http://127.0.0.1:8000/mcp") as client:
        tools = await client.list_tools()
        result = await client.call_tool("add", {"a": 1, "b": 2})

The client is a thin layer over the one shared :class:`~mcp_transport.dispatcher.Dispatcher`:
it runs the handshake (legacy ``initialize`` or the modern per-request envelope), answers the
server's requests (ping, sampling, elicitation, roots) from handlers registered here, and
turns MCP methods into Python calls. Results are the JSON result objects as dicts, exactly as
the server sent them (list methods return the collected items of every page).
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, Self

import anyio
from anyio.abc import TaskGroup

from ..dispatcher import Dispatcher, ProgressCallback
from ..errors import (
    MCPError,
    RemoteError,
    RequestTimeout,
    UsageError,
)
from ..jsonrpc import Message, Notification, Request, RequestId
from ..protocol import (
    LATEST_LEGACY_VERSION,
    LATEST_VERSION,
    LEGACY_VERSIONS,
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROTOCOL_VERSION,
    META_SUBSCRIPTION_ID,
    MODERN_VERSIONS,
    Era,
    era_of,
)
from .calls import ServerCalls
from .era import (
    HEADER_MISMATCH_CODES,
    UNSUPPORTED_VERSION_CODES,
    pick_version,
    supported_versions,
)
from .handlers import RequestHandler, apply_schema_defaults, default_capabilities, method_table
from .handshake import Handshake
from .subscriptions import Listening, Subscription
from .transport import HTTPOptions, StreamLost, Transport, transport_for

if TYPE_CHECKING:
    import httpx

    from .reconnect import ChannelState, ReconnectPolicy, StreamGapCallback

__all__ = [
    "DEFAULT_CLIENT_INFO",
    "DEFAULT_PROBE_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "MAX_INPUT_ROUNDS",
    "Client",
    "ClientState",
    "InputRequiredError",
    "NotificationCallback",
]

log = logging.getLogger("mcp_transport.client")

# Seconds a request may wait for its response (progress extends it, up to 10x; digest §4.7).
DEFAULT_TIMEOUT = 60.0
DEFAULT_CLIENT_INFO: dict[str, Any] = {"name": "mcp_transport", "version": "0.1.0"}
# era="auto": how long the server/discover probe may wait before the server is taken for a
# legacy one that ignores unknown requests (stdio, digest §3.3). Covers a slow server start.
DEFAULT_PROBE_TIMEOUT = 10.0
# MRTR (digest §6.8): a server still asking for input after this many rounds is an error.
MAX_INPUT_ROUNDS = 10

NotificationCallback = Callable[[str, dict[str, Any]], Awaitable[None]]
"""Called for every server notification other than progress: ``(method, params)``."""


class ClientState(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


class InputRequiredError(MCPError):
    """A 2026-07-28 multi round-trip request (MRTR) could not be completed locally: the
    server asked for input this client has no handler for, kept asking for more than
    ``max_input_rounds`` rounds, or answered with a ``resultType`` this client does not know."""


class Client(Handshake, Listening, ServerCalls):
    """An MCP client. ``target`` is a URL (Streamable HTTP), a command list (stdio: the
    server runs as a subprocess), or a transport object.

    ``era="auto"`` (default) probes with a 2026-07-28 ``server/discover`` and speaks the
    modern protocol if the server does, else falls back to the legacy ``initialize``
    handshake (digest §2.B.9, §3.3); over HTTP the outcome is remembered per server URL for
    the process. ``era="legacy"`` always runs the ``initialize`` handshake; ``era="modern"``
    always speaks 2026-07-28, sending the ``_meta`` envelope on every request instead.
    ``protocol_version`` pins the version (with ``era="auto"`` it picks the era too).
    ``timeout`` is the default per-request timeout in seconds (None disables it);
    ``probe_timeout`` bounds the auto probe. Handlers answer the server's requests:
    ``sampling_handler`` (sampling/createMessage), ``elicitation_handler``
    (elicitation/create; schema defaults fill missing fields of an accepted answer) and
    ``roots`` (roots/list); each one given is declared in the client capabilities. They
    serve both eras: legacy server->client requests, and modern ``input_required`` results
    (MRTR), which ``Client`` fulfils and retries for you (at most ``max_input_rounds``).
    ``on_notification(method, params)`` sees the server's notifications (log messages with
    ``notifications/message``; ``log_level`` asks for them: logging/setLevel after a legacy
    handshake, the ``_meta`` logLevel on modern requests). ``on_stream_gap(gap)`` hears
    when the HTTP GET stream lost messages the server could no longer replay (a
    :class:`~mcp_transport.client.reconnect.StreamGap`); the client goes on with a fresh
    stream. A callback that raises (``on_notification``, ``on_progress``,
    ``on_stream_gap``) is logged and ignored: it never fails a call or the client. The HTTP
    options (``headers``, ``auth``, ``http_client``, ``reconnect``, ``on_stream_gap``) and
    the stdio ones (``env``, ``cwd``) are passed to the transport built from ``target``.

    Raises :class:`~mcp_transport.errors.RemoteError` when the server answers with an
    error, :class:`~mcp_transport.errors.RequestTimeout`,
    :class:`~mcp_transport.errors.ConnectionClosed` or another
    :class:`~mcp_transport.errors.TransportError` when no answer is possible,
    :class:`InputRequiredError` when an MRTR request cannot be completed, and
    :class:`~mcp_transport.errors.UsageError` when used outside ``async with``.
    """

    def __init__(
        self,
        target: str | Sequence[str] | Transport,
        *,
        era: str = "auto",
        protocol_version: str | None = None,
        client_info: Mapping[str, Any] | None = None,
        capabilities: Mapping[str, Any] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        probe_timeout: float = DEFAULT_PROBE_TIMEOUT,
        max_input_rounds: int = MAX_INPUT_ROUNDS,
        sampling_handler: RequestHandler | None = None,
        elicitation_handler: RequestHandler | None = None,
        roots: Sequence[Mapping[str, Any]] | None = None,
        on_notification: NotificationCallback | None = None,
        log_level: str | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        http_client: httpx.AsyncClient | None = None,
        reconnect: ReconnectPolicy | None = None,
        on_stream_gap: StreamGapCallback | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        # Long because the client has many options (see the class docstring): each line
        # validates one of them or stores it; there is no logic worth a helper here.
        if era not in ("auto", "legacy", "modern"):
            raise ValueError(f"era must be 'auto', 'legacy' or 'modern', not {era!r}")
        if protocol_version is not None:
            version_era = era_of(protocol_version)
            if version_era is None or (era != "auto" and version_era.value != era):
                known = {"legacy": LEGACY_VERSIONS, "modern": MODERN_VERSIONS}.get(
                    era, LEGACY_VERSIONS + MODERN_VERSIONS
                )
                raise ValueError(
                    f"protocol_version {protocol_version!r} is not a {era} version ({', '.join(known)})"
                )
            era = version_era.value
        self.mode = era  # what was asked for; self.era is what is spoken
        # Until the auto probe decides, requests are modern (the probe is one).
        self.era = Era.LEGACY if era == "legacy" else Era.MODERN
        modern_pin = protocol_version if protocol_version in MODERN_VERSIONS else None
        legacy_pin = protocol_version if protocol_version in LEGACY_VERSIONS else None
        self.requested_version = (
            modern_pin or legacy_pin or (LATEST_LEGACY_VERSION if era == "legacy" else LATEST_VERSION)
        )
        self._legacy_version = legacy_pin or LATEST_LEGACY_VERSION
        self.client_info = dict(client_info or DEFAULT_CLIENT_INFO)
        self.timeout = math.inf if timeout is None else timeout
        self.probe_timeout = probe_timeout
        self.max_input_rounds = max_input_rounds
        self.on_notification = on_notification
        self.log_level = log_level
        self._roots = [dict(r) for r in roots] if roots is not None else None
        self._sampling_handler = sampling_handler
        self._elicitation_handler = elicitation_handler
        self._user_capabilities = dict(capabilities) if capabilities is not None else None
        self.capabilities: dict[str, Any] = {}
        self._set_capabilities(Era.MODERN if era == "modern" else Era.LEGACY)
        self.methods = method_table(
            sampling_handler, elicitation_handler, self._list_roots if roots is not None else None
        )
        http = HTTPOptions(
            headers=headers,
            auth=auth,
            http_client=http_client,
            reconnect=reconnect,
            on_stream_gap=on_stream_gap,
        )
        self.transport: Transport = transport_for(target, http, env=env, cwd=cwd)
        self.state = ClientState.UNOPENED
        # What the server told us (initialize result, or server/discover when modern).
        self.protocol_version: str | None = None
        self.server_info: dict[str, Any] = {}
        self.server_capabilities: dict[str, Any] = {}
        self.instructions: str | None = None
        self._dispatcher: Dispatcher | None = None
        self._stack: AsyncExitStack | None = None
        self._task_group: TaskGroup | None = None
        self._era_decided = era != "auto"
        self._tools_listed = False  # modern HTTP: tools/list ran once (Mcp-Param-* schemas)
        self._managed = False  # opened by 'async with': __aexit__ exits the task group
        self._subscriptions: dict[RequestId, Subscription] = {}  # open listens by subscription id
        self._unclaimed: list[Subscription] = []  # listens awaiting their acknowledgement
        self._listen_lock = anyio.Lock()

    def _set_capabilities(self, era: Era) -> None:
        if self._user_capabilities is not None:
            self.capabilities = dict(self._user_capabilities)
        else:
            self.capabilities = default_capabilities(
                era, self._sampling_handler, self._elicitation_handler, self._roots is not None
            )

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._managed = True
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
        await self._exit_task_group()

    async def open(self) -> None:
        """Start the transport and run the handshake. ``async with`` calls it for you.
        Without ``async with``, call :meth:`aclose` from the task that opened the client
        (it owns a task group)."""
        if self.state is not ClientState.UNOPENED:
            raise UsageError(f"Client.open(): the client is {self.state.value}; a client opens once")
        self.state = ClientState.OPEN
        self._stack = AsyncExitStack()
        try:
            self._task_group = await self._stack.enter_async_context(anyio.create_task_group())
            self._dispatcher = Dispatcher(
                self.methods,
                self._send,
                self._task_group,
                on_notification=self._notification,
                default_timeout=self.timeout,
            )
            if hasattr(self.transport, "on_request_failed"):
                self.transport.on_request_failed = self._request_failed  # type: ignore[attr-defined]
                self.transport.on_session_expired = self._handshake  # type: ignore[attr-defined]
            await self.transport.start(self._dispatcher.receive, self._task_group, self._transport_closed)
            await self._handshake()
        except BaseException:
            await self.aclose()
            await self._exit_task_group()
            raise

    async def aclose(self) -> None:
        """Close the connection: every pending request fails with ConnectionClosed, the
        transport shuts down (HTTP: DELETE the session; stdio: stop the process). Idempotent,
        and safe to call inside ``async with`` from any nesting depth."""
        if self.state is not ClientState.CLOSED:
            self.state = ClientState.CLOSED
            if self._dispatcher is not None:
                self._dispatcher.close("the client was closed")
            with anyio.CancelScope(shield=True):
                try:
                    await self.transport.close()
                except Exception:  # closing must not fail; the transport is gone either way
                    log.debug("transport close failed", exc_info=True)
        if not self._managed:
            await self._exit_task_group()

    async def _exit_task_group(self) -> None:
        # Only here, at the nesting level where the task group was entered, may its scope be
        # cancelled and exited (anchors §7 item 5: out-of-order exits break anyio).
        stack, self._stack = self._stack, None
        if stack is not None:
            if self._task_group is not None:
                self._task_group.cancel_scope.cancel()
            await stack.aclose()

    def _transport_closed(self, reason: str) -> None:
        if self._dispatcher is not None:
            self._dispatcher.close(reason)

    # -- the generic calls -----------------------------------------------------------------

    async def request(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """Send any request and return its result. ``timeout`` overrides the client's
        default for this call (``math.inf`` disables it); ``on_progress(progress, total,
        message)`` receives the server's progress notifications.

        Modern era: an ``input_required`` result (MRTR) is fulfilled with the client's
        handlers and the request retried (new id, ``inputResponses``, ``requestState``
        echoed) until it completes; a -32022 is retried once with a version the server
        supports; a lost response stream is retried once."""
        if self.era is not Era.MODERN:
            return await self._request_with_retries(method, params, timeout, on_progress)
        if method == "tools/call":
            await self._ensure_tool_schema(params)
        base = dict(params or {})
        round_params = base
        for _ in range(self.max_input_rounds + 1):
            result = await self._request_with_retries(method, round_params, timeout, on_progress)
            result_type = result.get("resultType", "complete")
            if result_type == "complete":
                return result
            if result_type != "input_required":
                raise InputRequiredError(
                    f"{method}: unknown resultType {result_type!r} in the server's result"
                )
            round_params = {**base, **await self._fulfil(method, result)}
        raise InputRequiredError(
            f"{method}: the server still requires input after {self.max_input_rounds} rounds"
        )

    async def _fulfil(self, method: str, result: dict[str, Any]) -> dict[str, Any]:
        """The MRTR fields of the retry for an ``input_required`` result: every input request
        answered by our handlers, and ``requestState`` echoed as given (omitted if absent)."""
        requests = result.get("inputRequests")
        extra: dict[str, Any] = {}
        if isinstance(requests, dict) and requests:
            responses: dict[str, Any] = {}
            for key, input_request in requests.items():
                responses[key] = await self._answer_input(method, key, input_request)
            extra["inputResponses"] = responses
        if "requestState" in result:
            extra["requestState"] = result["requestState"]
        if not extra:
            raise InputRequiredError(
                f"{method}: input_required result with neither inputRequests nor requestState"
            )
        return extra

    async def _answer_input(self, method: str, key: str, input_request: Any) -> dict[str, Any]:
        if not isinstance(input_request, dict) or not isinstance(input_request.get("method"), str):
            raise InputRequiredError(f"{method}: input request {key!r} is malformed: {input_request!r}")
        wanted = input_request["method"]
        params = input_request.get("params") if isinstance(input_request.get("params"), dict) else {}
        if wanted == "elicitation/create" and self._elicitation_handler is not None:
            return apply_schema_defaults(params, await self._elicitation_handler(params))
        if wanted == "sampling/createMessage" and self._sampling_handler is not None:
            return await self._sampling_handler(params)
        if wanted == "roots/list" and self._roots is not None:
            return {"roots": await self._list_roots()}
        raise InputRequiredError(
            f"{method}: the server asked for {wanted} (input {key!r}), which this client has no handler for"
        )

    async def _ensure_tool_schema(self, params: Mapping[str, Any] | None) -> None:
        """Modern HTTP: Mcp-Param-* headers come from the tool's inputSchema; list the tools
        once if this one is not known yet."""
        schemas = getattr(self.transport, "tool_schemas", None)
        name = (params or {}).get("name")
        if schemas is None or self._tools_listed or not isinstance(name, str) or name in schemas:
            return
        try:
            await self.list_tools()
        except MCPError as exc:  # headers are best effort here; the call itself decides
            log.debug("could not list tools for the Mcp-Param headers of %r: %s", name, exc)
        self._tools_listed = True

    async def _request_with_retries(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        timeout: float | None,
        on_progress: ProgressCallback | None,
    ) -> dict[str, Any]:
        retried: set[str] = set()
        while True:
            try:
                return await self._request_once(method, params, timeout, on_progress)
            except StreamLost as exc:
                # 2026-07-28: a broken response stream loses the request; the client MUST send
                # it again as a new request with a new id (digest §2.B.3). Once.
                if "lost" in retried:
                    raise
                retried.add("lost")
                log.info("%s; sending %s again", exc, method)
            except RemoteError as exc:
                if self.era is not Era.MODERN:
                    raise
                if exc.code in UNSUPPORTED_VERSION_CODES and "version" not in retried:
                    # Retry with a mutually supported version (digest §5.B.3). Once.
                    version = pick_version(supported_versions(exc.data), MODERN_VERSIONS)
                    if version is None:
                        raise
                    retried.add("version")
                    log.info(
                        "%s rejected protocol version %s; retrying with %s",
                        method,
                        self.requested_version,
                        version,
                    )
                    self.requested_version = version
                    if self.protocol_version is not None:
                        self.protocol_version = version
                elif (
                    exc.code in HEADER_MISMATCH_CODES
                    and method == "tools/call"
                    and "mcp-param" in exc.message.lower()
                    and "headers" not in retried
                    and getattr(self.transport, "tool_schemas", None) is not None
                ):
                    # Our cached inputSchema is stale: refresh tools/list, retry once (§2.B.5).
                    retried.add("headers")
                    log.info("%s: %s; refreshing tools/list and retrying", method, exc.message)
                    await self.list_tools()
                else:
                    raise

    async def _request_once(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        timeout: float | None,
        on_progress: ProgressCallback | None,
    ) -> dict[str, Any]:
        dispatcher = self._require_open(method)
        return await dispatcher.request(
            method, self._with_envelope(params), timeout=timeout, on_progress=on_progress
        )

    async def notify(self, method: str, params: Mapping[str, Any] | None = None) -> None:
        """Send a notification. Bounded by the client's default timeout (RequestTimeout)."""
        dispatcher = self._require_open(method)
        with anyio.move_on_after(self.timeout) as scope:
            await dispatcher.notify(method, dict(params) if params is not None else None)
        if scope.cancelled_caught:
            raise RequestTimeout(f"{method}: the notification was not accepted within {self.timeout:g} s")

    def _require_open(self, method: str) -> Dispatcher:
        if self.state is not ClientState.OPEN or self._dispatcher is None:
            raise UsageError(
                f"cannot send {method}: the client is {self.state.value} (use 'async with Client(...)')"
            )
        return self._dispatcher

    def _with_envelope(self, params: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if self.era is not Era.MODERN:
            return dict(params) if params is not None else None
        out = dict(params or {})
        out["_meta"] = {
            **(out.get("_meta") or {}),
            META_PROTOCOL_VERSION: self.requested_version,
            META_CLIENT_CAPABILITIES: self.capabilities,
            META_CLIENT_INFO: self.client_info,
        }
        if self.log_level is not None:
            out["_meta"].setdefault(META_LOG_LEVEL, self.log_level)
        return out

    async def _send(self, message: Message, related_to: RequestId | None) -> None:
        if isinstance(message, (Request, Notification)):
            await self.transport.send(message, related_to)
        else:
            # Our answer to a server request: a failure here must not crash the handler task.
            try:
                await self.transport.send(message, related_to)
            except MCPError as exc:
                log.warning("could not send the response to server request %r: %s", message.id, exc)

    async def _request_failed(self, request_id: RequestId, error: Exception) -> None:
        """The transport lost a request (failed POST, dead stream): its caller gets
        ``error`` itself, never something mistakable for the server's answer."""
        if self._dispatcher is not None:
            self._dispatcher.fail(request_id, error)

    async def set_roots(self, roots: Sequence[Mapping[str, Any]]) -> None:
        """Replace the roots served to roots/list and tell the server they changed."""
        self._roots = [dict(r) for r in roots]
        if self.era is Era.LEGACY:
            await self.notify("notifications/roots/list_changed")

    @property
    def channel_state(self) -> ChannelState | None:
        """The HTTP server->client stream's state (None on stdio)."""
        return getattr(self.transport, "state", None)

    # -- the server's requests and notifications -------------------------------------------

    async def _list_roots(self) -> list[dict[str, Any]]:
        return list(self._roots or [])

    async def _notification(self, dispatcher: Dispatcher, message: Notification) -> None:
        params = message.params or {}
        meta = params.get("_meta")
        sid = meta.get(META_SUBSCRIPTION_ID) if isinstance(meta, dict) else None
        if sid is not None:
            if (
                message.method == "notifications/subscriptions/acknowledged"
                and sid not in self._subscriptions
            ):
                if self._unclaimed:
                    subscription = self._unclaimed.pop(0)
                    self._subscriptions[sid] = subscription
                    subscription.acknowledge(sid, params)
            elif sid in self._subscriptions:
                self._subscriptions[sid].deliver(message.method, params)
        if self.on_notification is not None:
            # Contained by the dispatcher, like on_progress: a raising callback is logged.
            await self.on_notification(message.method, params)
