"""The client side of ``subscriptions/listen`` (2026-07-28 basic/patterns/subscriptions): one
open listen request, iterated for the change notifications tagged with its subscription id."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..errors import RequestTimeout
from ..jsonrpc import RequestId
from ..protocol import META_SUBSCRIPTION_ID

__all__ = ["MAX_BUFFERED", "Listener", "Subscription", "listen_filter"]

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


SendListen = Callable[[Mapping[str, Any]], Awaitable[dict[str, Any]]]
"""Sends one ``subscriptions/listen`` with these params and waits for its result (no timeout)."""


def listen_filter(
    notifications: Mapping[str, Any] | None, flags: Mapping[str, bool], resources: list[str] | None
) -> dict[str, Any]:
    """The ``notifications`` filter of a listen: the raw one, plus each flag that is on
    (``toolsListChanged``, ...), plus ``resourceSubscriptions`` if any are named."""
    wanted: dict[str, Any] = dict(notifications or {})
    wanted.update({key: True for key, on in flags.items() if on})
    if resources:
        wanted["resourceSubscriptions"] = resources
    return wanted


class Listener:
    """The client's open listens: :meth:`open` starts one, :meth:`route` hands each server
    notification tagged with a subscription id to its :class:`Subscription`."""

    def __init__(self, send: SendListen) -> None:
        self._send = send
        self._lock = anyio.Lock()
        self._subscriptions: dict[RequestId, Subscription] = {}  # open listens by subscription id
        self._unclaimed: list[Subscription] = []  # listens awaiting their acknowledgement

    def route(self, method: str, params: dict[str, Any]) -> None:
        meta = params.get("_meta")
        sid = meta.get(META_SUBSCRIPTION_ID) if isinstance(meta, dict) else None
        if sid is None:
            return
        if method == "notifications/subscriptions/acknowledged" and sid not in self._subscriptions:
            if self._unclaimed:
                subscription = self._unclaimed.pop(0)
                self._subscriptions[sid] = subscription
                subscription.acknowledge(sid, params)
        elif sid in self._subscriptions:
            self._subscriptions[sid].deliver(method, params)

    @asynccontextmanager
    async def open(
        self, wanted: dict[str, Any], task_group: TaskGroup, timeout: float
    ) -> AsyncIterator[Subscription]:
        """Send the listen in ``task_group`` and yield its subscription once acknowledged
        (RequestTimeout after ``timeout`` seconds); leaving the block ends it."""
        subscription = Subscription(wanted)
        scope = anyio.CancelScope()
        finished = anyio.Event()

        async def run() -> None:
            try:
                with scope:
                    await self._send({"notifications": wanted})
                subscription.end()
            except Exception as exc:  # the subscription ends with the error; listen() raises it
                subscription.end(exc)
            finally:
                finished.set()

        await self._start(subscription, run, task_group, timeout)
        try:
            if subscription.id is None:
                scope.cancel()
                if subscription.error is not None:
                    raise subscription.error
                raise RequestTimeout(f"subscriptions/listen was not acknowledged within {timeout:g} s")
            yield subscription
        finally:
            scope.cancel()
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                await finished.wait()
            if subscription.id is not None:
                self._subscriptions.pop(subscription.id, None)
            await subscription.aclose()

    async def _start(
        self,
        subscription: Subscription,
        run: Callable[[], Coroutine[Any, Any, None]],
        task_group: TaskGroup,
        timeout: float,
    ) -> None:
        # One listen awaits its acknowledgement at a time, so the first unclaimed
        # acknowledgement is ours (the subscription id is the request id, allocated inside).
        async with self._lock:
            self._unclaimed.append(subscription)
            try:
                task_group.start_soon(run)
                with anyio.move_on_after(timeout):
                    await subscription.acknowledged.wait()
            finally:
                if subscription in self._unclaimed:
                    self._unclaimed.remove(subscription)
