"""The legacy leg's SSE streams, all held in the :class:`~mcp_transport.state.EventLog`:
where the dispatcher's outgoing messages go (one stream per message: the POST stream of the
request it relates to, else the session's GET stream), and the tailers that write a stream
to an HTTP response and resume it after ``Last-Event-ID``.

2025-11-25 basic/transports#sending-messages-to-the-server (a POST answered with a stream),
#listening-for-messages-from-the-server (the GET stream) and
#resumability-and-redelivery (event ids, ``Last-Event-ID``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets
import weakref
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING

import anyio
from anyio.abc import TaskGroup

from ... import jsonrpc, telemetry
from ...errors import ConnectionClosed, ResumeGap
from ...jsonrpc import ErrorResponse, Message, Request, RequestId, Result
from ...state.cluster import DELIVERING
from ...state.events import EventLog, format_event_id
from ...state.session_store import SessionStore
from . import sse
from .sessions import Post, Session

if TYPE_CHECKING:
    from ...state.redis._writers import StreamWriters

__all__ = ["Link", "Streams"]

log = logging.getLogger("mcp_transport.http")


class Link:
    """The dispatcher's way back to the transport, through a weak reference to the session,
    so sessions are freed by reference counting alone."""

    __slots__ = ("ref", "streams")

    def __init__(self, streams: Streams, session: Session) -> None:
        self.streams = streams
        self.ref = weakref.ref(session)

    async def send(self, message: Message, related_to: RequestId | None) -> None:
        session = self.ref()
        if session is not None:
            await self.streams.route(session, message, related_to)

    async def send_unrelated(self, message: Message) -> None:
        session = self.ref()
        # An ended session's streams are gone: never re-create one for it.
        if session is not None and not session.dispatcher.closed:
            await self.streams.to_get_stream(session, message)

    def close_stream(self, request_id: RequestId) -> None:
        session = self.ref()
        post = session.posts.get(request_id) if session is not None and session.posts else None
        if session is None or post is None:
            return
        post.cut = True
        if post.stream_id is not None:
            self.streams.log.wake(post.stream_id)  # its tailer ends the response
        elif post.accept_sse:
            # Still headed for a JSON answer: switch it to a resumable SSE stream that ends
            # after its priming event (id + retry), so the connection is not held for the
            # whole call and the client collects the result by resuming. 2025-11-25
            # basic/transports#sending-messages-to-the-server: once an event with an id was
            # sent, the server MAY close the connection without terminating the stream.
            self.streams.open_post_stream_soon(session, post, request_id)


class Streams:
    """Routing and tailing of one endpoint's legacy streams. ``task_group`` is the
    endpoint's background group (set while it runs): tailers of POST streams run there."""

    def __init__(
        self,
        event_log: EventLog,
        sessions: SessionStore,
        *,
        get_stream: bool,
        keepalive: float,
        retry_ms: int,
        writers: StreamWriters | None = None,
    ) -> None:
        self.log = event_log
        self.sessions = sessions
        # Several workers: which POST streams this worker writes, for a survivor to end
        # them if it dies (None with one worker).
        self.writers = writers
        self.get_stream = get_stream
        self.keepalive = keepalive
        self.retry_ms = retry_ms
        self.task_group: TaskGroup | None = None
        self._readers: dict[str, object] = {}  # stream id -> the connection now tailing it

    # -- routing outgoing messages ------------------------------------------------------------

    async def route(self, session: Session, message: Message, related_to: RequestId | None) -> None:
        """Where the dispatcher's outgoing messages go: the stream of the POST they relate
        to, else the GET stream (each message on exactly one stream, 2025-11-25
        basic/transports#multiple-connections)."""
        post = session.posts.get(related_to) if session.posts and related_to is not None else None
        final = isinstance(message, (Result, ErrorResponse)) and message.id == related_to
        if post is None:
            if not final:
                await self.to_get_stream(session, message)
            return
        assert related_to is not None
        if post.opening is not None:
            await post.opening.wait()  # another writer is creating the stream: append to it
        if post.stream_id is None:
            if final:
                self.finish_post(session, related_to, message)  # type: ignore[arg-type]  # final: a response
                return
            if not post.accept_sse:
                await self.to_get_stream(session, message)
                return
            await self.upgrade(session, post, related_to)
            await self._flush_first(session, post, related_to, jsonrpc.dump(message))
            return
        await self._append(post.stream_id, jsonrpc.dump(message), last=final)
        if final:
            await self.writer_done(post)
            self.finish_post(session, related_to, None)

    async def upgrade(self, session: Session, post: Post, request_id: RequestId) -> None:
        """Turn a POST's answer into a logged SSE stream (its first related message came,
        or in "sse" mode the handler is slow). The id is published only once the log holds
        the stream, so a concurrent writer (waiting on ``post.opening``) never appends to a
        stream that does not exist yet."""
        opening = post.opening = anyio.Event()
        post.done = anyio.Event()
        stream_id = secrets.token_urlsafe(12)
        try:
            await self.log.create(stream_id, session.id)
            await self.log.delivered(stream_id, 0)  # the POST's response is its live reader from the start
            if self.writers is not None:
                await self.writers.start(stream_id, request_id)
            post.stream_id = stream_id
        finally:
            post.opening = None
            opening.set()

    async def _flush_first(self, session: Session, post: Post, request_id: RequestId, data: bytes) -> None:
        """The first related message of a POST: log it, write the response head, the priming
        event and this event now, from the handler's task (the client sees it at once, not
        when the handler next yields), then let a task tail the rest."""
        stream_id = post.stream_id
        assert stream_id is not None and self.task_group is not None
        seq = await self._append(stream_id, data)
        body = sse.priming(format_event_id(stream_id, 0), self.retry_ms)
        if seq:
            body += sse.event(format_event_id(stream_id, seq), data)
        try:
            await post.send({"type": "http.response.start", "status": 200, "headers": sse.SSE_HEADERS})
            await post.send({"type": "http.response.body", "body": body, "more_body": True})
            await self.log.delivered(stream_id, seq)
        except Exception:  # the connection is gone; the tailer finds out and ends the response
            log.debug("POST stream %s: first write failed", stream_id, exc_info=True)
        tail = functools.partial(self.stream_post, session, post, request_id, after=seq, started=True)
        self.task_group.start_soon(tail)

    def finish_post(
        self, session: Session, request_id: RequestId, response: Result | ErrorResponse | None
    ) -> None:
        post = session.finish_post(request_id, response)
        if post is not None and response is None and post.stream_id is not None:
            self.log.wake(post.stream_id)  # cancelled or session ended: its tailer stops

    async def writer_done(self, post: Post) -> None:
        """The request answered on ``post`` finished (its stream has its last event, or
        was closed): nothing is left for a survivor to end if this worker dies."""
        if self.writers is not None and post.stream_id is not None:
            with anyio.CancelScope(shield=True):
                await self.writers.stop(post.stream_id)

    async def to_get_stream(self, session: Session, message: Message) -> None:
        if not self.get_stream:
            if isinstance(message, Request):
                # Fail now rather than time out: nothing can carry this request to the client.
                raise ConnectionClosed(
                    f"cannot send {message.method} to the client: its request is answered as JSON and this "
                    "server offers no GET stream; use response_mode 'auto' or 'sse', or enable get_stream"
                )
            log.debug("dropping %s: no GET stream is offered", type(message).__name__)
            return
        stream_id = await self.open_get_stream(session)
        if stream_id is not None:  # a broadcast from another worker: once (state.cluster.DELIVERING)
            await self._append(stream_id, jsonrpc.dump(message), once=DELIVERING.get())

    async def _append(
        self, stream_id: str, data: bytes, *, last: bool = False, once: str | None = None
    ) -> int:
        seq = await self.log.append(stream_id, data, last=last, once=once)
        if seq:
            telemetry.count("appended")
        return seq

    async def open_get_stream(self, session: Session) -> str | None:
        """The session's GET stream, created on first use (None: the session is gone).
        Concurrent writers on this worker wait for its creation (``session.get_opening``)."""
        while session.get_stream is None:
            if session.get_opening is not None:
                await session.get_opening.wait()
                continue
            opening = session.get_opening = anyio.Event()
            try:
                stream_id = await self.get_stream_of(session.id)
                if stream_id is None:
                    return None
                session.get_stream = stream_id
            finally:
                session.get_opening = None
                opening.set()
        return session.get_stream

    async def get_stream_of(self, session_id: str) -> str | None:
        """The GET stream in the session's record, created if it has none. The log holds
        the stream before its id is published in the record (a writer on any worker that
        finds the id can append at once); a compare-and-set publishes it, so two workers
        creating it at once agree on one. None if the session is gone."""
        record = await self.sessions.get(session_id)
        if record is None or record.get_stream is not None:
            return record.get_stream if record is not None else None
        stream_id = secrets.token_urlsafe(12)
        await self.log.create(stream_id, session_id)
        if await self.sessions.update(session_id, expect={"get_stream": None}, get_stream=stream_id):
            return stream_id
        record = await self.sessions.get(session_id)  # another worker won: use its stream
        return record.get_stream if record is not None else None

    # -- POST streams -----------------------------------------------------------------------------

    def open_post_stream_soon(self, session: Session, post: Post, request_id: RequestId) -> None:
        """Give a POST that is still being handled a resumable stream now: in "sse" mode when
        the one-shot window passed (a timer callback; the task exists only then), and in any
        SSE-accepting mode when the handler cuts its stream before sending anything."""
        if self._unopened(session, post, request_id) and self.task_group is not None:
            self.task_group.start_soon(self._open_post_stream, session, post, request_id)

    async def _open_post_stream(self, session: Session, post: Post, request_id: RequestId) -> None:
        if not self._unopened(session, post, request_id):
            return  # answered, or a related message opened the stream meanwhile
        await self.upgrade(session, post, request_id)
        await self.stream_post(session, post, request_id)

    @staticmethod
    def _unopened(session: Session, post: Post, request_id: RequestId) -> bool:
        return (
            post.stream_id is None
            and post.opening is None
            and session.posts is not None
            and session.posts.get(request_id) is post
        )

    async def stream_post(
        self, session: Session, post: Post, request_id: RequestId, *, after: int = 0, started: bool = False
    ) -> None:
        """Tail a POST's stream to its HTTP response (started here unless ``started``: then
        the priming event and the events up to ``after`` were written already)."""
        assert post.stream_id is not None and post.done is not None
        send = post.send
        try:
            if not started:
                await send({"type": "http.response.start", "status": 200, "headers": sse.SSE_HEADERS})
            tail = self.tail(
                post.stream_id,
                after,
                keepalive=self.keepalive,
                post=post,
                request_id=request_id,
                prime=not started,
            )
            async with contextlib.aclosing(tail):  # the reader detaches now, not at garbage collection
                async for chunk in tail:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except Exception:  # the connection is gone; the events wait in the log for a resume
            log.debug("POST stream %s ended early", post.stream_id, exc_info=True)
        finally:
            post.done.set()

    # -- tailing the log --------------------------------------------------------------------------

    async def tail(
        self,
        stream_id: str,
        after: int,
        *,
        keepalive: float,
        post: Post | None = None,
        request_id: RequestId | None = None,
        prime: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        """Yield SSE chunks of a stream from ``after`` on: a priming event, then the events
        as they are appended. Ends when the stream closes, when a newer connection takes the
        stream over, or when the handler cuts its POST stream (polling). ``keepalive``: the
        idle time after which a ``:`` comment is written (:class:`.sse.Keepalive`)."""
        token = object()
        self._readers[stream_id] = token
        self.log.wake(stream_id)  # an older connection on this stream ends (takeover)
        await self.log.delivered(stream_id, after)
        chunk = sse.priming(format_event_id(stream_id, after), self.retry_ms) if prime else b""
        clock = sse.Keepalive(keepalive)
        telemetry.count("streams", 1)
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
                    chunk += b"".join(
                        sse.event(format_event_id(stream_id, seq), data) for seq, data in events
                    )
                    after = events[-1][0]
                if chunk:
                    yield chunk
                    chunk = b""
                    clock.touch()
                    if self._readers.get(stream_id) is not token:
                        return
                    await self.log.delivered(stream_id, after)  # writers waiting for this reader go on
                if closed or (post is not None and post.cut):
                    return
                # No cancel check here: the request's own task closes its stream on every path
                # (response appended, or closed when cancelled), after the handler is done.
                await self.log.wait(stream_id, after, min(clock.remaining(), 3600.0))
                if clock.due():
                    chunk = sse.KEEPALIVE
        finally:
            telemetry.count("streams", -1)
            if self._readers.get(stream_id) is token:
                del self._readers[stream_id]
                await self.log.detach(stream_id)

    def forget_reader(self, stream_id: str) -> None:
        self._readers.pop(stream_id, None)
