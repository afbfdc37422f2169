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

import contextvars
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
    UnsupportedProtocolVersion,
    UsageError,
)
from ..jsonrpc import (
    INTERNAL_ERROR,
    ErrorObject,
    ErrorResponse,
    Message,
    Notification,
    Request,
    RequestId,
)
from ..protocol import (
    LATEST_LEGACY_VERSION,
    LATEST_VERSION,
    LEGACY_VERSIONS,
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROTOCOL_VERSION,
    META_SERVER_INFO,
    MODERN_VERSIONS,
    Era,
)
from .calls import ServerCalls
from .handlers import RequestHandler, default_capabilities, method_table
from .transport import StreamLost, Transport, transport_for

if TYPE_CHECKING:
    import httpx

    from .reconnect import ChannelState, ReconnectPolicy

__all__ = [
    "DEFAULT_CLIENT_INFO",
    "DEFAULT_TIMEOUT",
    "Client",
    "ClientState",
    "NotificationCallback",
]

log = logging.getLogger("mcp_transport.client")

# Seconds a request may wait for its response (progress extends it, up to 10x; digest §4.7).
DEFAULT_TIMEOUT = 60.0
DEFAULT_CLIENT_INFO: dict[str, Any] = {"name": "mcp_transport", "version": "0.1.0"}

NotificationCallback = Callable[[str, dict[str, Any]], Awaitable[None]]
"""Called for every server notification other than progress: ``(method, params)``."""


