"""A helper for the tests that end a connection while calls are pending on it."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from mcp_transport import MCPError

__all__ = ["pending_calls_then"]


async def pending_calls_then(
    action: Callable[[], Any], call: Callable[[], Awaitable[Any]], *, count: int, settle: float
) -> list[MCPError]:
    """Start ``count`` concurrent ``call()``s, let them settle for ``settle`` seconds, run
    ``action()`` (sync or async: kill the server, close the client), and return the
    MCPErrors the calls raised once all of them have ended."""
    outcomes: list[MCPError] = []

    async def one() -> None:
        try:
            await call()
        except MCPError as exc:
            outcomes.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(one)
        await anyio.sleep(settle)
        done = action()
        if inspect.isawaitable(done):
            await done
    return outcomes
