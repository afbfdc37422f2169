"""The Streamable HTTP client transport (2025-11-25 basic/transports#streamable-http and
2026-07-28 basic/transports/streamable-http), on httpx.

It keeps the whole :class:`~mcp_transport.transports.contract.ClientTransport` contract: the
session id, the negotiated version header, the GET stream's state, the tool schemas the
``Mcp-Param-*`` headers come from, and the HTTP+SSE fallback. Every outgoing message is its
own POST. A request's POST runs in its own task (an *exchange*): the answer comes back
as JSON or as an SSE stream, and every message in it goes to ``receive``. Notifications and
responses are POSTed inline and answered with 202.

Never hang: an exchange that cannot deliver its answer reports a typed error through
``on_request_failed``; the dispatcher's timeout bounds everything else. Recover: a stream
that ends before the answer is followed by :mod:`.resume`; a 404 on a live session
re-initializes (``on_session_expired``) and retries the request once. Be cheap: every
response is read to the end so its connection is reused.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import httpx
from anyio.abc import TaskGroup

from ... import jsonrpc
from ...errors import ConnectionClosed, MCPError, SessionNotFound, TransportError
from ...jsonrpc import (
    Message,
    Notification,
    Request,
    RequestId,
)
from ...protocol import claims_modern
from ..contract import ChannelState, ClientTransport, Receive, RequestFailed, SessionExpired, StreamLost
from ..http.headers import invalid_header_annotations, request_headers
from .http_errors import map_httpx_error, status_error
from .legacy_sse import LegacySSETransport
from .reconnect import (
    ReconnectPolicy,
    StreamGapCallback,
)
from .resume import StreamBroke, StreamFollower
from .sse_parser import SSEParser
from .wire import content_type, deliver

__all__ = ["DEFAULT_HTTP_TIMEOUT", "DELETE_TIMEOUT", "HTTPTransport"]

log = logging.getLogger("mcp_transport.client.http")

# No read limit on a request's own stream beyond this: the dispatcher's per-request timeout
# is the real bound, and a long tool call may be silent for minutes. A stream silent for
# longer than this is presumed dead and resumed.
DEFAULT_HTTP_TIMEOUT = httpx.Timeout(30.0, read=300.0)
# Notifications and responses are answered with 202 at once; a server slower than this is
# treated as unresponsive.
ONE_WAY_TIMEOUT = httpx.Timeout(30.0)
# close() waits at most this long for the session DELETE, which a client SHOULD send
# (2025-11-25 basic/transports#session-management).
DELETE_TIMEOUT = 2.0
_ACCEPT_BOTH = "application/json, text/event-stream"


class HTTPTransport:
    """A Streamable HTTP connection to one MCP endpoint.

    Implements :class:`~mcp_transport.transports.contract.ClientTransport`. ``state`` is the
    server->client GET stream's :class:`ChannelState`. ``session_id`` and ``protocol_version``
    are sent on every request once known. ``http_client`` lets tests
    use ``httpx.ASGITransport``; ``headers`` and ``auth`` are added to every request.
    ``reconnect`` governs every resume; ``on_stream_gap(StreamGap)`` hears of messages the
    GET stream lost for good (see :mod:`.reconnect`).
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        http_client: httpx.AsyncClient | None = None,
        reconnect: ReconnectPolicy | None = None,
        timeout: httpx.Timeout = DEFAULT_HTTP_TIMEOUT,
        delete_timeout: float = DELETE_TIMEOUT,
        open_get_stream: bool = True,
        on_stream_gap: StreamGapCallback | None = None,
    ) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self.auth = auth
        self.reconnect = reconnect or ReconnectPolicy()
        self.timeout = timeout
        self.delete_timeout = delete_timeout
        self.open_get_stream = open_get_stream
        self.session_id: str | None = None
        self.protocol_version: str | None = None
        self.state = ChannelState.NONE
        # Tool input schemas (from tools/list) for the modern Mcp-Param-* headers.
        self.tool_schemas: dict[str, Any] = {}
        # Bound by Client: fail one request with a local error; re-run the handshake.
        self.on_request_failed: RequestFailed | None = None
        self.on_session_expired: SessionExpired | None = None
        # The application's: told when the GET stream lost messages (contained if it raises).
        self.on_stream_gap = on_stream_gap
        self._http = http_client
        self._owns_http = http_client is None
        self._streams: StreamFollower | None = None  # from start(): where messages go
        self._task_group: TaskGroup | None = None
        self._exchanges: dict[
            RequestId, tuple[anyio.CancelScope, bool, str]
        ] = {}  # id -> (scope, modern, method)
        self._listener: anyio.CancelScope | None = None
        self._renew_lock = anyio.Lock()
        self.closed = False

    # -- the transport contract ------------------------------------------------------------

    legacy_sse = False
    uses_tool_schemas = True

    @property
    def channel_state(self) -> ChannelState:
        return self.state

    def bind(self, on_request_failed: RequestFailed, on_session_expired: SessionExpired) -> None:
        self.on_request_failed = on_request_failed
        self.on_session_expired = on_session_expired

    def negotiated(self, protocol_version: str) -> None:
        # MCP-Protocol-Version goes on everything after initialize, the initialized
        # notification included (2025-11-25 basic/transports#protocol-version-header).
        self.protocol_version = protocol_version

    def reset_session(self) -> None:
        self.session_id = None
        self.protocol_version = None

    def tool_schema_missing(self, name: str) -> bool:
        return name not in self.tool_schemas

    def learn_tools(self, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.tool_schemas.clear()  # a full listing replaces what we knew
        valid = []
        for tool in tools:
            problems = invalid_header_annotations(tool.get("inputSchema") or {})
            if problems:
                log.warning("dropping tool %r: %s", tool.get("name"), "; ".join(problems))
                continue
            if isinstance(name := tool.get("name"), str):
                self.tool_schemas[name] = tool.get("inputSchema") or {}
            valid.append(tool)
        return valid

    def legacy_fallback(self) -> ClientTransport:
        """The same URL, headers and auth over HTTP+SSE (the caller's http_client if given)."""
        shared = None if self._owns_http else self._http
        return LegacySSETransport(self.url, headers=self.headers, auth=self.auth, http_client=shared)

    async def start(self, receive: Receive, task_group: TaskGroup, on_closed: Callable[[str], None]) -> None:
        """Remember where server messages go and where exchanges run. Nothing is sent until
        the first message: HTTP has no connection to open up front."""
        self._streams = StreamFollower(self, receive, self.reconnect, self.on_stream_gap)
        self._task_group = task_group
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.timeout)

    async def send(self, message: Message, related_to: RequestId | None = None) -> None:
        """A request starts an exchange task and returns; a notification or a response is
        POSTed before returning (raises a TransportError subclass if it is refused)."""
        if self.closed or self._task_group is None:
            raise ConnectionClosed("the HTTP transport is closed")
        if isinstance(message, Request):
            modern = claims_modern(message)
            scope = anyio.CancelScope()
            self._exchanges[message.id] = (scope, modern, message.method)
            self._task_group.start_soon(self._run_exchange, message, scope)
        elif isinstance(message, Notification) and message.method == "notifications/cancelled":
            await self._cancel((message.params or {}).get("requestId"), message)
        else:
            await self._post_one_way(message)

    async def session_ready(self) -> None:
        """The handshake finished: open the GET stream for server-initiated messages (if the
        server offers one)."""
        if self.open_get_stream and self._task_group is not None and not self.closed:
            if self._listener is not None:
                self._listener.cancel()
            self._listener = anyio.CancelScope()
            self._task_group.start_soon(self._follower().listen, self._listener)

    async def close(self) -> None:
        """Stop every stream, DELETE the session (bounded), release the connections."""
        if self.closed:
            return
        self.closed = True
        self.state = ChannelState.CLOSED
        if self._listener is not None:
            self._listener.cancel()
        for scope, _, _ in list(self._exchanges.values()):
            scope.cancel()
        http = self._http
        if http is None:
            return
        with anyio.CancelScope(shield=True):
            if self.session_id is not None:
                with anyio.move_on_after(self.delete_timeout):
                    try:
                        await http.delete(
                            self.url,
                            headers=self._headers(None),
                            auth=self._auth(),
                            timeout=self.delete_timeout,
                        )
                    except httpx.HTTPError as exc:
                        log.debug("session DELETE failed: %s", exc)
            if self._owns_http:
                await http.aclose()

    # -- requests --------------------------------------------------------------------------

    async def _run_exchange(self, request: Request, scope: anyio.CancelScope) -> None:
        try:
            with scope:
                await self._exchange(request)
        except MCPError as exc:
            await self._fail(request.id, exc)
        except Exception as exc:  # never let a bug hang the caller
            log.exception("HTTP exchange for %s failed", request.method)
            await self._fail(request.id, TransportError(f"{request.method}: {type(exc).__name__}: {exc}"))
        finally:
            self._exchanges.pop(request.id, None)

    async def _fail(self, request_id: RequestId, error: Exception) -> None:
        if self.on_request_failed is not None:
            await self.on_request_failed(request_id, error)

    async def _exchange(self, request: Request) -> None:
        """POST one request and deliver its answer; one transparent retry after a 404 on a
        live session (2025-11-25 basic/transports#session-management: the client MUST start a
        new session)."""
        body = jsonrpc.dump(request)
        for attempt in (1, 2):
            session = self.session_id
            async with self._open("POST", self._headers(request), body, f"POST {request.method}") as response:
                self._note_session(response, request)
                if response.status_code == 404 and session is not None and attempt == 1:
                    await response.aread()
                else:
                    await self._answer(request, response)
                    return
            await self._renew_session(session)

    async def _answer(self, request: Request, response: httpx.Response) -> None:
        media_type = content_type(response)
        if response.status_code >= 400 or response.status_code == 202:
            await response.aread()
            raise self.status_error(response, request.method)
        if media_type == "application/json":
            body = await response.aread()
            if not (await deliver(body, self._follower().receive, request.id))[1]:
                raise ConnectionClosed(
                    f"{request.method}: the JSON response did not answer request {request.id!r}"
                )
        elif media_type == "text/event-stream":
            parser = SSEParser()
            try:
                await self._follower().consume(response, parser, request.id)
            except StreamBroke:
                if claims_modern(request):
                    # 2026-07-28: no resumption; the request is lost (basic/transports/streamable-http).
                    raise StreamLost(
                        f"{request.method}: the response stream ended before the response"
                    ) from None
                if parser.last_event_id is None:
                    raise ConnectionClosed(
                        f"{request.method}: the response stream ended before the response, and the server "
                        "gave no event id to resume from"
                    ) from None
                await self._follower().follow(parser, request.id, f"resume {request.method}")
        else:
            await response.aread()
            error = TransportError(
                f"{request.method}: unexpected Content-Type {media_type!r} (HTTP {response.status_code})"
            )
            error.status = response.status_code
            raise error

    async def _renew_session(self, stale_session: str | None) -> None:
        async with self._renew_lock:
            if self.session_id != stale_session:
                return  # another request already renewed it
            if self.on_session_expired is None:
                raise SessionNotFound(f"the server no longer knows session {stale_session!r}")
            log.info("session %s expired on the server; re-initializing", stale_session)
            self.session_id = None
            self.protocol_version = None
            if self._listener is not None:
                self._listener.cancel()
                self._listener = None
            try:
                await self.on_session_expired()
            except MCPError as exc:
                raise SessionNotFound(
                    f"the server no longer knows the session, and re-initializing failed: {exc}"
                ) from exc

    # -- one-way messages ------------------------------------------------------------------

    async def _post_one_way(self, message: Message) -> None:
        """POST a notification or a response; the server answers 202."""
        what = f"POST {getattr(message, 'method', 'response')}"
        async with self._open(
            "POST", self._headers(message), jsonrpc.dump(message), what, ONE_WAY_TIMEOUT
        ) as response:
            await response.aread()
            if response.status_code >= 400:
                raise self.status_error(response, what)

    async def _cancel(self, request_id: Any, message: Notification) -> None:
        entry = self._exchanges.get(request_id) if type(request_id) in (str, int) else None
        if entry is not None:
            entry[0].cancel()  # stop reading: we no longer want the answer
        if entry is not None and entry[1]:
            return  # 2026-07-28 basic/transports/streamable-http: closing the stream *is* the cancellation
        if entry is not None and entry[2] == "initialize":
            return  # 2025-11-25 basic/utilities/cancellation: never initialize; just stop waiting
        # Legacy: POST notifications/cancelled in the background, so a server that stopped
        # answering cannot delay the caller's timeout.
        if self._task_group is not None and not self.closed:
            self._task_group.start_soon(self._post_quietly, message)

    async def _post_quietly(self, message: Message) -> None:
        if self.closed:
            return
        try:
            with anyio.fail_after(self.delete_timeout * 5):
                await self._post_one_way(message)
        except (MCPError, TimeoutError) as exc:
            log.debug("could not deliver %s: %s", getattr(message, "method", "message"), exc)

    # -- the server->client stream ---------------------------------------------------------

    # -- helpers ---------------------------------------------------------------------------

    @asynccontextmanager
    async def _open(
        self,
        method: str,
        headers: dict[str, str],
        body: bytes | None,
        what: str,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> AsyncIterator[httpx.Response]:
        if self.closed or self._http is None or self._http.is_closed:
            raise ConnectionClosed(f"{what}: the HTTP transport is closed")
        try:
            async with self._http.stream(
                method, self.url, headers=headers, content=body, auth=self._auth(), timeout=timeout
            ) as response:
                yield response
        except httpx.HTTPError as exc:
            raise map_httpx_error(exc, f"{what} {self.url}") from exc

    def _follower(self) -> StreamFollower:
        assert self._streams is not None, "start() runs before any exchange"
        return self._streams

    def open_get(self, last_event_id: str | None, what: str) -> AbstractAsyncContextManager[httpx.Response]:
        headers = self._headers(None, accept="text/event-stream")
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        return self._open("GET", headers, None, what)

    def _auth(self) -> Any:
        return self.auth if self.auth is not None else httpx.USE_CLIENT_DEFAULT

    def _headers(self, message: Message | None, accept: str = _ACCEPT_BOTH) -> dict[str, str]:
        headers = {**self.headers, "Accept": accept}
        if message is not None:
            headers["Content-Type"] = "application/json"
        if self.session_id is not None:
            headers["Mcp-Session-Id"] = self.session_id
        if self.protocol_version is not None:
            headers["MCP-Protocol-Version"] = self.protocol_version
        if isinstance(message, (Request, Notification)):
            headers["Mcp-Method"] = message.method  # on every POST (SEP-2243; harmless to legacy servers)
        if isinstance(message, Request) and claims_modern(message):
            params = message.params or {}
            name = params.get("name") if message.method == "tools/call" else None
            schema = self.tool_schemas.get(name) if isinstance(name, str) else None
            headers.update(request_headers(message.method, params, schema))
        return headers

    def _note_session(self, response: httpx.Response, request: Request) -> None:
        if claims_modern(request):
            return  # 2026-07-28 has no sessions: a stray Mcp-Session-Id is ignored
        session = response.headers.get("mcp-session-id")
        if session and (request.method == "initialize" or self.session_id is None):
            self.session_id = session

    def status_error(self, response: httpx.Response, what: str) -> MCPError:
        return status_error(response, what, self.url, self.session_id)
