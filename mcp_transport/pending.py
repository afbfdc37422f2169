"""Outbound requests awaiting a response: id allocation and resolution, for the
:class:`~mcp_transport.dispatcher.Dispatcher`. Synchronous on purpose, so the rules ("a
response resolves exactly one request", "close resolves all of them") are tested without an
event loop."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from .errors import ConnectionClosed, RemoteError
from .jsonrpc import ErrorResponse, RequestId, Result

__all__ = ["PendingTable", "ProgressCallback"]

ProgressCallback = Callable[[float, "float | None", "str | None"], Awaitable[None]]


class _Pending:
    __slots__ = ("done", "hard_deadline", "on_progress", "outcome", "scope", "timeout")

    def __init__(self, on_progress: ProgressCallback | None, timeout: float) -> None:
        self.done = anyio.Event()
        self.outcome: dict[str, Any] | Exception | None = None
        self.on_progress = on_progress
        self.scope: anyio.CancelScope | None = None
        self.timeout = timeout
        self.hard_deadline = math.inf


class PendingTable:
    """Outbound requests awaiting a response: id allocation and resolution.

    Synchronous on purpose: every state change is a plain method call, so the rules ("a
    response resolves exactly one request", "close resolves all of them") are tested without
    an event loop.
    """

    __slots__ = ("_next_id", "_pending", "closed", "prefix")

    def __init__(self) -> None:
        self._next_id = 0
        self._pending: dict[RequestId, _Pending] = {}
        self.closed: Exception | None = None
        # With a prefix, ids are strings "<prefix><n>": a peer's answer then names who waits
        # for it (an HTTP session served by several workers routes it to the right one).
        self.prefix: str | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def open(
        self, on_progress: ProgressCallback | None = None, timeout: float = math.inf
    ) -> tuple[RequestId, _Pending]:
        if self.closed is not None:
            raise ConnectionClosed(f"the connection is closed: {self.closed}")
        self._next_id += 1
        rid: RequestId = self._next_id if self.prefix is None else f"{self.prefix}{self._next_id}"
        entry = _Pending(on_progress, timeout)
        self._pending[rid] = entry
        return rid, entry

    def get(self, request_id: Any) -> _Pending | None:
        """The pending request with this id. The key comes from the peer (a progress token
        may be any JSON value): anything but a string or an integer is simply unknown."""
        return self._pending.get(request_id) if type(request_id) in (str, int) else None

    def resolve(self, message: Result | ErrorResponse) -> bool:
        """Complete the request this response answers. False for an unknown id (ignored)."""
        entry = self._pending.pop(message.id, None) if message.id is not None else None
        if entry is None:
            return False
        if isinstance(message, Result):
            entry.outcome = message.result
        else:
            err = message.error
            entry.outcome = RemoteError(err.code, err.message, err.data)
        entry.done.set()
        return True

    def fail(self, request_id: Any, error: Exception) -> bool:
        """Complete a request with a local error (its transport lost it). False if unknown."""
        entry = self._pending.pop(request_id, None)
        if entry is None:
            return False
        entry.outcome = error
        entry.done.set()
        return True

    def forget(self, request_id: RequestId) -> None:
        self._pending.pop(request_id, None)

    def close(self, reason: str) -> None:
        """Fail every pending request with ConnectionClosed; later opens fail at once."""
        if self.closed is None:
            self.closed = ConnectionClosed(reason)
        pending, self._pending = self._pending, {}
        for entry in pending.values():
            entry.outcome = ConnectionClosed(f"the connection closed before the response arrived: {reason}")
            entry.done.set()
