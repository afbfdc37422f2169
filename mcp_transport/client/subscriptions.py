"""The client side of ``subscriptions/listen`` (2026-07-28, digest §6.9): one open listen
request, iterated for the change notifications tagged with its subscription id."""

from __future__ import annotations

import logging
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..jsonrpc import RequestId

__all__ = ["MAX_BUFFERED", "Subscription"]

log = logging.getLogger("mcp_transport.client")

# Notifications a slow reader may leave waiting; beyond that a repeat of a queued one is
# dropped (change notifications say "look again", so one queued copy is enough).
MAX_BUFFERED = 256


class Subscription:
    """An open ``subscriptions/listen``. ``async for method, params in subscription`` yields
    the notifications the server sends on it; iteration ends when the server ends the
    subscription (``error`` is set if it ended because the request failed). ``id`` is the
    subscription id (the listen request's JSON-RPC id); ``honoured`` is the filter the server
    acknowledged (types it does not support are left out)."""

    def __init__(self, requested: dict[str, Any], max_buffered: int = MAX_BUFFERED) -> None:
        self.requested = requested
        self.id: RequestId | None = None
        self.honoured: dict[str, Any] = {}
        self.error: BaseException | None = None
        self.acknowledged = anyio.Event()
        self._send: MemoryObjectSendStream[tuple[str, dict[str, Any]]]
        self._receive: MemoryObjectReceiveStream[tuple[str, dict[str, Any]]]
        self._send, self._receive = anyio.create_memory_object_stream(max_buffered)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> tuple[str, dict[str, Any]]:
        try:
            return await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None

    def acknowledge(self, subscription_id: RequestId, params: dict[str, Any]) -> None:
        self.id = subscription_id
        honoured = params.get("notifications")
        self.honoured = dict(honoured) if isinstance(honoured, dict) else {}
        self.acknowledged.set()

    def deliver(self, method: str, params: dict[str, Any]) -> None:
        try:
            self._send.send_nowait((method, params))
        except anyio.WouldBlock:
            log.warning("subscription %r: reader too slow, dropping %s", self.id, method)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass

    def end(self, error: BaseException | None = None) -> None:
        if error is not None and self.error is None:
            self.error = error
        self._send.close()
        self.acknowledged.set()  # wake a listen() still waiting for the acknowledgement

    async def aclose(self) -> None:
        self.end()
        await self._receive.aclose()
