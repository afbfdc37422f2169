"""``Client``: connect to an MCP server over Streamable HTTP or stdio and call it.

    async with Client("http://127.0.0.1:8000/mcp") as client:
        tools = await client.list_tools()
        result = await client.call_tool("add", {"a": 1, "b": 2})

The client is a thin layer over the one shared :class:`~mcp_transport.dispatcher.Dispatcher`,
composed of small parts: a transport that keeps the contract of
:mod:`mcp_transport.transports.contract`, a :class:`~.handshake.Handshake` that decides the
era and holds what was negotiated, a :class:`~.listen.Listener` for ``subscriptions/listen``,
an :class:`~.inputs.InputAnswerer` for MRTR, and the feature calls of
:class:`~.calls.ServerCalls` on top of :meth:`Client.request`. Results are the JSON result
objects as dicts, exactly as the server sent them (list methods return the collected items of
every page).
"""

from __future__ import annotations

import logging
import math
import os
import shlex
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Self

import anyio

from ..dispatcher import Dispatcher, ProgressCallback
from ..errors import RequestTimeout, UsageError
from ..jsonrpc import Notification
from ..protocol import (
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROTOCOL_VERSION,
    Era,
)
from ..recording import Recorder
from ..transports.contract import ChannelState, ClientTransport, MessageTransport
from .answers import RequestHandler, default_capabilities, method_table
from .calls import ServerCalls
from .connection import ClientState, Connection
from .handshake import Handshake, Negotiated
from .inputs import InputAnswerer, InputRequiredError
from .listen import Listener, Subscription, listen_filter
from .retries import RequestRetries
from .transport import HTTPOptions, transport_for

if TYPE_CHECKING:
    import httpx

    from ..transports.http_client.reconnect import ReconnectPolicy, StreamGapCallback

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

# Seconds a request may wait for its response (progress extends it, up to 10x;
# 2025-11-25 basic/lifecycle#timeouts).
DEFAULT_TIMEOUT = 60.0
DEFAULT_CLIENT_INFO: dict[str, Any] = {"name": "mcp_transport", "version": "0.1.0"}
# era="auto": how long the server/discover probe may wait before the server is taken for a
# legacy one that ignores unknown requests (stdio). Covers a slow server start.
DEFAULT_PROBE_TIMEOUT = 10.0
# MRTR (2026-07-28 basic/patterns/mrtr): a server still asking for input after this many
# rounds is an error.
MAX_INPUT_ROUNDS = 10

NotificationCallback = Callable[[str, dict[str, Any]], Awaitable[None]]
"""Called for every server notification other than progress: ``(method, params)``."""


