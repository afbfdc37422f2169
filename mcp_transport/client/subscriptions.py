"""The client side of ``subscriptions/listen`` (2026-07-28, digest §6.9): one open listen
request, iterated for the change notifications tagged with its subscription id."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..errors import RequestTimeout, UsageError
from ..jsonrpc import RequestId
from ..protocol import Era

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from ..dispatcher import ProgressCallback

__all__ = ["MAX_BUFFERED", "Listening", "Subscription"]

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


class Listening:
    """Mixed into ``Client``: :meth:`listen`. The client's notification handler matches the
    acknowledgement to ``_unclaimed`` and delivers tagged notifications by ``_subscriptions``."""

    era: Era
    timeout: float | None
    _task_group: TaskGroup | None
    _listen_lock: anyio.Lock
    _unclaimed: list[Subscription]
    _subscriptions: dict[RequestId, Subscription]

    if TYPE_CHECKING:  # provided by Client

        async def _request_once(
            self,
            method: str,
            params: Mapping[str, Any] | None,
            timeout: float | None,
            on_progress: ProgressCallback | None,
        ) -> dict[str, Any]: ...

    @asynccontextmanager
    async def listen(
        self,
        *,
        tools_list_changed: bool = False,
        prompts_list_changed: bool = False,
        resources_list_changed: bool = False,
        resource_subscriptions: Sequence[str] | None = None,
        notifications: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Subscription]:
        """Open a ``subscriptions/listen`` (modern era, digest §6.9) and yield its
        :class:`Subscription` once the server acknowledged it; leaving the block ends it
        (HTTP: the stream closes; stdio: notifications/cancelled). ``notifications`` is the
        raw filter, for keys this method does not name.

            async with client.listen(tools_list_changed=True) as subscription:
                async for method, params in subscription:
                    ...
        """
        if self.era is not Era.MODERN:
            raise UsageError(
                "subscriptions/listen is a 2026-07-28 request; legacy servers send changes to on_notification"
            )
        wanted: dict[str, Any] = dict(notifications or {})
        for key, on in (
            ("toolsListChanged", tools_list_changed),
            ("promptsListChanged", prompts_list_changed),
            ("resourcesListChanged", resources_list_changed),
        ):
            if on:
                wanted[key] = True
        if resource_subscriptions:
            wanted["resourceSubscriptions"] = list(resource_subscriptions)
        if self._task_group is None:
            raise UsageError("cannot listen: the client is not open")
        subscription = Subscription(wanted)
        scope = anyio.CancelScope()
        finished = anyio.Event()

        async def run() -> None:
            try:
                with scope:
                    await self._request_once(
                        "subscriptions/listen", {"notifications": wanted}, math.inf, None
                    )
                subscription.end()
            except Exception as exc:  # the subscription ends with the error; listen() raises it
                subscription.end(exc)
            finally:
                finished.set()

        # One listen awaits its acknowledgement at a time, so the first unclaimed
        # acknowledgement is ours (the subscription id is the request id, allocated inside).
        async with self._listen_lock:
            self._unclaimed.append(subscription)
            try:
                self._task_group.start_soon(run)
                with anyio.move_on_after(self.timeout):
                    await subscription.acknowledged.wait()
            finally:
                if subscription in self._unclaimed:
                    self._unclaimed.remove(subscription)
        try:
            if subscription.id is None:
                scope.cancel()
                if subscription.error is not None:
                    raise subscription.error
                raise RequestTimeout(f"subscriptions/listen was not acknowledged within {self.timeout:g} s")
            yield subscription
        finally:
            scope.cancel()
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                await finished.wait()
            self._subscriptions.pop(subscription.id, None)
            await subscription.aclose()
