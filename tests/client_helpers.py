"""Helpers for the tests that drive a ``Client`` against a real server: calls pending when the
connection ends, a recording transport, and the watched-resource round trip."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from mcp_transport import Client, MCPError
from mcp_transport.jsonrpc import Message

__all__ = ["WATCHED", "Recording", "pending_calls_then", "touch_watched_resource", "wait_until"]

WATCHED = "test://watched-resource"  # servers.everything's resource that touch_watched_resource updates


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


class Recording:
    """Mixed in before a transport class: ``received`` keeps every message it delivers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[Message] = []

    async def start(self, receive: Any, task_group: Any, on_closed: Any) -> None:
        async def recording(message: Message) -> None:
            self.received.append(message)
            await receive(message)

        await super().start(recording, task_group, on_closed)  # type: ignore[misc]  # the mixin calls the transport's start it is mixed into


async def touch_watched_resource(client: Client, updates: list[str], timeout: float = 5) -> None:
    """Subscribe to :data:`WATCHED`, have the server touch it, and wait until the client's
    notification handler has appended something to ``updates``."""
    await client.subscribe_resource(WATCHED)
    await client.call_tool("touch_watched_resource", {})
    with anyio.fail_after(timeout):
        await wait_until(lambda: bool(updates))


async def wait_until(predicate: Callable[[], bool], poll: float = 0.01) -> None:
    """Return once ``predicate()`` holds, checking every ``poll`` seconds (bound it with
    ``anyio.fail_after`` or ``move_on_after``): for state no event announces."""
    while True:
        if predicate():
            return
        await anyio.sleep(poll)