class Client(ServerCalls):
    """An MCP client. ``target`` is a URL (Streamable HTTP), a command list (stdio: the
    server runs as a subprocess), or a transport object.

    ``era="auto"`` (default) probes with a 2026-07-28 ``server/discover`` and speaks the
    modern protocol if the server does, else falls back to the legacy ``initialize``
    handshake (2026-07-28 basic/versioning#backward-compatibility); over HTTP the outcome is
    remembered per server URL for the process. ``era="legacy"`` always runs the
    ``initialize`` handshake; ``era="modern"`` always speaks 2026-07-28, sending the
    ``_meta`` envelope on every request instead.
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
    :class:`~mcp_transport.transports.http_client.reconnect.StreamGap`); the client goes on
    with a fresh stream. A callback that raises (``on_notification``, ``on_progress``,
    ``on_stream_gap``) is logged and ignored: it never fails a call or the client. The HTTP
    options (``headers``, ``auth``, ``http_client``, ``reconnect``, ``on_stream_gap``) and
    the stdio ones (``env``, ``cwd``) are passed to the transport built from ``target``.
    ``record=path`` writes every message in both directions to ``path`` in the format of
    ``mcp-transport record`` (docs/recording.md), so the run can be replayed against another
    server with ``mcp-transport replay``.

    Raises :class:`~mcp_transport.errors.RemoteError` when the server answers with an
    error, :class:`~mcp_transport.errors.RequestTimeout`,
    :class:`~mcp_transport.errors.ConnectionClosed` or another
    :class:`~mcp_transport.errors.TransportError` when no answer is possible,
    :class:`InputRequiredError` when an MRTR request cannot be completed, and
    :class:`~mcp_transport.errors.UsageError` when used outside ``async with``.
    """

    def __init__(
        self,
        target: str | Sequence[str] | MessageTransport,
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
        record: str | os.PathLike[str] | None = None,
    ) -> None:
        # Long because the client has many options (see the class docstring): each line
        # stores one of them or builds one part; there is no logic worth a helper here.
        self.client_info = dict(client_info or DEFAULT_CLIENT_INFO)
        self.timeout = math.inf if timeout is None else timeout
        self.max_input_rounds = max_input_rounds
        self.on_notification = on_notification
        self.log_level = log_level
        self._roots = [dict(r) for r in roots] if roots is not None else None
        self._sampling_handler = sampling_handler
        self._elicitation_handler = elicitation_handler
        self._user_capabilities = dict(capabilities) if capabilities is not None else None
        list_roots = self._list_roots if roots is not None else None
        self.methods = method_table(sampling_handler, elicitation_handler, list_roots)
        self._inputs = InputAnswerer(sampling_handler, elicitation_handler, list_roots)
        http = HTTPOptions(
            headers=headers,
            auth=auth,
            http_client=http_client,
            reconnect=reconnect,
            on_stream_gap=on_stream_gap,
        )
        transport = transport_for(target, http, env=env, cwd=cwd)
        recorder = None
        if record is not None:  # every message both ways, in the format of docs/recording.md
            url = transport.url
            recorder = Recorder(record, transport="http" if url else "stdio", target=url or _describe(target))
        self._connection = Connection(transport, self.methods, self._notification, self.timeout, recorder)
        self._handshake = Handshake(
            Negotiated.initial(era, protocol_version, self._capabilities_for),
            self,
            self._capabilities_for,
            client_info=self.client_info,
            probe_timeout=probe_timeout,
            log_level=log_level,
        )
        self._retries = RequestRetries(self._handshake.state, lambda: self.transport, self.list_tools)
        self._listener = Listener(self._send_listen)
        self._managed = False  # opened by 'async with': __aexit__ exits the task group

    def _capabilities_for(self, era: Era) -> dict[str, Any]:
        if self._user_capabilities is not None:
            return dict(self._user_capabilities)
        return default_capabilities(
            era, self._sampling_handler, self._elicitation_handler, self._roots is not None
        )

    # -- what was negotiated (read-only; the handshake decides) ---------------------------

    @property
    def mode(self) -> str:
        """The era asked for: "auto", "legacy" or "modern"."""
        return self._handshake.state.mode

    @property
    def era(self) -> Era:
        """The era spoken (modern until the auto probe decides)."""
        return self._handshake.state.era

    @property
    def requested_version(self) -> str:
        """The version a modern request names in its ``_meta``."""
        return self._handshake.state.requested_version

    @property
    def protocol_version(self) -> str | None:
        """The version agreed with the server (None before the handshake)."""
        return self._handshake.state.protocol_version

    @property
    def capabilities(self) -> dict[str, Any]:
        """The client capabilities declared for the era spoken."""
        return self._handshake.state.capabilities

    @property
    def server_info(self) -> dict[str, Any]:
        return self._handshake.state.server_info

    @property
    def server_capabilities(self) -> dict[str, Any]:
        return self._handshake.state.server_capabilities

    @property
    def instructions(self) -> str | None:
        return self._handshake.state.instructions

    @property
    def transport(self) -> ClientTransport:
        """The transport in use (it changes once if the HTTP+SSE fallback is taken)."""
        return self._connection.transport

    @property
    def state(self) -> ClientState:
        return self._connection.state

    @property
    def channel_state(self) -> ChannelState | None:
        """The HTTP server->client stream's state (None on stdio)."""
        return self.transport.channel_state

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._managed = True
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
        await self._connection.exit_task_group()

    async def open(self) -> None:
        """Start the transport and run the handshake. ``async with`` calls it for you.
        Without ``async with``, call :meth:`aclose` from the task that opened the client
        (it owns a task group)."""
        await self._connection.open(self._handshake.run)

    async def aclose(self) -> None:
        """Close the connection: every pending request fails with ConnectionClosed, the
        transport shuts down (HTTP: DELETE the session; stdio: stop the process). Idempotent,
        and safe to call inside ``async with`` from any nesting depth."""
        await self._connection.close()
        if not self._managed:
            await self._connection.exit_task_group()

    async def _replace_transport(self, new: ClientTransport) -> None:
        await self._connection.replace_transport(new)

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
            return await self._retries.run(method, params, self._sender(timeout, on_progress))
        if method == "tools/call":
            await self._retries.ensure_tool_schema(params)
        base = dict(params or {})
        round_params = base
        for _ in range(self.max_input_rounds + 1):
            result = await self._retries.run(method, round_params, self._sender(timeout, on_progress))
            result_type = result.get("resultType", "complete")
            if result_type == "complete":
                return result
            if result_type != "input_required":
                raise InputRequiredError(
                    f"{method}: unknown resultType {result_type!r} in the server's result"
                )
            round_params = {**base, **await self._inputs.fulfil(method, result)}
        raise InputRequiredError(
            f"{method}: the server still requires input after {self.max_input_rounds} rounds"
        )

    def _sender(
        self, timeout: float | None, on_progress: ProgressCallback | None
    ) -> Callable[[str, Mapping[str, Any] | None], Awaitable[dict[str, Any]]]:
        async def send(method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
            return await self._request_once(method, params, timeout, on_progress)

        return send

    def _listed_tools(self, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self._retries.listed_tools(tools)

    async def _request_once(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        timeout: float | None,
        on_progress: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        dispatcher = self._connection.require_open(method)
        return await dispatcher.request(
            method, self._with_envelope(params), timeout=timeout, on_progress=on_progress
        )

    async def notify(self, method: str, params: Mapping[str, Any] | None = None) -> None:
        """Send a notification. Bounded by the client's default timeout (RequestTimeout)."""
        dispatcher = self._connection.require_open(method)
        with anyio.move_on_after(self.timeout) as scope:
            await dispatcher.notify(method, dict(params) if params is not None else None)
        if scope.cancelled_caught:
            raise RequestTimeout(f"{method}: the notification was not accepted within {self.timeout:g} s")

    def _with_envelope(self, params: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if self.era is not Era.MODERN:
            return dict(params) if params is not None else None
        out = dict(params or {})
        meta = {
            **(out.get("_meta") or {}),
            META_PROTOCOL_VERSION: self.requested_version,
            META_CLIENT_CAPABILITIES: self.capabilities,
            META_CLIENT_INFO: self.client_info,
        }
        if self.log_level is not None:
            meta.setdefault(META_LOG_LEVEL, self.log_level)
        out["_meta"] = meta
        return out

    async def set_roots(self, roots: Sequence[Mapping[str, Any]]) -> None:
        """Replace the roots served to roots/list and tell the server they changed."""
        self._roots = [dict(r) for r in roots]
        if self.era is Era.LEGACY:
            await self.notify("notifications/roots/list_changed")

    # -- subscriptions/listen ----------------------------------------------------------------

    @asynccontextmanager
    async def listen(
        self,
        *,
        tools_list_changed: bool = False,
        prompts_list_changed: bool = False,
        resources_list_changed: bool = False,
        resource_subscriptions: Sequence[str] | None = None,
        notifications: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Subscription]:
        """Open a ``subscriptions/listen`` (2026-07-28 basic/patterns/subscriptions) and yield
        its :class:`~.listen.Subscription` once the server acknowledged it; leaving the block
        ends it (HTTP: the stream closes; stdio: notifications/cancelled). ``notifications``
        is the raw filter, for keys this method does not name.

            async with client.listen(tools_list_changed=True) as subscription:
                async for method, params in subscription:
                    ...
        """
        if self.era is not Era.MODERN:
            raise UsageError(
                "subscriptions/listen is a 2026-07-28 request; legacy servers send changes to on_notification"
            )
        task_group = self._connection.task_group
        if task_group is None:
            raise UsageError("cannot listen: the client is not open")
        flags = {
            "toolsListChanged": tools_list_changed,
            "promptsListChanged": prompts_list_changed,
            "resourcesListChanged": resources_list_changed,
        }
        resources = list(resource_subscriptions) if resource_subscriptions else None
        wanted = listen_filter(notifications, flags, resources)
        async with self._listener.open(wanted, task_group, self.timeout) as subscription:
            yield subscription

    async def _send_listen(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return await self._request_once("subscriptions/listen", params, math.inf)

    # -- the server's requests and notifications -------------------------------------------

    async def _list_roots(self) -> list[dict[str, Any]]:
        return list(self._roots or [])

    async def _notification(self, dispatcher: Dispatcher, message: Notification) -> None:
        params = message.params or {}
        self._listener.route(message.method, params)
        if self.on_notification is not None:
            # Contained by the dispatcher, like on_progress: a raising callback is logged.
            await self.on_notification(message.method, params)


def _describe(target: object) -> str:
    """A stdio command (or a user transport) as the recording's ``target``."""
    if isinstance(target, str):
        return target
    if isinstance(target, Sequence):
        return shlex.join(str(word) for word in target)
    return type(target).__name__
