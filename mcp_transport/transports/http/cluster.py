"""Messages between the workers that share one deployment's state (several workers only).

A message is a small JSON object ``{"k": kind, ...}``: sent to one worker through its inbox
(``send``: nothing is lost while that worker is busy) or to every worker through the
broadcast channel (``publish``: fire and forget). Each worker runs one reader of each
(:meth:`ClusterLink.run`) and hands every message to the handler registered for its kind;
a handler that raises is logged and the reader goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import orjson
from anyio.abc import TaskGroup

from ...errors import StateUnavailable
from ...state.shared import SharedState

__all__ = ["ClusterLink", "Handler"]

log = logging.getLogger("mcp_transport.http")

Handler = Callable[[dict[str, Any]], Awaitable[None]]

# After Redis failed, a reader waits this long before it tries again.
_RETRY = 1.0
# A reader's blocking read returns at least this often (the connection caps it further).
_POLL = 60.0


class ClusterLink:
    """This worker's end of the inbox and the broadcast channel."""

    def __init__(self, state: SharedState) -> None:
        assert state.inbox is not None and state.broadcast is not None
        self.worker = state.worker
        self._inbox = state.inbox
        self._broadcast = state.broadcast
        self.handlers: dict[str, Handler] = {}

    async def send(self, worker: str, kind: str, **fields: Any) -> None:
        await self._inbox.send(worker, orjson.dumps({"k": kind, **fields}))

    async def publish(self, kind: str, **fields: Any) -> None:
        await self._broadcast.publish(orjson.dumps({"k": kind, **fields}))

    def run(self, tg: TaskGroup) -> None:
        tg.start_soon(self._read_inbox)
        tg.start_soon(self._read_broadcast)

    async def _read_inbox(self) -> None:
        while True:
            try:
                batch = await self._inbox.receive(_POLL)
            except StateUnavailable as exc:
                log.warning("worker %s: inbox: %s", self.worker, exc.message)
                await anyio.sleep(_RETRY)
                continue
            for data in batch:
                await self._handle(data)

    async def _read_broadcast(self) -> None:
        while True:
            try:
                async with self._broadcast.listen() as subscription:
                    while True:
                        data = await subscription.receive(_POLL)
                        if data is not None:
                            await self._handle(data)
            except StateUnavailable as exc:
                log.warning("worker %s: broadcast: %s", self.worker, exc.message)
                await anyio.sleep(_RETRY)

    async def _handle(self, data: bytes) -> None:
        try:
            message = orjson.loads(data)
            handler = self.handlers.get(message.get("k"))
            if handler is None:
                log.debug("worker %s: no handler for cluster message %r", self.worker, message.get("k"))
                return
            await handler(message)
        except Exception:  # one bad message must not stop the reader
            log.exception("worker %s: handling a cluster message failed", self.worker)
