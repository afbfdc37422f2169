"""Streamable HTTP server: one MCP endpoint (``/mcp`` and ``/mcp/``, never a redirect) as a
lean pure-ASGI app, a FastAPI router that hands requests to it, and :func:`run_http`.

    app = FastAPI()
    app.include_router(mcp_router(server))            # POST/GET/DELETE /mcp
    # or standalone:
    run_http(server, host="127.0.0.1", port=8000)     # uvicorn, uvloop + httptools

Both eras share the endpoint, chosen per POST by :func:`classify_post`. This module is the
legacy (2025-era) session leg (digest §2.A): ``initialize`` mints an ``Mcp-Session-Id``;
POSTs are answered with JSON or SSE (setting ``response_mode``); GET opens the session's
standalone stream (a newer GET takes it over); DELETE ends the session. 2026-07-28
requests are answered statelessly by :mod:`.http_modern`; GET and DELETE without a
session id are 405 (``Allow: POST``), as on a modern-only server.

Session state lives behind the protocols of :mod:`mcp_transport.state`: the SessionStore
holds sessions, the EventLog holds every SSE stream (writers append, responses tail it,
``Last-Event-ID`` resumes it), the Bus routes a client's POSTed responses to the waiting
dispatcher. The JSON fast path runs the handler inline, with no task and no log write.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import logging
import math
import secrets
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from .. import jsonrpc
from ..errors import ConnectionClosed, InvalidRequest, ResumeGap, RPCError, ServerOverloaded, SessionNotFound
from ..jsonrpc import ErrorResponse, InvalidMessage, Message, Notification, Request, RequestId, Result
from ..protocol import (
    DEFAULT_HTTP_VERSION,
    LEGACY_VERSIONS,
    META_PROTOCOL_VERSION,
    MODERN_VERSIONS,
    LifecycleState,
    allows_batch,
)
from ..security import DEFAULT_MAX_BODY_BYTES, OriginPolicy, read_body
from ..state.events import EventLog, format_event_id, parse_event_id
from ..state.memory import MemoryBus, MemoryEventLog, MemorySessionStore
from ..state.sessions import SessionStore, new_session_id
from . import sse
from .http_common import (
    HTTPError,
    Receive,
    Scope,
    Send,
    accepted_types,
    check_post_headers,
    send_empty,
    send_error,
    send_json,
)
from .http_modern import ModernLeg

if TYPE_CHECKING:
    from fastapi import APIRouter

    from ..server.context import ServerConnection
    from ..server.mcpserver import MCPServer
    from ..state.bus import Bus

__all__ = [
    "DEFAULT_INIT_TIMEOUT",
    "DEFAULT_MAX_SESSIONS",
    "DEFAULT_SESSION_IDLE_TIMEOUT",
    "Leg",
    "StreamableHTTP",
    "classify_post",
    "http_app",
    "mcp_router",
    "run_http",
]

log = logging.getLogger("mcp_transport.http")

# Session bounds (anyone who never sends DELETE must not leak memory; anchors §7 item 2).
DEFAULT_SESSION_IDLE_TIMEOUT = 30 * 60.0  # from the end of the last in-flight request
DEFAULT_MAX_SESSIONS = 10_000  # then 503 + Retry-After (the official SDK's cap since PR #3395)
DEFAULT_INIT_TIMEOUT = 60.0  # a session that never completes initialize
DEFAULT_RETRY_AFTER = 5  # seconds, on 503
# In "sse" mode a handler that answers within this time gets a one-shot SSE body written in
# one go (no log, no stream); a slower one gets a logged, resumable, keepalive'd stream.
_SSE_FAST_WINDOW = 0.02

_SESSION_HEADER = "mcp-session-id"


def _session_not_found() -> HTTPError:
    return HTTPError(404, SessionNotFound(
        "Session not found: it expired, was deleted, or never existed; "
        "send a new initialize without Mcp-Session-Id"
    ))


class Leg(enum.Enum):
    LEGACY = "legacy"
    MODERN = "modern"


def classify_post(headers: dict[str, str], message: Message | list[Message], *, live_session: bool = False) -> Leg:
    """The one place that decides which leg serves a POST (digest §2.B.9): the body first,
    the header as a cross-check.

    * a request whose ``params._meta`` carries a protocol version is modern, whatever
      ``Mcp-Session-Id`` it also carries (a malformed envelope is then refused by the modern
      leg, never served as legacy);
    * ``initialize`` without that claim is legacy;
    * otherwise an ``MCP-Protocol-Version`` header naming 2026-07-28 or a version we do not
      know makes it modern, unless it belongs to a live legacy session (``live_session``);
      the official suite sends such requests without ``_meta`` and expects the modern 400;
    * a batch with any modern element is modern (and refused); anything else (no claim, a
      legacy header, responses) is legacy.
    """
    if isinstance(message, list):  # batches exist only in 2025-03-26; the modern leg refuses them
        return Leg.MODERN if any(_claims_modern_body(m) for m in message) else Leg.LEGACY
    if isinstance(message, Request):
        if _claims_modern_body(message):
            return Leg.MODERN
        if message.method == "initialize":
            return Leg.LEGACY
    elif not isinstance(message, Notification):
        return Leg.LEGACY
    if claims_modern_header(headers) and not live_session:
        return Leg.MODERN
    return Leg.LEGACY


def _claims_modern_body(message: Message) -> bool:
    params = message.params if isinstance(message, (Request, Notification)) else None
    meta = params.get("_meta") if params is not None else None
    return isinstance(meta, dict) and META_PROTOCOL_VERSION in meta


def claims_modern_header(headers: dict[str, str]) -> bool:
    """Whether ``MCP-Protocol-Version`` names a version that is not a 2025-era one."""
    version = headers.get("mcp-protocol-version")
    return version is not None and version.strip(" \t") not in LEGACY_VERSIONS


# -- per-session state ----------------------------------------------------------------------


class _Post:
    """A POSTed request being answered: where its related messages go."""

    __slots__ = ("accept_sse", "cut", "done", "response", "send", "stream_id")

    def __init__(self, accept_sse: bool, send: Send) -> None:
        self.accept_sse = accept_sse
        self.done: anyio.Event | None = None  # created with the stream: its tailer finished the response
        self.send = send  # the HTTP response (the handler runs in the request's task)
        self.response: Result | ErrorResponse | None = None
        self.stream_id: str | None = None
        self.cut = False  # the handler asked to end the HTTP response early (polling)


class _Session:
    """One legacy session on this worker. Small, slotted and cycle-free: the dispatcher
    reaches back only through a weak reference (see :class:`_Link`)."""

    __slots__ = (
        "__weakref__",
        "busy",
        "connection",
        "created",
        "dispatcher",
        "get_delivered",
        "get_stream",
        "id",
        "last_active",
        "posts",
        "principal",
        "used",
    )

    def __init__(self, session_id: str, principal: str | None) -> None:
        self.id = session_id
        self.principal = principal
        self.created = self.last_active = time.monotonic()
        self.busy = 0
        self.used = False
        self.posts: dict[RequestId, _Post] | None = None
        self.get_stream: str | None = None  # stream id of the standalone GET stream
        self.get_delivered = 0  # last GET-stream seq written to a client connection
        self.connection: ServerConnection
        self.dispatcher: Any

    @property
    def ready(self) -> bool:
        return self.used or self.connection.lifecycle.state is LifecycleState.READY

    @property
    def version(self) -> str | None:
        state = self.connection.state
        return state.protocol_version if state is not None else None


class _Link:
    """The dispatcher's way back to the transport, through a weak reference to the session,
    so sessions are freed by reference counting alone."""

    __slots__ = ("app", "ref")

    def __init__(self, app: StreamableHTTP, session: _Session) -> None:
        self.app = app
        self.ref = weakref.ref(session)

    async def send(self, message: Message, related_to: RequestId | None) -> None:
        session = self.ref()
        if session is not None:
            await self.app._route(session, message, related_to)

    async def send_unrelated(self, message: Message) -> None:
        session = self.ref()
        # An ended session's streams are gone: never re-create one for it.
        if session is not None and not session.dispatcher.closed:
            await self.app._to_get_stream(session, message)

    def close_stream(self, request_id: RequestId) -> None:
        session = self.ref()
        post = session.posts.get(request_id) if session is not None and session.posts else None
        if session is None or post is None:
            return
        post.cut = True
        if post.stream_id is not None:
            self.app.log.wake(post.stream_id)  # its tailer ends the response
        elif post.accept_sse:
            # Still headed for a JSON answer: switch it to a resumable SSE stream that ends
            # after its priming event (id + retry), so the connection is not held for the
            # whole call and the client collects the result by resuming. 2025-11-25
            # basic/transports#sending-messages-to-the-server: once an event with an id was
            # sent, the server MAY close the connection without terminating the stream.
            self.app._open_post_stream_soon(session, post, request_id)


# -- the endpoint ---------------------------------------------------------------------------


class StreamableHTTP:
    """The MCP endpoint as a pure ASGI app (mount it at the endpoint path).

    Options (defaults in brackets): ``response_mode`` "auto" | "json" | "sse" [auto: JSON
    unless the handler sends a related message first]; ``get_stream`` [True; False -> GET
    is 405]; ``allow_delete`` [True]; ``session_idle_timeout`` [1800 s]; ``max_sessions``
    [10,000 -> 503]; ``init_timeout`` [60 s]; ``max_body_bytes`` [4 MiB -> 413];
    ``keepalive`` [15 s]; ``retry_ms`` [1000]; ``allowed_hosts`` / ``allowed_origins``
    [loopback rule]; ``principal(scope) -> str | None`` binds sessions to an identity;
    ``event_log`` / ``sessions`` / ``bus`` replace the in-memory state.
    """

    def __init__(
        self,
        server: MCPServer,
        *,
        response_mode: str = "auto",
        get_stream: bool = True,
        allow_delete: bool = True,
        session_idle_timeout: float = DEFAULT_SESSION_IDLE_TIMEOUT,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        init_timeout: float = DEFAULT_INIT_TIMEOUT,
        retry_after: int = DEFAULT_RETRY_AFTER,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        keepalive: float = sse.DEFAULT_KEEPALIVE_SECONDS,
        retry_ms: int = sse.DEFAULT_RETRY_MS,
        allowed_hosts: Iterable[str] | None = None,
        allowed_origins: Iterable[str] | None = None,
        principal: Callable[[Scope], str | None] | None = None,
        event_log: EventLog | None = None,
        sessions: SessionStore[_Session] | None = None,
        bus: Bus | None = None,
    ) -> None:
        if response_mode not in ("auto", "json", "sse"):
            raise ValueError(f"response_mode must be 'auto', 'json' or 'sse', not {response_mode!r}")
        self.server = server
        self.response_mode = response_mode
        self.get_stream = get_stream
        self.allow_delete = allow_delete
        self.idle_timeout = session_idle_timeout
        self.max_sessions = max_sessions
        self.init_timeout = init_timeout
        self.retry_after = retry_after
        self.max_body_bytes = max_body_bytes
        self.keepalive = keepalive
        self.retry_ms = retry_ms
        self.policy = OriginPolicy(allowed_hosts, allowed_origins)
        self.principal = principal
        self.log: EventLog = event_log if event_log is not None else MemoryEventLog()
        self.sessions: SessionStore[_Session] = sessions if sessions is not None else MemorySessionStore()
        self.bus: Bus = bus if bus is not None else MemoryBus()
        self.modern = ModernLeg(server, response_mode=response_mode, keepalive=keepalive)
        self._readers: dict[str, object] = {}  # stream id -> the connection now tailing it
        self._tg: TaskGroup | None = None
        self._started: anyio.Event | None = None
        self._runner: asyncio.Task[None] | None = None

    # -- runtime (started lazily: mounting without lifespan events must work) ---------------

    async def _ensure_started(self) -> TaskGroup:
        if self._tg is not None:
            return self._tg
        if self._started is None:
            self._started = anyio.Event()
            self._runner = asyncio.get_running_loop().create_task(self._run())
        await self._started.wait()
        assert self._tg is not None
        return self._tg

    async def _run(self) -> None:
        """The background task group (handler tasks, stream tailers) and the sweeper that
        expires idle sessions and old events."""
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                assert self._started is not None
                self._started.set()
                interval = min(max(min(self.idle_timeout, self.init_timeout) / 4, 0.05), 5.0)
                while True:
                    await anyio.sleep(interval)
                    try:
                        for session in await self.sessions.expire(time.monotonic(), self.idle_timeout, self.init_timeout):
                            await self._end_session(session, "the session expired")
                        await self.log.sweep()
                    except Exception:  # the sweeper must outlive any one bad session
                        log.exception("session sweep failed")
        finally:
            # If the group ever fails, the next request starts a fresh one.
            self._tg = self._started = None

    def shutting_down(self) -> None:
        """The server is stopping: end open ``subscriptions/listen`` streams gracefully (each
        gets its result) so the connections can close. Sync; safe to call twice."""
        self.server.close_subscriptions()

    async def aclose(self) -> None:
        """End every session and stop the background task group (lifespan shutdown)."""
        self.shutting_down()
        for session in await self.sessions.all():
            await self._end_session(session, "the server is shutting down")
        if self._tg is not None:
            self._tg.cancel_scope.cancel()
        if self._runner is not None:
            with anyio.CancelScope(shield=True):
                await asyncio.gather(self._runner, return_exceptions=True)
        self._tg = self._started = self._runner = None

    # -- ASGI -------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(self, receive, send)
            return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        problem = self.policy.check(scope, headers.get("host"), headers.get("origin"))
        if problem is not None:
            await send_error(send, 403, InvalidRequest(f"Forbidden: {problem}"))
            return
        method = scope["method"]
        try:
            if method in ("GET", "DELETE") and _SESSION_HEADER not in headers:
                raise HTTPError(
                    405,
                    InvalidRequest(f"Method {method} not allowed without a session: 2026-07-28 clients POST every request; GET and DELETE exist only for sessions made by initialize (send their Mcp-Session-Id)"),
                    headers=[(b"allow", b"POST")],
                )
            if method == "POST":
                await self._post(scope, receive, send, headers)
            elif method == "GET":
                await self._get(scope, receive, send, headers)
            elif method == "DELETE":
                await self._delete(scope, send, headers)
            else:
                allow = "GET, POST, DELETE" if self.get_stream else "POST, DELETE"
                await send_error(send, 405, InvalidRequest(f"Method {method} not allowed; the MCP endpoint accepts {allow}"), headers=[(b"allow", allow.encode())])
        except HTTPError as exc:
            await send_error(send, exc.status, exc.error, headers=exc.headers, id=exc.id)
        except RPCError as exc:  # RequestTooLarge (413), ResumeGap (409)
            await send_error(send, exc.http_status, exc)

    # -- POST -------------------------------------------------------------------------------

    async def _post(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        accept_json, accept_sse = check_post_headers(headers)
        body = await read_body(receive, self.max_body_bytes, headers.get("content-length"))
        try:
            message = jsonrpc.parse(body, allow_batch=True)
        except InvalidMessage as exc:
            raise HTTPError(400, InvalidRequest(exc.message, code=exc.code), id=exc.id) from None
        tg = await self._ensure_started()
        session_id = headers.get(_SESSION_HEADER)
        live = session_id is not None and claims_modern_header(headers) and await self.sessions.get(session_id.strip()) is not None
        if classify_post(headers, message, live_session=live) is Leg.MODERN:
            await self.modern.post(message, headers, receive, send, accept_json=accept_json, accept_sse=accept_sse, task_group=tg)
            return
        if isinstance(message, Request) and message.method == "initialize":
            existing = await self.sessions.get(session_id) if session_id else None
            if existing is None:
                await self._initialize(scope, message, send, tg, accept_json)
                return
        async with self._session(scope, headers) as session:
            await self._post_to_session(session, message, send, accept_json, accept_sse)

    async def _post_to_session(
        self, session: _Session, message: Message | list[Message], send: Send, accept_json: bool,
        accept_sse: bool,
    ) -> None:
        if isinstance(message, list):
            await self._post_batch(session, message, send)
            return
        if not isinstance(message, Request):
            if not await self.bus.publish(session.id, message):
                await session.dispatcher.receive(message)
            await send_empty(send, 202)
            return
        session.used = True
        mode = self.response_mode if accept_json and accept_sse else ("json" if accept_json else "sse")
        if mode == "json":
            await self._answer_json(session, message, send)
        elif mode == "auto":
            await self._answer_auto(session, message, send, accept_sse)
        else:
            await self._answer_sse(session, message, send)

    async def _answer_json(self, session: _Session, request: Request, send: Send) -> None:
        """The JSON fast path: the handler runs in this task (no task, no log write);
        anything related it sends goes to the GET stream."""
        response = await session.dispatcher.run(request)
        if response is None:
            await send_empty(send, 202)  # cancelled: no response (digest §4.5)
        else:
            await send_json(send, 200, jsonrpc.dump(response))

    async def _answer_auto(self, session: _Session, request: Request, send: Send, accept_sse: bool) -> None:
        """auto: run the handler in this task and answer with JSON, unless it sends a related
        message first; then :meth:`_route` turns the answer into a logged SSE stream, writes
        its priming event and that message at once, and a task tails the rest to this
        response while the handler goes on here."""
        await self._answer_inline(session, request, send, accept_sse, one_shot_sse=False)

    async def _answer_sse(self, session: _Session, request: Request, send: Send) -> None:
        """sse: as auto, but a handler that answers with nothing before its result gets a
        one-shot SSE body (priming event + response, no task, no log write); a related
        message, or a handler still running after the one-shot window, turns the answer
        into a logged, resumable stream."""
        await self._answer_inline(session, request, send, True, one_shot_sse=True)

    async def _answer_inline(self, session: _Session, request: Request, send: Send, accept_sse: bool, *, one_shot_sse: bool) -> None:
        post = self._register(session, request.id, accept_sse, send)
        timer = None
        if one_shot_sse:
            loop = asyncio.get_running_loop()
            timer = loop.call_later(_SSE_FAST_WINDOW, self._open_post_stream_soon, session, post, request.id)
        try:
            response = await session.dispatcher.run(request)
        except BaseException:
            self._finish_post(session, request.id, None)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        stream_id = post.stream_id
        if stream_id is None:
            self._finish_post(session, request.id, None)
            if response is None:
                await send_empty(send, 202)  # cancelled: no response (digest §4.5)
            elif one_shot_sse:
                await self._one_shot_sse(send, jsonrpc.dump(response))
            else:
                await send_json(send, 200, jsonrpc.dump(response))
            return
        if response is not None:
            await self.log.append(stream_id, jsonrpc.dump(response), last=True)
        else:
            await self.log.close(stream_id)
        self._finish_post(session, request.id, None)
        assert post.done is not None
        await post.done.wait()  # the tailer completed the HTTP response

    def _open_post_stream_soon(self, session: _Session, post: _Post, request_id: RequestId) -> None:
        """Give a POST that is still being handled a resumable stream now: in "sse" mode when
        the one-shot window passed (a timer callback; the task exists only then), and in any
        SSE-accepting mode when the handler cuts its stream before sending anything."""
        if post.stream_id is None and self._tg is not None and session.posts and session.posts.get(request_id) is post:
            self._tg.start_soon(self._open_post_stream, session, post, request_id)

    async def _open_post_stream(self, session: _Session, post: _Post, request_id: RequestId) -> None:
        if post.stream_id is not None or not session.posts or session.posts.get(request_id) is not post:
            return  # answered, or a related message opened the stream meanwhile
        await self._upgrade(session, post)
        await self._stream_post(post.send, session, post, request_id)

    def _register(self, session: _Session, request_id: RequestId, accept_sse: bool, send: Send) -> _Post:
        if session.posts is None:
            session.posts = {}
        if request_id in session.posts or session.dispatcher.is_handling(request_id):
            raise HTTPError(400, InvalidRequest(f"Request id {request_id!r} is already in use by a request in progress"), id=request_id)
        post = session.posts[request_id] = _Post(accept_sse, send)
        session.busy += 1
        return post

    async def _stream_post(self, send: Send, session: _Session, post: _Post, request_id: RequestId, *, after: int = 0, started: bool = False) -> None:
        """Tail a POST's stream to its HTTP response (started here unless ``started``: then
        the priming event and the events up to ``after`` were written already)."""
        assert post.stream_id is not None and post.done is not None
        try:
            if not started:
                await send({"type": "http.response.start", "status": 200, "headers": sse.SSE_HEADERS})
            tail = self._tail(
                post.stream_id, after, keepalive=self.keepalive, post=post, session=session,
                request_id=request_id, prime=not started,
            )
            async with contextlib.aclosing(tail):  # the reader detaches now, not at garbage collection
                async for chunk in tail:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except Exception:  # the connection is gone; the events wait in the log for a resume
            log.debug("POST stream %s ended early", post.stream_id, exc_info=True)
        finally:
            post.done.set()

    async def _initialize(self, scope: Scope, request: Request, send: Send, tg: TaskGroup, accept_json: bool) -> None:
        from ..server.context import ServerConnection

        session = _Session(new_session_id(), self.principal(scope) if self.principal else None)
        link = _Link(self, session)
        session.connection = connection = ServerConnection()
        connection.send_unrelated = link.send_unrelated
        session.dispatcher = self.server.dispatcher(link.send, tg, connection)
        session.dispatcher.on_close_stream = link.close_stream
        response = await session.dispatcher.handle(request)
        headers = []
        if isinstance(response, Result):
            # The cap is checked by the store in the same step as the add: a count before
            # the handler ran would let concurrent initializes past it.
            if not await self.sessions.add(session, self.max_sessions):
                session.dispatcher.close("the session cap is reached")
                raise HTTPError(
                    503,
                    ServerOverloaded(
                        f"Too many sessions: the limit of {self.max_sessions} open sessions is reached; "
                        f"retry after {self.retry_after} s, and DELETE sessions you no longer need"
                    ),
                    headers=[(b"retry-after", str(self.retry_after).encode())],
                    id=request.id,
                )
            self.bus.subscribe(session.id, session.dispatcher.receive)
            self.server.attach(connection)
            headers.append((_SESSION_HEADER.encode(), session.id.encode()))
        data = jsonrpc.dump(response)
        if accept_json and self.response_mode != "sse":
            await send_json(send, 200, data, headers)
        else:
            await self._one_shot_sse(send, data, headers)

    async def _one_shot_sse(self, send: Send, data: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        """A complete SSE answer in one write: the response alone. Nothing is logged: a client
        that gets any of it gets all of it, so there is nothing to resume, and no event id is
        advertised (an id would invite a resume the log cannot serve; the priming event of
        2025-11-25 basic/transports#sending-messages-to-the-server exists to make a stream
        resumable)."""
        body = sse.event(None, data)
        head = [*sse.SSE_HEADERS, (b"content-length", b"%d" % len(body))]
        if headers:
            head += headers
        await send({"type": "http.response.start", "status": 200, "headers": head})
        await send({"type": "http.response.body", "body": body})

    async def _post_batch(self, session: _Session, batch: list[Message], send: Send) -> None:
        """2025-03-26 batches (2025-03-26 basic#batching): the dispatcher's batch runner (the
        requests tracked like any other: cancellable, ids checked), one JSON array back.
        Related messages of batched requests go to the GET stream."""
        if not allows_batch(session.version):
            raise HTTPError(400, InvalidRequest("JSON-RPC batches are only allowed in a session that negotiated 2025-03-26; send one message per POST"))
        session.busy += 1
        session.used = session.used or any(isinstance(m, Request) for m in batch)
        try:
            responses = await session.dispatcher.run_batch(batch)
        finally:
            session.busy -= 1
            session.last_active = time.monotonic()
        if responses:
            await send_json(send, 200, jsonrpc.dump_many(responses))
        else:
            await send_empty(send, 202)

    # -- GET ----------------------------------------------------------------------------------

    async def _get(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        accept = headers.get("accept", "")
        if not accepted_types(accept)[1]:
            raise HTTPError(406, InvalidRequest(f"Not Acceptable: a GET opens an event stream; send Accept: text/event-stream (got {accept!r})"))
        last_event_id = headers.get("last-event-id")
        if not self.get_stream and last_event_id is None:
            raise HTTPError(405, InvalidRequest("This server offers no standalone GET stream; POST requests instead"), headers=[(b"allow", b"POST, DELETE")])
        await self._ensure_started()
        async with self._session(scope, headers) as session:
            await self._get_stream_of(session, scope, receive, send, last_event_id)

    async def _get_stream_of(
        self, session: _Session, scope: Scope, receive: Receive, send: Send, last_event_id: str | None
    ) -> None:
        if last_event_id is not None:
            parsed = parse_event_id(last_event_id)
            if parsed is None or await self.log.owner(parsed[0]) != session.id:
                raise HTTPError(400, InvalidRequest(f"Last-Event-ID {last_event_id!r} does not name a stream of this session (unknown, expired, or another session's); reconnect without it"))
            stream_id, after = parsed
            try:
                await self.log.read(stream_id, after)  # raises ResumeGap before any byte is sent
            except ValueError:  # beyond the last event: resuming there would skip what comes next
                raise HTTPError(400, InvalidRequest(
                    f"Last-Event-ID {last_event_id!r} names no event this server sent on that stream; "
                    "reconnect with the id of the last event you received, or without one"
                )) from None
        else:
            if session.get_stream is None:
                await self._open_get_stream(session)
            stream_id, after = session.get_stream, session.get_delivered  # type: ignore[assignment]
            try:
                await self.log.read(stream_id, after)
            except ResumeGap as gap:  # undelivered events were evicted: continue from the oldest held
                after = gap.data["oldestAvailable"] - 1
        is_get_stream = stream_id == session.get_stream
        response = sse.long_lived_response(
            self._tail(stream_id, after, keepalive=None, session=session, get_stream=is_get_stream),
            keepalive=self.keepalive,
        )
        await response(scope, receive, send)

    async def _open_get_stream(self, session: _Session) -> str:
        stream_id = session.get_stream = secrets.token_urlsafe(12)
        await self.log.create(stream_id, session.id)
        return stream_id

    # -- DELETE ---------------------------------------------------------------------------------

    async def _delete(self, scope: Scope, send: Send, headers: dict[str, str]) -> None:
        if not self.allow_delete:
            raise HTTPError(405, InvalidRequest("This server does not let clients end sessions; just stop using it"), headers=[(b"allow", b"GET, POST")])
        async with self._session(scope, headers) as session:
            await self._end_session(session, "the client deleted the session")
        await send_empty(send, 204)

    # -- sessions -------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _session(self, scope: Scope, headers: dict[str, str]) -> AsyncIterator[_Session]:
        """The session a request names, held busy for the whole request (the sweeper cannot
        expire it under the request; its idle time counts from the request's end)."""
        session_id = headers.get(_SESSION_HEADER)
        if session_id is None:
            raise HTTPError(400, InvalidRequest("Missing Mcp-Session-Id header: send initialize first, then the session id it returned on every request"))
        session = await self.sessions.acquire(session_id.strip())
        if session is None:
            raise _session_not_found()
        try:
            self._check_session(scope, headers, session)
            yield session
        finally:
            await self.sessions.release(session)

    def _check_session(self, scope: Scope, headers: dict[str, str], session: _Session) -> None:
        """Refuse a session of another principal (as if unknown) or a mismatched version header."""
        if self.principal is not None and session.principal != self.principal(scope):
            raise _session_not_found()
        version = headers.get("mcp-protocol-version")
        if version is not None:
            version = version.strip()
            negotiated = session.version
            if version not in LEGACY_VERSIONS and version not in MODERN_VERSIONS:
                raise HTTPError(400, InvalidRequest(f"Unsupported MCP-Protocol-Version {version!r}; this session negotiated {negotiated}", {"supported": list(LEGACY_VERSIONS), "requested": version}))
            # 2025-03-26 is what a client without the header means (digest §2.A.7); the official
            # suite's raw probes send it on later sessions, so it is always accepted.
            if negotiated is not None and version not in (negotiated, DEFAULT_HTTP_VERSION):
                raise HTTPError(400, InvalidRequest(f"MCP-Protocol-Version {version!r} does not match the version this session negotiated ({negotiated}); send {negotiated}"))

    async def _end_session(self, session: _Session, reason: str) -> None:
        await self.sessions.remove(session.id)
        self.bus.unsubscribe(session.id)
        self.server.detach(session.connection)
        session.dispatcher.close(reason)
        for request_id in list(session.posts or ()):
            self._finish_post(session, request_id, None)
        if session.get_stream is not None:
            self._readers.pop(session.get_stream, None)
        await self.log.drop_session(session.id)

    # -- routing outgoing messages ------------------------------------------------------------

    async def _route(self, session: _Session, message: Message, related_to: RequestId | None) -> None:
        """Where the dispatcher's outgoing messages go (DESIGN: one stream per message)."""
        post = session.posts.get(related_to) if session.posts and related_to is not None else None
        final = isinstance(message, (Result, ErrorResponse)) and message.id == related_to
        if post is None:
            if not final:
                await self._to_get_stream(session, message)
            return
        if post.stream_id is None:
            if final:
                self._finish_post(session, related_to, message)  # type: ignore[arg-type]
                return
            if not post.accept_sse:
                await self._to_get_stream(session, message)
                return
            await self._upgrade(session, post)
            assert related_to is not None
            await self._flush_first(session, post, related_to, jsonrpc.dump(message))
            return
        await self.log.append(post.stream_id, jsonrpc.dump(message), last=final)  # type: ignore[arg-type]
        if final:
            self._finish_post(session, related_to, None)  # type: ignore[arg-type]

    async def _upgrade(self, session: _Session, post: _Post) -> None:
        """Turn a POST's answer into a logged SSE stream (its first related message came,
        or in "sse" mode the handler is slow)."""
        # The id is set before the await so a concurrent send appends to this stream.
        stream_id = post.stream_id = secrets.token_urlsafe(12)
        post.done = anyio.Event()
        await self.log.create(stream_id, session.id)
        await self.log.delivered(stream_id, 0)  # the POST's response is its live reader from the start

    async def _flush_first(self, session: _Session, post: _Post, request_id: RequestId, data: bytes) -> None:
        """The first related message of a POST: log it, write the response head, the priming
        event and this event now, from the handler's task (the client sees it at once, not
        when the handler next yields), then let a task tail the rest."""
        stream_id = post.stream_id
        assert stream_id is not None and self._tg is not None
        seq = await self.log.append(stream_id, data)
        body = sse.priming(format_event_id(stream_id, 0), self.retry_ms)
        if seq:
            body += sse.event(format_event_id(stream_id, seq), data)
        try:
            await post.send({"type": "http.response.start", "status": 200, "headers": sse.SSE_HEADERS})
            await post.send({"type": "http.response.body", "body": body, "more_body": True})
            await self.log.delivered(stream_id, seq)
        except Exception:  # the connection is gone; the tailer finds out and ends the response
            log.debug("POST stream %s: first write failed", stream_id, exc_info=True)
        self._tg.start_soon(functools.partial(self._stream_post, post.send, session, post, request_id, after=seq, started=True))

    def _finish_post(self, session: _Session, request_id: RequestId, response: Result | ErrorResponse | None) -> None:
        posts = session.posts
        post = posts.pop(request_id, None) if posts else None
        if post is None:
            return
        if not posts:
            session.posts = None
        post.response = response
        session.busy -= 1
        session.last_active = time.monotonic()
        if response is None and post.stream_id is not None:
            self.log.wake(post.stream_id)  # cancelled or session ended: its tailer stops

    async def _to_get_stream(self, session: _Session, message: Message) -> None:
        if not self.get_stream:
            if isinstance(message, Request):
                # Fail now rather than time out: nothing can carry this request to the client.
                raise ConnectionClosed(
                    f"cannot send {message.method} to the client: its request is answered as JSON and this "
                    "server offers no GET stream; use response_mode 'auto' or 'sse', or enable get_stream"
                )
            log.debug("dropping %s: no GET stream is offered", type(message).__name__)
            return
        stream_id = session.get_stream or await self._open_get_stream(session)
        await self.log.append(stream_id, jsonrpc.dump(message))

    # -- tailing the log --------------------------------------------------------------------------

    async def _tail(
        self,
        stream_id: str,
        after: int,
        *,
        keepalive: float | None,
        session: _Session,
        post: _Post | None = None,
        request_id: RequestId | None = None,
        get_stream: bool = False,
        prime: bool = True,
    ) -> Any:
        """Yield SSE chunks of a stream from ``after`` on: a priming event, then the events
        as they are appended. Ends when the stream closes, when a newer connection takes the
        stream over, or when the handler cuts its POST stream (polling)."""
        token = object()
        self._readers[stream_id] = token
        self.log.wake(stream_id)  # an older connection on this stream ends (takeover)
        await self.log.delivered(stream_id, after)
        chunk = sse.priming(format_event_id(stream_id, after), self.retry_ms) if prime else b""
        idle = keepalive if keepalive is not None else math.inf
        try:
            while True:
                try:
                    events, closed = await self.log.read(stream_id, after)
                except KeyError:
                    return  # the session ended
                except ResumeGap as gap:
                    # This reader fell behind the bounded log. Say so, never skip silently: a
                    # POST stream answers its request with the error; other streams end, and
                    # the client's resume with Last-Event-ID gets the 409.
                    if request_id is not None:
                        yield chunk + sse.event(None, jsonrpc.dump(ErrorResponse(request_id, gap.to_error())))
                    return
                if self._readers.get(stream_id) is not token:
                    return
                if events:
                    chunk += b"".join(sse.event(format_event_id(stream_id, seq), data) for seq, data in events)
                    after = events[-1][0]
                if chunk:
                    yield chunk
                    chunk = b""
                    if self._readers.get(stream_id) is not token:
                        return
                    await self.log.delivered(stream_id, after)  # writers waiting for this reader go on
                    if get_stream:
                        session.get_delivered = after
                if closed or (post is not None and post.cut):
                    return
                before = time.monotonic()
                # No cancel check here: the request's own task closes its stream on every path
                # (response appended, or closed when cancelled), after the handler is done.
                await self.log.wait(stream_id, after, min(idle, 3600.0))
                if keepalive is not None and time.monotonic() - before >= keepalive:
                    chunk = sse.KEEPALIVE
        finally:
            if self._readers.get(stream_id) is token:
                del self._readers[stream_id]
                await self.log.detach(stream_id)


async def _lifespan(app: StreamableHTTP, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await app._ensure_started()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await app.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return


# -- mounting ---------------------------------------------------------------------------------


def http_app(server: MCPServer, path: str = "/mcp", **options: Any) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """A standalone ASGI app serving ``server`` at ``path`` and ``path/`` (no redirect);
    every other path is a 404 with a JSON-RPC body. Options: see :class:`StreamableHTTP`."""
    endpoint = StreamableHTTP(server, **options)
    paths = {path.rstrip("/") or "/", path.rstrip("/") + "/"}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in paths:
            await send_error(send, 404, InvalidRequest(f"Not found: the MCP endpoint is {path}"))
            return
        await endpoint(scope, receive, send)

    app.endpoint = endpoint  # type: ignore[attr-defined]
    return app


def mcp_router(server: MCPServer, path: str = "/mcp", **options: Any) -> APIRouter:
    """A FastAPI router serving ``server`` at ``path`` and ``path/`` (no redirect).

        app = FastAPI()
        app.include_router(mcp_router(server))

    The routes hand the raw ASGI request to :class:`StreamableHTTP` (FastAPI's request
    parsing and dependency injection stay off the per-message path). Works without lifespan
    events: the endpoint starts on its first request. ``router.mcp`` is the endpoint.
    """
    from fastapi import APIRouter
    from starlette.routing import Route

    router = APIRouter()
    endpoint = StreamableHTTP(server, **options)
    base = path.rstrip("/")
    for route_path in (base, base + "/"):
        router.routes.append(Route(route_path, endpoint, methods=["GET", "POST", "DELETE"], include_in_schema=False))
    router.mcp = endpoint  # type: ignore[attr-defined]
    return router


def run_http(server: MCPServer, host: str = "127.0.0.1", port: int = 8000, *, path: str = "/mcp", log_level: str = "info", **options: Any) -> None:
    """Serve ``server`` over Streamable HTTP with uvicorn (uvloop, httptools, no access log)
    until interrupted. Options: see :class:`StreamableHTTP`."""
    import uvicorn

    app = http_app(server, path, **options)
    config = uvicorn.Config(app, host=host, port=port, loop="uvloop", http="httptools", access_log=False, log_level=log_level, lifespan="on")

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            # Before uvicorn waits for open connections: end listen streams with their result.
            app.endpoint.shutting_down()  # type: ignore[attr-defined]
            super().handle_exit(sig, frame)

    Server(config).run()