class ClientState(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


class _Call:
    """One outbound request made through :meth:`Client.request`: its id once sent, and a
    local failure the transport reported for it (a failed POST, a dead stream)."""

    __slots__ = ("error", "id")

    def __init__(self) -> None:
        self.id: RequestId | None = None
        self.error: Exception | None = None


# The call being made by the current task: lets send() learn the id the dispatcher allocated.
_CURRENT_CALL: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("mcp_transport_call", default=None)


class Client(ServerCalls):
    """An MCP client. ``target`` is a URL (Streamable HTTP), a command list (stdio: the
    server runs as a subprocess), or a transport object.

    ``era="legacy"`` (default) runs the ``initialize`` handshake; ``era="modern"`` speaks
    2026-07-28, sending the ``_meta`` envelope on every request instead. ``timeout`` is the
    default per-request timeout in seconds (None disables it). Handlers answer the server's
    requests: ``sampling_handler`` (sampling/createMessage), ``elicitation_handler``
    (elicitation/create; schema defaults fill missing fields of an accepted answer) and
    ``roots`` (roots/list); each one given is declared in the client capabilities.
    ``on_notification(method, params)`` sees the server's notifications (log messages with
    ``notifications/message``; ``log_level`` asks for them: logging/setLevel after a legacy
    handshake, the ``_meta`` logLevel on modern requests). The HTTP
    options (``headers``, ``auth``, ``http_client``, ``reconnect``) and the stdio ones
    (``env``, ``cwd``) are passed to the transport built from ``target``.

    Raises :class:`~mcp_transport.errors.RemoteError` when the server answers with an
    error, :class:`~mcp_transport.errors.RequestTimeout`,
    :class:`~mcp_transport.errors.ConnectionClosed` or another
    :class:`~mcp_transport.errors.TransportError` when no answer is possible, and
    :class:`~mcp_transport.errors.UsageError` when used outside ``async with``.
    """

    def __init__(
        self,
        target: str | Sequence[str] | Transport,
        *,
        era: str = "legacy",
        protocol_version: str | None = None,
        client_info: Mapping[str, Any] | None = None,
        capabilities: Mapping[str, Any] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        sampling_handler: RequestHandler | None = None,
        elicitation_handler: RequestHandler | None = None,
        roots: Sequence[Mapping[str, Any]] | None = None,
        on_notification: NotificationCallback | None = None,
        log_level: str | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        http_client: httpx.AsyncClient | None = None,
        reconnect: ReconnectPolicy | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        if era not in ("legacy", "modern"):
            # "auto" (probe server/discover, fall back to initialize) plugs into _handshake.
            raise ValueError(f"era must be 'legacy' or 'modern', not {era!r}")
        self.era = Era(era)
        known = MODERN_VERSIONS if self.era is Era.MODERN else LEGACY_VERSIONS
        if protocol_version is not None and protocol_version not in known:
            raise ValueError(f"protocol_version {protocol_version!r} is not a {era} version ({', '.join(known)})")
        self.requested_version = protocol_version or (LATEST_VERSION if self.era is Era.MODERN else LATEST_LEGACY_VERSION)
        self.client_info = dict(client_info or DEFAULT_CLIENT_INFO)
        self.timeout = math.inf if timeout is None else timeout
        self.on_notification = on_notification
        self.log_level = log_level
        self._roots = [dict(r) for r in roots] if roots is not None else None
        if capabilities is None:
            capabilities = default_capabilities(self.era, sampling_handler, elicitation_handler, self._roots is not None)
        self.capabilities = dict(capabilities)
        self.methods = method_table(sampling_handler, elicitation_handler, self._list_roots if roots is not None else None)
        self.transport: Transport = transport_for(
            target, headers=headers, auth=auth, http_client=http_client, reconnect=reconnect, env=env, cwd=cwd
        )
        self.state = ClientState.UNOPENED
        # What the server told us (initialize result, or server/discover when modern).
        self.protocol_version: str | None = None
        self.server_info: dict[str, Any] = {}
        self.server_capabilities: dict[str, Any] = {}
        self.instructions: str | None = None
        self._dispatcher: Dispatcher | None = None
        self._stack: AsyncExitStack | None = None
        self._task_group: TaskGroup | None = None
        self._calls: dict[RequestId, _Call] = {}
        self._managed = False  # opened by 'async with': __aexit__ exits the task group

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
                self.methods, self._send, self._task_group,
                on_notification=self._notification, default_timeout=self.timeout,
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

    async def _handshake(self) -> None:
        """Legacy: initialize + notifications/initialized. Modern: server/discover.
        Also re-run by the HTTP transport when the server forgot the session (404)."""
        if self.era is Era.MODERN:
            self.protocol_version = self.requested_version
            result = await self.request("server/discover")
            self.server_capabilities = result.get("capabilities") or {}
            self.server_info = (result.get("_meta") or {}).get(META_SERVER_INFO) or {}
            self.instructions = result.get("instructions")
            return
        params = {"protocolVersion": self.requested_version, "capabilities": self.capabilities, "clientInfo": self.client_info}
        result = await self.request("initialize", params)
        version = result.get("protocolVersion")
        if version not in LEGACY_VERSIONS:
            raise UnsupportedProtocolVersion(
                f"the server chose protocol version {version!r}, which this client does not speak",
                {"supported": list(LEGACY_VERSIONS), "requested": self.requested_version},
            )
        self.protocol_version = version
        self.server_capabilities = result.get("capabilities") or {}
        self.server_info = result.get("serverInfo") or {}
        self.instructions = result.get("instructions")
        # HTTP: MCP-Protocol-Version goes on everything after initialize, the initialized
        # notification included (digest §2.A.7); then the GET stream may open.
        session_ready = getattr(self.transport, "session_ready", None)
        if session_ready is not None:
            self.transport.protocol_version = version  # type: ignore[attr-defined]
        await self.notify("notifications/initialized")
        if session_ready is not None:
            await session_ready(version)
        if self.log_level is not None and "logging" in self.server_capabilities:
            await self.set_logging_level(self.log_level)

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
        message)`` receives the server's progress notifications."""
        try:
            return await self._request_once(method, params, timeout, on_progress)
        except StreamLost as exc:
            # 2026-07-28: a broken response stream loses the request; the client MUST send it
            # again as a new request with a new id (digest §2.B.3). Once.
            log.info("%s; sending %s again", exc, method)
            return await self._request_once(method, params, timeout, on_progress)

    async def _request_once(
        self, method: str, params: Mapping[str, Any] | None, timeout: float | None, on_progress: ProgressCallback | None
    ) -> dict[str, Any]:
        dispatcher = self._require_open(method)
        call = _Call()
        token = _CURRENT_CALL.set(call)
        try:
            return await dispatcher.request(method, self._with_envelope(params), timeout=timeout, on_progress=on_progress)
        except RemoteError:
            if call.error is not None:
                raise call.error from None
            raise
        finally:
            _CURRENT_CALL.reset(token)
            if call.id is not None:
                self._calls.pop(call.id, None)

    async def notify(self, method: str, params: Mapping[str, Any] | None = None) -> None:
        """Send a notification. Bounded by the client's default timeout (RequestTimeout)."""
        dispatcher = self._require_open(method)
        with anyio.move_on_after(self.timeout) as scope:
            await dispatcher.notify(method, dict(params) if params is not None else None)
        if scope.cancelled_caught:
            raise RequestTimeout(f"{method}: the notification was not accepted within {self.timeout:g} s")

    def _require_open(self, method: str) -> Dispatcher:
        if self.state is not ClientState.OPEN or self._dispatcher is None:
            raise UsageError(f"cannot send {method}: the client is {self.state.value} (use 'async with Client(...)')")
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
        if isinstance(message, Request):
            call = _CURRENT_CALL.get()
            if call is not None and call.id is None:
                call.id = message.id
                self._calls[message.id] = call
            await self.transport.send(message, related_to)
        elif isinstance(message, Notification):
            await self.transport.send(message, related_to)
        else:
            # Our answer to a server request: a failure here must not crash the handler task.
            try:
                await self.transport.send(message, related_to)
            except MCPError as exc:
                log.warning("could not send the response to server request %r: %s", message.id, exc)

    async def _request_failed(self, request_id: RequestId, error: Exception) -> None:
        """The transport lost a request (failed POST, dead stream): fail that call with
        ``error``. It travels through the dispatcher as an error response, and request()
        re-raises the local error, so it is never mistaken for the server's answer."""
        call = self._calls.get(request_id)
        if call is None or self._dispatcher is None:
            return
        call.error = error
        await self._dispatcher.receive(ErrorResponse(request_id, ErrorObject(INTERNAL_ERROR, str(error))))

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
        if self.on_notification is None:
            return
        try:
            await self.on_notification(message.method, message.params or {})
        except Exception:  # a faulty callback must not kill the reader
            log.exception("on_notification failed for %s", message.method)
