"""Waiting, in a test, for a condition that the code under test makes true.

The conditions belong to the library or to another process (a client's channel state, a
server's subscription table, notifications a handler recorded), which offer no event to wait
on; adding one to the library only for its tests would change the code under test. So the
tests poll, always here, always with a deadline.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio

__all__ = ["until"]


async def until(condition: Callable[[], object], timeout: float = 5, interval: float = 0.01) -> None:
    """Return as soon as ``condition()`` is true; fail (TimeoutError) after ``timeout`` seconds."""
    with anyio.fail_after(timeout):
        while not condition():  # noqa: ASYNC110 - see the module docstring
            await anyio.sleep(interval)
