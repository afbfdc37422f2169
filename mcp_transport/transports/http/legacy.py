"""The legacy (2025-era) session leg of the Streamable HTTP endpoint (2025-11-25
basic/transports#streamable-http): ``initialize`` mints an ``Mcp-Session-Id``; POSTs are
answered with JSON or SSE (per ``response_mode``); GET opens the session's standalone
stream (a newer GET takes it over); DELETE ends the session.

The JSON fast path runs the handler inline, with no task and no log write; streams are
routed and tailed by :class:`~.streams.Streams`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from anyio.abc import TaskGroup

from ... import jsonrpc
from ...connection import Application
from ...errors import InvalidRequest, ResumeGap, ServerOverloaded
from ...jsonrpc import Message, Request, RequestId, Result
from ...protocol import DEFAULT_HTTP_VERSION, LEGACY_VERSIONS, MODERN_VERSIONS, allows_batch
from ...state.bus import Bus
from ...state.events import parse_event_id
from ...state.sessions import SessionStore, new_session_id
from . import sse
from .asgi import HTTPError, Receive, Scope, Send, accepted_types, send_empty, send_json
from .sessions import SESSION_HEADER, Post, Session, session_not_found
from .streams import Link, Streams

__all__ = ["LegacyLeg", "LegacyOptions"]

log = logging.getLogger("mcp_transport.http")

# In "sse" mode a handler that answers within this time gets a one-shot SSE body written in
# one go (no log, no stream); a slower one gets a logged, resumable, keepalive'd stream.
_SSE_FAST_WINDOW = 0.02


@dataclass(frozen=True)
class LegacyOptions:
    response_mode: str
    allow_delete: bool
    max_sessions: int
    retry_after: int
    principal: Callable[[Scope], str | None] | None


class LegacyLeg:
    """Serves the session requests of one :class:`~.endpoint.StreamableHTTP` endpoint."""

    def __init__(
        self,
        app: Application,
        options: LegacyOptions,
        sessions: SessionStore[Session],
        bus: Bus,
        streams: Streams,
    ) -> None:
        self.app = app
        self.options = options
        self.sessions = sessions
        self.bus = bus
        self.streams = streams

    # -- POST -------------------------------------------------------------------------------

    async def post(
        self,
        scope: Scope,
        message: Message | list[Message],
        send: Send,
        headers: dict[str, str],
        tg: TaskGroup,
        accept_json: bool,
        accept_sse: bool,
    ) -> None:
        session_id = headers.get(SESSION_HEADER)
        if isinstance(message, Request) and message.method == "initialize":
            existing = await self.sessions.get(session_id) if session_id else None
            if existing is None:
                await self._initialize(scope, message, send, tg, accept_json)
                return
        # acquire/release spelled out: the per-POST path skips the async context manager's
        # generator machinery (session() below is the same for GET and DELETE)
        session = await self._acquire(scope, headers)
        try:
            await self._post_to_session(session, message, send, accept_json, accept_sse)
        finally:
            await self.sessions.release(session)

    async def _post_to_session(
        self,
        session: Session,
        message: Message | list[Message],
        send: Send,
        accept_json: bool,
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
        mode = (
            self.options.response_mode if accept_json and accept_sse else ("json" if accept_json else "sse")
        )
        if mode == "json":
            await self._answer_json(session, message, send)
        else:
            # auto: answer with JSON unless the handler sends a related message first; then
            # Streams.route turns the answer into a logged SSE stream, writes its priming
            # event and that message at once, and a task tails the rest to this response.
            # sse: as auto, but a handler that answers with nothing before its result gets
            # a one-shot SSE body; one still running after the window gets a stream.
            await self._answer_inline(session, message, send, accept_sse, one_shot_sse=mode == "sse")

    async def _answer_json(self, session: Session, request: Request, send: Send) -> None:
        """The JSON fast path: the handler runs in this task (no task, no log write);
        anything related it sends goes to the GET stream."""
        response = await session.dispatcher.run(request)
        if response is None:
            await send_empty(send, 202)  # cancelled: no response (2025-11-25 basic/utilities/cancellation)
        else:
            await send_json(send, 200, jsonrpc.dump(response))

    async def _answer_inline(
        self, session: Session, request: Request, send: Send, accept_sse: bool, *, one_shot_sse: bool
    ) -> None:
        post = self._register(session, request.id, accept_sse, send)
        timer = None
        if one_shot_sse:
            loop = asyncio.get_running_loop()
            timer = loop.call_later(
                _SSE_FAST_WINDOW, self.streams.open_post_stream_soon, session, post, request.id
            )
        try:
            response = await session.dispatcher.run(request)
        except BaseException:
            self.streams.finish_post(session, request.id, None)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if post.opening is not None:
            await post.opening.wait()  # a stream is being created for this answer: use it
        stream_id = post.stream_id
        if stream_id is None:
            self.streams.finish_post(session, request.id, None)
            if response is None:
                await send_empty(
                    send, 202
                )  # cancelled: no response (2025-11-25 basic/utilities/cancellation)
            elif one_shot_sse:
                await self._one_shot_sse(send, jsonrpc.dump(response))
            else:
                await send_json(send, 200, jsonrpc.dump(response))
            return
        if response is not None:
            await self.streams.log.append(stream_id, jsonrpc.dump(response), last=True)
        else:
            await self.streams.log.close(stream_id)
        self.streams.finish_post(session, request.id, None)
        assert post.done is not None
        await post.done.wait()  # the tailer completed the HTTP response

    def _register(self, session: Session, request_id: RequestId, accept_sse: bool, send: Send) -> Post:
        if session.posts is None:
            session.posts = {}
        if request_id in session.posts or session.dispatcher.is_handling(request_id):
            raise HTTPError(
                400,
                InvalidRequest(f"Request id {request_id!r} is already in use by a request in progress"),
                id=request_id,
            )
        post = session.posts[request_id] = Post(accept_sse, send)
        session.busy += 1
        return post

    async def _initialize(
        self, scope: Scope, request: Request, send: Send, tg: TaskGroup, accept_json: bool
    ) -> None:
        options = self.options
        session = Session(new_session_id(), options.principal(scope) if options.principal else None)
        link = Link(self.streams, session)
        session.connection = self.app.connect(link.send, tg, send_unrelated=link.send_unrelated)
        session.dispatcher.on_close_stream = link.close_stream
        response = await session.dispatcher.handle(request)
        headers = []
        if isinstance(response, Result):
            # The cap is checked by the store in the same step as the add: a count before
            # the handler ran would let concurrent initializes past it.
            if not await self.sessions.add(session, options.max_sessions):
                session.connection.close("the session cap is reached")
                raise HTTPError(
                    503,
                    ServerOverloaded(
                        f"Too many sessions: the limit of {options.max_sessions} open sessions is reached; "
                        f"retry after {options.retry_after} s, and DELETE sessions you no longer need"
                    ),
                    headers=[(b"retry-after", str(options.retry_after).encode())],
                    id=request.id,
                )
            self.bus.subscribe(session.id, session.dispatcher.receive)
            session.connection.open()
            headers.append((SESSION_HEADER.encode(), session.id.encode()))
        data = jsonrpc.dump(response)
        if accept_json and options.response_mode != "sse":
            await send_json(send, 200, data, headers)
        else:
            await self._one_shot_sse(send, data, headers)

    async def _one_shot_sse(
        self, send: Send, data: bytes, headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        """A complete SSE answer in one write: the response alone. Nothing is logged: a client
        that gets any of it gets all of it, so there is nothing to resume, and no event id is
        advertised (an id would invite a resume the log cannot serve; the priming event of
        2025-11-25 basic/transports#sending-messages-to-the-server exists to make a stream
        resumable)."""
        await sse.send_one_shot(send, data, headers)

    async def _post_batch(self, session: Session, batch: list[Message], send: Send) -> None:
        """2025-03-26 batches (2025-03-26 basic#batching): the dispatcher's batch runner (the
        requests tracked like any other: cancellable, ids checked), one JSON array back.
        Related messages of batched requests go to the GET stream."""
        if not allows_batch(session.version):
            raise HTTPError(
                400,
                InvalidRequest(
                    "JSON-RPC batches are only allowed in a session that negotiated 2025-03-26; "
                    "send one message per POST"
                ),
            )
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

    async def get(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        accept = headers.get("accept", "")
        if not accepted_types(accept)[1]:
            raise HTTPError(
                406,
                InvalidRequest(
                    "Not Acceptable: a GET opens an event stream; "
                    f"send Accept: text/event-stream (got {accept!r})"
                ),
            )
        last_event_id = headers.get("last-event-id")
        if not self.streams.get_stream and last_event_id is None:
            raise HTTPError(
                405,
                InvalidRequest("This server offers no standalone GET stream; POST requests instead"),
                headers=[(b"allow", b"POST, DELETE")],
            )
        async with self.session(scope, headers) as session:
            stream_id, after = await self._resume_point(session, last_event_id)
            streams = self.streams
            tail = streams.tail(
                stream_id,
                after,
                keepalive=streams.keepalive,
                session=session,
                get_stream=stream_id == session.get_stream,
            )
            response = sse.long_lived_response(tail)
            await response(scope, receive, send)

    async def _resume_point(self, session: Session, last_event_id: str | None) -> tuple[str, int]:
        """The stream and position a GET continues from: after ``Last-Event-ID`` (2025-11-25
        basic/transports#resumability-and-redelivery), else the session's GET stream from
        what was last written to a client connection."""
        log_ = self.streams.log
        if last_event_id is not None:
            parsed = parse_event_id(last_event_id)
            if parsed is None or await log_.owner(parsed[0]) != session.id:
                raise HTTPError(
                    400,
                    InvalidRequest(
                        f"Last-Event-ID {last_event_id!r} does not name a stream of this session "
                        "(unknown, expired, or another session's); reconnect without it"
                    ),
                )
            try:
                await log_.read(*parsed)  # raises ResumeGap before any byte is sent
            except ValueError:  # beyond the last event: resuming there would skip what comes next
                raise HTTPError(
                    400,
                    InvalidRequest(
                        f"Last-Event-ID {last_event_id!r} names no event this server sent on that stream; "
                        "reconnect with the id of the last event you received, or without one"
                    ),
                ) from None
            return parsed
        stream_id = await self.streams.open_get_stream(session)
        after = session.get_delivered
        try:
            await log_.read(stream_id, after)
        except ResumeGap as gap:  # undelivered events were evicted: continue from the oldest held
            after = gap.data["oldestAvailable"] - 1
        return stream_id, after

    # -- DELETE ---------------------------------------------------------------------------------

    async def delete(self, scope: Scope, send: Send, headers: dict[str, str]) -> None:
        if not self.options.allow_delete:
            raise HTTPError(
                405,
                InvalidRequest("This server does not let clients end sessions; just stop using it"),
                headers=[(b"allow", b"GET, POST")],
            )
        async with self.session(scope, headers) as session:
            await self.end_session(session, "the client deleted the session")
        await send_empty(send, 204)

    # -- sessions -------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def session(self, scope: Scope, headers: dict[str, str]) -> AsyncIterator[Session]:
        """The session a request names, held busy for the whole request (the sweeper cannot
        expire it under the request; its idle time counts from the request's end)."""
        session = await self._acquire(scope, headers)
        try:
            yield session
        finally:
            await self.sessions.release(session)

    async def _acquire(self, scope: Scope, headers: dict[str, str]) -> Session:
        """The session a request names, acquired (the caller releases it), or HTTPError."""
        session_id = headers.get(SESSION_HEADER)
        if session_id is None:
            raise HTTPError(
                400,
                InvalidRequest(
                    "Missing Mcp-Session-Id header: send initialize first, "
                    "then the session id it returned on every request"
                ),
            )
        session = await self.sessions.acquire(session_id.strip())
        if session is None:
            raise session_not_found()
        try:
            self._check_session(scope, headers, session)
        except BaseException:
            await self.sessions.release(session)
            raise
        return session

    def _check_session(self, scope: Scope, headers: dict[str, str], session: Session) -> None:
        """Refuse a session of another principal (as if unknown) or a mismatched version header."""
        principal = self.options.principal
        if principal is not None and session.principal != principal(scope):
            raise session_not_found()
        version = headers.get("mcp-protocol-version")
        if version is None:
            return
        version = version.strip()
        negotiated = session.version
        if version not in LEGACY_VERSIONS and version not in MODERN_VERSIONS:
            raise HTTPError(
                400,
                InvalidRequest(
                    f"Unsupported MCP-Protocol-Version {version!r}; this session negotiated {negotiated}",
                    {"supported": list(LEGACY_VERSIONS), "requested": version},
                ),
            )
        # 2025-03-26 is what a client without the header means (2025-11-25
        # basic/transports#protocol-version-header); the official suite's raw probes send it
        # on later sessions, so it is always accepted.
        if negotiated is not None and version not in (negotiated, DEFAULT_HTTP_VERSION):
            raise HTTPError(
                400,
                InvalidRequest(
                    f"MCP-Protocol-Version {version!r} does not match the version this session negotiated "
                    f"({negotiated}); send {negotiated}"
                ),
            )

    async def end_session(self, session: Session, reason: str) -> None:
        await self.sessions.remove(session.id)
        self.bus.unsubscribe(session.id)
        session.connection.close(reason)
        for request_id in list(session.posts or ()):
            self.streams.finish_post(session, request_id, None)
        if session.get_stream is not None:
            self.streams.forget_reader(session.get_stream)
        await self.streams.log.drop_session(session.id)
