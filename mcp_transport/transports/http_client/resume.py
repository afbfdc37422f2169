"""Reading the SSE streams of one Streamable HTTP connection, and following them when they
break: a request's own stream resumed with GET + ``Last-Event-ID``, and the server->client GET
stream kept open, both under the one reconnect policy of :mod:`.reconnect`
(2025-11-25 basic/transports#resumability-and-redelivery). A GET stream whose resume hits a
gap (409, -32011) reports it (``on_stream_gap``) and starts afresh."""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import anyio
import httpx

from ...dispatcher import contained
from ...errors import ConnectionClosed, MCPError, ResumeGap, TransportError
from ...jsonrpc import RequestId
from ..contract import ChannelState, Receive
from .reconnect import (
    MIN_SERVER_RETRY,
    RETRYABLE_STATUSES,
    Backoff,
    ReconnectPolicy,
    StreamGap,
    StreamGapCallback,
)
from .sse_parser import EventTooLarge, SSEParser
from .wire import content_type, deliver

__all__ = ["DRAIN_SECONDS", "NoStream", "StreamBroke", "StreamFollower", "StreamSource"]

log = logging.getLogger("mcp_transport.client.http")

# After the answer arrived, the rest of a stream is read (so the connection is reused) for at
# most this long; a server that keeps the stream open after the answer is cut off.
DRAIN_SECONDS = 2.0
# The first GET answered with one of these means "no server->client stream here": 405 is the
# spec's answer (2025-11-25 basic/transports#listening-for-messages-from-the-server);
# stateless servers commonly say 404 or 400.
_NO_STREAM = frozenset({400, 404, 405})


class StreamBroke(Exception):
    """An SSE stream ended (or broke) before the awaited answer."""


class NoStream(Exception):
    """The first GET was answered 400/404/405: the server offers no GET stream."""


class StreamSource(Protocol):
    """What the follower needs of its transport."""

    state: ChannelState  # the GET stream's state, which the follower keeps up to date

    @property
    def closed(self) -> bool: ...

    def open_get(self, last_event_id: str | None, what: str) -> AbstractAsyncContextManager[httpx.Response]:
        """One GET of the stream (with ``Last-Event-ID`` if given)."""
        ...

    def status_error(self, response: httpx.Response, what: str) -> MCPError: ...


