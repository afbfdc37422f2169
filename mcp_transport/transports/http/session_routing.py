"""A legacy session's messages between workers (several workers only).

Any worker may receive a session's POST or GET, but a handler waits on the worker that runs
it and the GET stream has one holder. So a client's answer to a server request goes to the
worker whose dispatcher waits for it, a cancellation of a request not running here goes to
every worker, a DELETE ends the session's live part everywhere, a GET takeover ends the
previous holder's response, and a record change reaches the holder's copy. Each message is
a kind on the :class:`~.cluster.ClusterLink`, handled here.
"""

from __future__ import annotations

from typing import Any

from ... import jsonrpc
from ...jsonrpc import ErrorResponse, Message, Notification, Result
from .cluster import ClusterLink
from .live_sessions import CAS_ATTEMPTS, LiveSessions
from .sessions import Session, session_not_found

__all__ = ["SessionRouting"]


class SessionRouting:
    """Routes the messages of this worker's live sessions to and from the other workers."""

    def __init__(self, sessions: LiveSessions, cluster: ClusterLink) -> None:
        self.sessions = sessions
        self.cluster = cluster
        self.worker = sessions.worker
        cluster.handlers.update(
            {"msg": self._on_message, "end": self._on_end, "unget": self._on_unget, "sync": self._on_sync}
        )

    async def forward(self, session: Session, message: Message) -> bool:
        """Send a client's answer, cancellation or notification to the worker that waits for
        it (its request id names it), or, for a cancellation of a request not running here,
        to every worker. False: it is this worker's to deliver."""
        target = _waiting_worker(message)
        if target is not None and target != self.worker:
            await self.cluster.send(target, "msg", s=session.id, m=jsonrpc.dump(message).decode())
            return True
        if (
            isinstance(message, Notification)
            and message.method == "notifications/cancelled"
            and not session.dispatcher.is_handling((message.params or {}).get("requestId"))
        ):
            await self.cluster.publish("msg", s=session.id, m=jsonrpc.dump(message).decode())
            return True
        return False

    async def take_get_stream(self, session: Session, stream_id: str) -> None:
        """Make this worker the GET stream's holder (compare-and-set on the record's
        ``get_holder``) and tell the previous holder to end its response: one response per
        stream (2025-11-25 basic/transports#multiple-connections). The holder (at first the
        worker that created the session) is the one worker whose copy of the session
        receives the server's broadcasts (list_changed, resources/updated), so each reaches
        the session once."""
        store = self.sessions.store
        seen = session.get_holder
        for _ in range(CAS_ATTEMPTS):
            if await store.update(session.id, expect={"get_holder": seen}, get_holder=self.worker):
                break
            record = await store.get(session.id)
            if record is None:
                raise session_not_found()
            seen = record.get_holder
        session.get_holder = self.worker
        session.connection.open()
        if seen is not None and seen != self.worker:
            await self.cluster.send(seen, "unget", s=session.id, g=stream_id)

    # -- handlers of the messages other workers send ---------------------------------------------

    async def _on_message(self, data: dict[str, Any]) -> None:
        session = self.sessions.live.get(data["s"])
        if session is not None:
            message = jsonrpc.parse(data["m"])
            assert not isinstance(message, list)
            await session.dispatcher.receive(message)

    async def _on_end(self, data: dict[str, Any]) -> None:
        session = self.sessions.live.pop(data["s"], None)
        if session is not None:
            self.sessions.end_one(session, data["r"])

    async def _on_sync(self, data: dict[str, Any]) -> None:
        """Another worker changed the session's record: refresh this worker's copy."""
        session = self.sessions.live.get(data["s"])
        record = await self.sessions.store.get(data["s"]) if session is not None else None
        if session is not None and record is not None:
            self.sessions.refresh(session, record)

    async def _on_unget(self, data: dict[str, Any]) -> None:
        """Another worker took the GET stream over: this worker's response on it ends, and
        that worker delivers the session's broadcasts from now on."""
        session = self.sessions.live.get(data["s"])
        if session is not None:
            session.get_holder = None
            session.connection.mute()
            streams = self.sessions.streams
            streams.forget_reader(data["g"])
            streams.log.wake(data["g"])


def _waiting_worker(message: Message) -> str | None:
    """The worker named by the id of the server request a client message answers or
    reports progress on (ids ``<worker>-<n>``, see :meth:`.LiveSessions.new_live`)."""
    if isinstance(message, (Result, ErrorResponse)):
        rid: object = message.id
    elif isinstance(message, Notification) and message.method == "notifications/progress":
        rid = (message.params or {}).get("progressToken")
    else:
        return None
    if isinstance(rid, str):
        worker, sep, _ = rid.partition("-")
        if sep:
            return worker
    return None
