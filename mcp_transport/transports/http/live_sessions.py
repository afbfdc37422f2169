"""This worker's live parts of legacy (2025-era) sessions, and the way between them and their
records.

A session is a :class:`~mcp_transport.state.records.SessionRecord` in the shared store; a
worker that serves one of its requests builds the live part (:class:`~.sessions.Session`:
connection, dispatcher, open POSTs) from the record, refreshes it when another worker changed
the record, and writes back what a request changed (ready, log level, subscriptions) so the
session's next request sees it on any worker. Ending a session ends its live part here and,
through the cluster link, on every other worker.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from anyio.abc import TaskGroup

from ... import telemetry
from ...connection import Application
from ...errors import InvalidRequest
from ...jsonrpc import Request
from ...protocol import DEFAULT_HTTP_VERSION, LEGACY_VERSIONS, MODERN_VERSIONS
from ...state.records import SessionRecord
from ...state.shared import SharedState
from .asgi import HTTPError, Scope
from .cluster import ClusterLink
from .sessions import SESSION_HEADER, Session, session_not_found
from .streams import Link, Streams

__all__ = ["CAS_ATTEMPTS", "RECORDED", "LiveSessions"]

log = logging.getLogger("mcp_transport.http")

# Requests whose success changes what the session record holds (SessionRecord fields).
RECORDED = frozenset({"logging/setLevel", "resources/subscribe", "resources/unsubscribe"})
# Compare-and-set attempts on a record field before giving up (each loses only to another
# change of the same field by a concurrent request of the same session).
CAS_ATTEMPTS = 16


class LiveSessions:
    """``live`` holds this worker's live part of the sessions it served (built from the
    record on a session's first request here); the store (``state.sessions``) holds the
    sessions themselves."""

    def __init__(
        self,
        app: Application,
        principal: Callable[[Scope], str | None] | None,
        state: SharedState,
        streams: Streams,
        cluster: ClusterLink | None,
    ) -> None:
        self.app = app
        self.principal = principal
        self.store = state.sessions
        self.streams = streams
        self.worker = state.worker
        self.cluster = cluster
        self.live: dict[str, Session] = {}

    # -- a request's session --------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def record(self, scope: Scope, headers: dict[str, str]) -> AsyncIterator[SessionRecord]:
        """The record of the session a request names, held busy for the whole request (no
        worker's sweeper expires it under the request; its idle time counts from the end)."""
        record = await self._acquire(scope, headers)
        try:
            yield record
        finally:
            await self.store.release(record.id)

    @contextlib.asynccontextmanager
    async def session(
        self, scope: Scope, headers: dict[str, str], tg: TaskGroup | None
    ) -> AsyncIterator[Session]:
        """The live part of the session a request names (built from its record if this
        worker has none), held busy for the whole request (:meth:`enter` and :meth:`leave`)."""
        session, token = await self.enter(scope, headers, tg)
        try:
            yield session
        finally:
            await self.leave(session.id, token)

    async def enter(
        self, scope: Scope, headers: dict[str, str], tg: TaskGroup | None
    ) -> tuple[Session, contextvars.Token[str | None] | None]:
        """:meth:`session` without the async context manager, for the POST path (entering
        and leaving one costs more than the rest of the lookup): the live part and the
        telemetry token to pass to :meth:`leave`, which must follow on every path."""
        record = await self._acquire(scope, headers)
        # mcp.session.id on this request's spans (nothing to pay when telemetry is off)
        token = telemetry.SESSION_ID.set(record.id) if telemetry.STATE.on else None
        try:
            session = self.live.get(record.id)
            if session is None:
                assert tg is not None  # the endpoint starts its task group before any request
                session = self.live[record.id] = self.new_live(record.id, tg)
                telemetry.count("sessions", 1)
                session.connection.restore(_peer_state(record), record.ready)
                session.get_stream = record.get_stream
            elif self.cluster is not None:
                self.refresh(session, record)
            session.ready = record.ready
            session.get_holder = record.get_holder
        except BaseException:
            await self.leave(record.id, token)
            raise
        return session, token

    def leave(self, session_id: str, token: contextvars.Token[str | None] | None) -> Awaitable[None]:
        """The request that :meth:`enter` started on the session is over: await the release
        this returns (the store's own coroutine: no frame of this function's per request)."""
        if token is not None:
            telemetry.SESSION_ID.reset(token)
        return self.store.release(session_id)

    async def _acquire(self, scope: Scope, headers: dict[str, str]) -> SessionRecord:
        """Mark the session a request names busy (pair with ``release``); 400 without a
        session id, 404 for an unknown session or another principal's."""
        session_id = headers.get(SESSION_HEADER)
        if session_id is None:
            raise HTTPError(
                400,
                InvalidRequest(
                    "Missing Mcp-Session-Id header: send initialize first, "
                    "then the session id it returned on every request"
                ),
            )
        record = await self.store.acquire(session_id.strip())
        if record is None:
            stale = self.live.pop(session_id.strip(), None)
            if stale is not None:  # its record went without an end message (Redis dropped it)
                self.end_one(stale, "the session expired")
            raise session_not_found()
        try:
            self._check_session(scope, headers, record)
        except BaseException:
            await self.store.release(record.id)
            raise
        return record

    def _check_session(self, scope: Scope, headers: dict[str, str], session: SessionRecord) -> None:
        """Refuse a session of another principal (as if unknown) or a mismatched version header."""
        principal = self.principal
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

    # -- from the record ------------------------------------------------------------------------

    def new_live(self, session_id: str, tg: TaskGroup) -> Session:
        session = Session(session_id)
        link = Link(self.streams, session)
        session.connection = self.app.connect(link.send, tg, send_unrelated=link.send_unrelated)
        session.dispatcher.on_close_stream = link.close_stream
        if self.cluster is not None:
            # Server-to-client request ids name this worker: the client's answer, POSTed to
            # any worker, is routed here (to the dispatcher that waits for it).
            session.dispatcher.id_prefix(f"{self.worker}-")
        return session

    @staticmethod
    def refresh(session: Session, record: SessionRecord) -> None:
        """Another worker may have changed the session since this one last served it."""
        if session.get_stream is None:
            session.get_stream = record.get_stream
        mine = session.connection.snapshot()
        if (
            mine["log_level"] != record.log_level
            or mine["subscriptions"] != record.subscriptions
            or mine["version"] != record.version
        ):
            session.connection.restore(_peer_state(record), record.ready)

    # -- back to the record ---------------------------------------------------------------------

    async def mark_ready(self, session: Session) -> None:
        """The handshake completed (initialized came, or a request after initialize): the
        init timeout no longer applies (2025-11-25 basic/lifecycle#initialization)."""
        session.ready = True
        await self.store.update(session.id, ready=True)

    async def write_back(self, session: Session, request: Request) -> None:
        """Store what a successful setLevel / subscribe / unsubscribe (``RECORDED``) changed,
        so the session's next request sees it on any worker. Subscriptions change by one URI
        in a compare-and-set loop: a concurrent change on another worker is never overwritten."""
        mine = session.connection.snapshot()
        if request.method == "logging/setLevel":
            await self.store.update(session.id, log_level=mine["log_level"])
            return
        uri = (request.params or {}).get("uri")
        record = await self.store.get(session.id)
        for _ in range(CAS_ATTEMPTS):
            if record is None:
                return
            old = record.subscriptions
            new = old | {uri} if request.method == "resources/subscribe" else old - {uri}
            record = await self.store.update(session.id, expect={"subscriptions": old}, subscriptions=new)
            if record is not None:
                session.connection.restore(_peer_state(record), session.ready)
                holder = record.get_holder
                if self.cluster is not None and holder is not None and holder != self.worker:
                    # The holder delivers resources/updated: it must know the new set now.
                    await self.cluster.send(holder, "sync", s=session.id)
                return
            record = await self.store.get(session.id)
        log.warning("session %s: could not record its subscriptions (too much contention)", session.id)

    # -- ending ---------------------------------------------------------------------------------

    async def end_session(self, session_id: str, reason: str, *, removed: bool = False) -> None:
        """End a session everywhere: its record (unless the store ``removed`` it already),
        its streams, and its live part on every worker."""
        if not removed:
            await self.store.remove(session_id)
        session = self.live.pop(session_id, None)
        if session is not None:
            self.end_one(session, reason)
        await self.streams.log.drop_session(session_id)
        if self.cluster is not None:
            await self.cluster.publish("end", s=session_id, r=reason)

    def end_all(self, reason: str) -> None:
        """This worker stops: end the live part of its sessions (their records stay)."""
        live, self.live = self.live, {}
        for session in live.values():
            self.end_one(session, reason)

    def end_one(self, session: Session, reason: str) -> None:
        """End one live part that has already left ``live``."""
        telemetry.count("sessions", -1)  # every live part leaves self.live through here
        session.connection.close(reason)
        for request_id in list(session.posts or ()):
            self.streams.finish_post(session, request_id, None)
        if session.get_stream is not None:
            self.streams.forget_reader(session.get_stream)
            self.streams.log.wake(session.get_stream)


def _peer_state(record: SessionRecord) -> dict[str, Any]:
    return {
        "version": record.version,
        "capabilities": record.capabilities,
        "client_info": record.client_info,
        "log_level": record.log_level,
        "subscriptions": record.subscriptions,
    }
