"""The legacy (2025-era) session leg of the Streamable HTTP endpoint (2025-11-25
basic/transports#streamable-http): ``initialize`` mints an ``Mcp-Session-Id``; POSTs are
answered with JSON or SSE (per ``response_mode``); GET opens the session's standalone
stream (a newer GET takes it over); DELETE ends the session.

The JSON fast path runs the handler inline, with no task and no log write; streams are
routed and tailed by :class:`~.streams.Streams`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.abc import TaskGroup

from ... import jsonrpc, telemetry
from ...connection import Application
from ...errors import InvalidRequest, ResumeGap, ServerOverloaded, WorkerStopped
from ...jsonrpc import ErrorResponse, Message, Notification, Request, RequestId, Result
from ...protocol import allows_batch
from ...state.events import parse_event_id
from ...state.records import SessionRecord
from ...state.sessions import new_session_id
from ...state.shared import SharedState
from . import sse
from .asgi import HTTPError, Receive, Scope, Send, accepted_types, send_empty, send_json
from .cluster import ClusterLink
from .live_sessions import RECORDED, LiveSessions
from .session_routing import SessionRouting
from .sessions import SESSION_HEADER, Post, Session, session_not_found
from .streams import Streams

__all__ = ["LegacyLeg", "LegacyOptions"]

# In "sse" mode a handler that answers within this time gets a one-shot SSE body written in
# one go (no log, no stream); a slower one gets a logged, resumable, keepalive'd stream.
_SSE_FAST_WINDOW = 0.02
# Appends of one notification to the GET streams of sessions whose holder did not hear it
# (deliver_unheld) in flight at once: each is one Redis round trip, overlapped.
UNHELD_APPENDS = 32


@dataclass(frozen=True)
class LegacyOptions:
    response_mode: str
    allow_delete: bool
    max_sessions: int
    retry_after: int
    principal: Callable[[Scope], str | None] | None


class LegacyLeg:
    """Serves the session requests of one :class:`~.endpoint.StreamableHTTP` endpoint.

    Sessions are :class:`~mcp_transport.state.records.SessionRecord` values in
    ``state.sessions``; ``live_sessions`` (:mod:`.live_sessions`) holds this worker's live
    part of the sessions it served (built from the record on a session's first request here).
    With several workers (``cluster``), ``routing`` (:mod:`.session_routing`) takes a client's
    answer to a server request to the worker whose handler waits for it, and cancellations,
    DELETE and GET takeovers to the others.
    """

    def __init__(
        self,
        app: Application,
        options: LegacyOptions,
        state: SharedState,
        streams: Streams,
        cluster: ClusterLink | None = None,
    ) -> None:
        self.app = app
        self.options = options
        self.state = state
        self.sessions = state.sessions
        self.streams = streams
        self.worker = state.worker
        self.cluster = cluster
        self.live_sessions = LiveSessions(app, options.principal, state, streams, cluster)
        self.routing = SessionRouting(self.live_sessions, cluster) if cluster is not None else None

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
            existing = await self.sessions.get(session_id.strip()) if session_id else None
            if existing is None:
                await self._initialize(scope, message, send, tg, accept_json)
                return
        session, token = await self.live_sessions.enter(scope, headers, tg)
        try:
            await self._post_to_session(session, message, send, accept_json, accept_sse)
        finally:
            await self.live_sessions.leave(session.id, token)

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
            if self.routing is None or not await self.routing.forward(session, message):
                await session.dispatcher.receive(message)
            if not session.ready and session.connection.ready:
                await self.live_sessions.mark_ready(session)
            await send_empty(send, 202)
            return
        if not session.ready:
            await self.live_sessions.mark_ready(session)
        mode = (
            self.options.response_mode if accept_json and accept_sse else ("json" if accept_json else "sse")
        )
        if mode == "json":
            # The JSON fast path, in this coroutine: the handler runs in this task (no task,
            # no log write); anything related it sends goes to the GET stream.
            response = await session.dispatcher.run(message)
            if message.method in RECORDED and isinstance(response, Result):
                await self.live_sessions.write_back(session, message)
            if response is None:  # cancelled: no response (2025-11-25 basic/utilities/cancellation)
                await send_empty(send, 202)
            else:
                await send_json(send, 200, jsonrpc.dump(response))
        else:
            # auto: answer with JSON unless the handler sends a related message first; then
            # Streams.route turns the answer into a logged SSE stream, writes its priming
            # event and that message at once, and a task tails the rest to this response.
            # sse: as auto, but a handler that answers with nothing before its result gets
            # a one-shot SSE body; one still running after the window gets a stream.
            await self._answer_inline(session, message, send, accept_sse, one_shot_sse=mode == "sse")

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
            if request.method in RECORDED and isinstance(response, Result):
                await self.live_sessions.write_back(session, request)
        except BaseException:
            self.streams.finish_post(session, request.id, None)
            await self.streams.writer_done(post)
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
        await self.streams.writer_done(post)
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
        return post

    async def _initialize(
        self, scope: Scope, request: Request, send: Send, tg: TaskGroup, accept_json: bool
    ) -> None:
        options = self.options
        session = self.live_sessions.new_live(new_session_id(), tg)
        response = await session.dispatcher.handle(request)
        headers = []
        if isinstance(response, Result):
            principal = options.principal(scope) if options.principal else None
            record = SessionRecord.new(
                session.id,
                principal,
                **session.connection.snapshot(),
                get_holder=self.worker if self.cluster is not None else None,
            )
            session.get_holder = record.get_holder
            # The cap is checked by the store in the same step as the create: a count
            # before the handler ran would let concurrent initializes past it.
            if not await self.sessions.create(record, options.max_sessions):
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
            self.live_sessions.live[session.id] = session
            session.connection.open()
            telemetry.count("sessions", 1)
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
        if not session.ready and any(isinstance(m, Request) for m in batch):
            await self.live_sessions.mark_ready(session)
        responses = await session.dispatcher.run_batch(batch)
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
        async with self.live_sessions.session(scope, headers, self.streams.task_group) as session:
            stream_id, after = await self._resume_point(session, last_event_id)
            if self.routing is not None and stream_id == session.get_stream:
                await self.routing.take_get_stream(session, stream_id)
            streams = self.streams
            tail = streams.tail(
                stream_id,
                after,
                keepalive=streams.keepalive,
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
                replay, _ = await log_.read(*parsed)  # raises ResumeGap before any byte is sent
            except ResumeGap:
                telemetry.count("resume_gaps")
                raise
            except ValueError:  # beyond the last event: resuming there would skip what comes next
                raise HTTPError(
                    400,
                    InvalidRequest(
                        f"Last-Event-ID {last_event_id!r} names no event this server sent on that stream; "
                        "reconnect with the id of the last event you received, or without one"
                    ),
                ) from None
            telemetry.count("resumes")
            telemetry.count("replayed", len(replay))
            return parsed
        stream_id = await self.streams.open_get_stream(session)
        if stream_id is None:
            raise session_not_found()  # it ended meanwhile
        after = await log_.cursor(stream_id)  # what the last GET response (on any worker) delivered
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
        async with self.live_sessions.record(scope, headers) as record:
            await self.end_session(record.id, "the client deleted the session")
        await send_empty(send, 204)

    # -- sessions, from any worker --------------------------------------------------------------

    @property
    def live(self) -> dict[str, Session]:
        """This worker's live part of the sessions it served (see :class:`.LiveSessions`)."""
        return self.live_sessions.live

    async def end_session(self, session_id: str, reason: str, *, removed: bool = False) -> None:
        """End a session everywhere (see :meth:`.LiveSessions.end_session`)."""
        await self.live_sessions.end_session(session_id, reason, removed=removed)

    def end_live(self, reason: str) -> None:
        """This worker stops: end the live part of its sessions (their records stay)."""
        self.live_sessions.end_all(reason)

    async def deliver_unheld(
        self, method: str, params: dict[str, Any] | None, sessions: list[tuple[str, str | None]], once: str
    ) -> None:
        """A server-wide notification this worker published, for sessions whose GET holder
        did not hear it (it died; state.redis._cluster), as (id, GET stream id) pairs, those
        of a ``resources/updated`` already only the ones subscribed to its URI (2025-11-25
        server/resources#subscriptions): append it to each one's GET stream, created if need
        be, as that session's live copy here would (Link.send_unrelated), so the client's
        resume replays it (2025-11-25 basic/transports#resumability-and-redelivery). Up to
        UNHELD_APPENDS appends are in flight at once: thousands of sessions cost round trips
        overlapped, not one after another. Appended ``once``: the session's GET may have moved
        since to a worker that delivers it as well (state.cluster.DELIVERING)."""
        if not self.streams.get_stream:
            return
        data = jsonrpc.dump(Notification(method, params))
        pending = iter(sessions)

        async def append() -> None:
            for session_id, stream_id in pending:  # shared: each pair is taken once
                try:
                    stream_id = stream_id or await self.streams.get_stream_of(session_id)
                    if stream_id is not None:
                        await self.streams.log.append(stream_id, data, once=once)
                except KeyError:  # the session ended meanwhile: its streams are gone
                    continue

        async with anyio.create_task_group() as tg:
            for _ in range(min(UNHELD_APPENDS, len(sessions))):
                tg.start_soon(append)

    async def end_orphans(self, dead: str) -> int:
        """Worker ``dead`` stopped: end every POST stream it was answering with a final
        WorkerStopped error for its request, so a client reading it (on any worker) gets a
        typed error instead of waiting forever. Returns how many streams it ended."""
        writers = self.state.writers
        if writers is None:
            return 0
        orphans = await writers.orphans(dead)
        for stream_id, request_id in orphans:
            error = WorkerStopped(WorkerStopped.MESSAGE, {"worker": dead}).to_error()
            data = jsonrpc.dump(ErrorResponse(request_id, error))
            await self.streams.log.append(stream_id, data, last=True)
        return len(orphans)
