"""The live part of a legacy (2025-era) session on this worker and the POSTs it is answering.

2025-11-25 basic/transports#session-management: ``initialize`` mints the session; every
later request names it in ``Mcp-Session-Id``. What every worker needs to know of a session
is its :class:`~mcp_transport.state.records.SessionRecord` in the session store; this object
holds only what cannot leave the worker (dispatcher, running handlers, open responses), and
any worker builds one from the record. Small, slotted and cycle-free: the dispatcher reaches
back to the transport only through a weak reference (see :class:`.streams.Link`), so
sessions are freed by reference counting alone.
"""

from __future__ import annotations

import anyio

from ...connection import Connection
from ...dispatcher import Dispatcher
from ...errors import SessionNotFound
from ...jsonrpc import ErrorResponse, RequestId, Result
from .asgi import HTTPError, Send

__all__ = ["SESSION_HEADER", "Post", "Session", "session_not_found"]

SESSION_HEADER = "mcp-session-id"


def session_not_found() -> HTTPError:
    return HTTPError(
        404,
        SessionNotFound(
            "Session not found: it expired, was deleted, or never existed; "
            "send a new initialize without Mcp-Session-Id"
        ),
    )


class Post:
    """A POSTed request being answered: where its related messages go."""

    __slots__ = ("accept_sse", "cut", "done", "opening", "response", "send", "stream_id")

    def __init__(self, accept_sse: bool, send: Send) -> None:
        self.accept_sse = accept_sse
        self.done: anyio.Event | None = None  # created with the stream: its tailer finished the response
        # Set while the stream is being created in the log: other writers wait for it.
        self.opening: anyio.Event | None = None
        self.send = send  # the HTTP response (the handler runs in the request's task)
        self.response: Result | ErrorResponse | None = None
        self.stream_id: str | None = None  # published once the log holds the stream
        self.cut = False  # the handler asked to end the HTTP response early (polling)


class Session:
    """The live part of one legacy session on this worker."""

    __slots__ = (
        "__weakref__",
        "connection",
        "get_holder",
        "get_opening",
        "get_stream",
        "id",
        "posts",
        "ready",
    )

    def __init__(self, session_id: str) -> None:
        self.id = session_id
        self.ready = False  # the record says ready (saves a store update per request once it is)
        self.get_holder: str | None = None  # the record's GET holder when last seen (several workers)
        self.posts: dict[RequestId, Post] | None = None
        self.get_stream: str | None = None  # stream id of the standalone GET stream, once created
        self.get_opening: anyio.Event | None = None  # set while that stream is being created
        self.connection: Connection

    @property
    def dispatcher(self) -> Dispatcher:
        return self.connection.dispatcher

    @property
    def version(self) -> str | None:
        return self.connection.protocol_version

    def finish_post(self, request_id: RequestId, response: Result | ErrorResponse | None) -> Post | None:
        """Forget a POST that got its answer (or none: cancelled, session ended)."""
        posts = self.posts
        post = posts.pop(request_id, None) if posts else None
        if post is None:
            return None
        if not posts:
            self.posts = None
        post.response = response
        return post
