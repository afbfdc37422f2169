"""``RequestScope``: the cancel scope of one inbound request, on native asyncio cancellation.

The dispatcher runs every inbound request under one; the modern HTTP leg shares it with its
disconnect watcher so a client that goes away cancels the handler.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["RequestScope"]

_T = TypeVar("_T")


class RequestScope:
    """The cancel scope of one inbound request: :meth:`cancel` (from
    ``notifications/cancelled``, ``Dispatcher.close``, a transport's disconnect watcher)
    interrupts the task running it at its next ``await`` and :meth:`run` then returns None.

    Native asyncio cancellation, counted the way ``asyncio.timeout`` counts it (``uncancel``),
    so a cancellation of the task from outside still propagates. Not an ``anyio.CancelScope``:
    entering and leaving one cost ~46,000 instructions per request, more than the rest of the
    dispatch (docs/performance.md). A cancelled handler gets one ``CancelledError``; anyio code
    inside it (task groups, sleeps) sees it as a cancellation from outside, as it should.
    """

    __slots__ = ("_task", "cancel_called")

    def __init__(self) -> None:
        self.cancel_called = False
        self._task: asyncio.Task[Any] | None = None

    def cancel(self) -> None:
        if not self.cancel_called:
            self.cancel_called = True
            if self._task is not None:
                self._task.cancel()

    def _cancelled(self) -> bool:
        # a method, not the attribute: a type checker would keep the attribute narrowed to
        # False across the await that cancel() interrupts
        return self.cancel_called

    async def run(self, call: Coroutine[Any, Any, _T]) -> _T | None:
        """Await ``call`` in the current task under this scope; None if it was cancelled
        (also when the handler swallowed the cancellation and returned)."""
        if self.cancel_called:  # cancelled before it started: it never runs
            call.close()
            return None
        task = self._task = asyncio.current_task()
        assert task is not None  # always awaited from a task
        try:
            result = await call
        except asyncio.CancelledError:
            self._task = None
            if self._cancelled() and task.uncancel() == 0:
                return None
            raise  # (also) cancelled from outside
        self._task = None
        if self._cancelled():  # interrupted, but the handler caught it and returned
            task.uncancel()
            return None
        return result