class StreamFollower:
    """Delivers every message of a stream to ``receive`` and follows broken ones."""

    def __init__(
        self,
        source: StreamSource,
        receive: Receive,
        policy: ReconnectPolicy,
        on_stream_gap: StreamGapCallback | None,
    ) -> None:
        self.source = source
        self.receive = receive
        self.policy = policy
        self.on_stream_gap = on_stream_gap

    async def consume(
        self,
        response: httpx.Response,
        parser: SSEParser,
        answer_id: RequestId | None,
        backoff: Backoff | None = None,
    ) -> None:
        """Read an SSE stream, delivering its messages. Returns once ``answer_id`` is answered
        (after draining the rest of the stream, bounded); raises StreamBroke if the stream
        ends or breaks first."""
        answered = False
        with anyio.CancelScope() as drain:
            try:
                async for chunk in response.aiter_bytes():
                    for event in parser.feed(chunk):
                        if not event.data:
                            continue  # a priming event: a resume cursor, no message
                        delivered, answers = await deliver(event.data, self.receive, answer_id)
                        if delivered and backoff is not None:
                            backoff.reset()  # only a message proves the stream healthy
                        if answers:
                            answered = True
                            drain.deadline = anyio.current_time() + DRAIN_SECONDS
            except EventTooLarge as exc:
                raise TransportError(f"the server sent an oversized SSE event: {exc}") from None
            except httpx.TransportError as exc:
                if not answered:
                    log.debug("SSE stream broke: %s", exc)
                    raise StreamBroke(str(exc)) from None
        if not answered:
            raise StreamBroke("the stream ended")

    async def follow(self, parser: SSEParser, answer_id: RequestId | None, what: str) -> None:
        """GET the stream again and again under the one reconnect policy (every resume, the
        GET stream's and a request's), resuming from the parser's ``Last-Event-ID``, until
        ``answer_id`` is answered. With ``answer_id`` None this is the GET stream: it starts
        with a plain GET, is followed until the client closes, and a resume gap is reported
        and answered with a fresh GET. Raises the first final error, or ConnectionClosed once
        the budget is spent."""
        backoff = Backoff(self.policy)
        listening = answer_id is None
        delay = 0.0 if listening else backoff.next_delay(parser.retry)
        error: Exception = StreamBroke("the stream ended")
        first = listening
        while delay is not None:
            if not first:  # the GET stream's first GET goes out at once, as the handshake ends
                if listening:
                    self.source.state = ChannelState.RECONNECTING
                await anyio.sleep(delay)
                parser = _continued(parser)
            try:
                await self._get(parser, answer_id, what, backoff, first)
                return
            except StreamBroke as exc:
                error = exc
            except ResumeGap as gap:
                if not listening or parser.last_event_id is None:
                    raise
                await self._report_gap(parser.last_event_id, gap)
                parser.last_event_id = None  # the messages are gone: start a fresh stream
                delay, first = MIN_SERVER_RETRY, False  # not a failure: no budget spent
                continue
            except MCPError as exc:
                if self.source.closed or not _transient(exc):
                    raise
                log.debug("%s failed: %s", what, exc)
                error = exc
            first = False
            delay = backoff.next_delay(parser.retry)
        raise ConnectionClosed(f"{what}: gave up after {backoff.attempts} reconnect attempts (last: {error})")

    async def _get(
        self, parser: SSEParser, answer_id: RequestId | None, what: str, backoff: Backoff, first: bool
    ) -> None:
        async with self.source.open_get(parser.last_event_id, what) as response:
            if first and response.status_code in _NO_STREAM:
                await response.aread()
                raise NoStream(response.status_code)
            if response.status_code >= 400 or content_type(response) != "text/event-stream":
                await response.aread()
                raise self.source.status_error(response, what)
            if answer_id is None:
                self.source.state = ChannelState.CONNECTED
            await self.consume(response, parser, answer_id, backoff)

    async def _report_gap(self, last_event_id: str, gap: ResumeGap) -> None:
        log.warning("%s; continuing with a fresh GET stream", gap.message)
        if self.on_stream_gap is not None:
            await contained(self.on_stream_gap(StreamGap(last_event_id, gap)), "on_stream_gap")

    async def listen(self, scope: anyio.CancelScope) -> None:
        """The GET stream for server-initiated messages, followed until the client closes.
        404/405 on the first GET means none is offered (state NONE); a spent budget or a
        final refusal leaves it FAILED. Requests do not depend on it."""
        with scope:
            try:
                await self.follow(SSEParser(), None, "GET stream")
            except NoStream:
                self.source.state = ChannelState.NONE
            except MCPError as exc:
                self._listener_failed()
                log.warning("the server->client stream failed: %s", exc)
            except Exception:  # a bug must not take the whole Client down with the reader
                self._listener_failed()
                log.exception("the server->client stream failed")

    def _listener_failed(self) -> None:
        if not self.source.closed:  # closing ends the reader too; the state stays CLOSED then
            self.source.state = ChannelState.FAILED


def _transient(error: MCPError) -> bool:
    """Whether another attempt may succeed: a network failure (no HTTP status), or a status
    that says the server or a proxy is briefly unable to answer."""
    status = error.status  # set by status_error on every HTTP error status
    return isinstance(error, TransportError) if status is None else status in RETRYABLE_STATUSES


def _continued(parser: SSEParser) -> SSEParser:
    """A fresh parser for a reconnected stream that keeps the resume cursor and retry."""
    fresh = SSEParser(parser.max_event_bytes)
    fresh.last_event_id = parser.last_event_id
    fresh.retry = parser.retry
    return fresh
