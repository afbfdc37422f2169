"""Shared by the streaming scenarios: run the progress-streaming tool on a POST SSE stream, fully or
until a number of progress notifications, and look at what came back."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ..context import Context, LegacySession
from ..http import Stream
from ..model import Unsupported
from ..sse import SseEvent

__all__ = ["ToolRun", "is_progress", "is_response", "read_until_response", "run_tool"]


def is_progress(message: Any, token: str | None = None) -> bool:
    if not isinstance(message, dict) or message.get("method") != "notifications/progress":
        return False
    return token is None or (message.get("params") or {}).get("progressToken") == token


def is_response(message: Any, rid: int) -> bool:
    return (
        isinstance(message, dict) and message.get("id") == rid and ("result" in message or "error" in message)
    )


@dataclass
class ToolRun:
    rid: int
    token: str
    sent: str
    events: list[SseEvent] = field(default_factory=list)
    complete: bool = False  # the JSON-RPC response arrived
    elapsed: float = 0.0

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [m for m in (e.json() for e in self.events) if isinstance(m, dict)]

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self.events if e.id]

    def progress(self) -> list[Any]:
        return [m["params"].get("progress") for m in self.messages if is_progress(m, self.token)]

    def response(self) -> dict[str, Any] | None:
        return next((m for m in self.messages if is_response(m, self.rid)), None)


async def run_tool(
    ctx: Context,
    session: LegacySession,
    token: str,
    *,
    stop_after_progress: int | None = None,
    require_sse: bool = True,
) -> ToolRun:
    """Call the stream tool with progressToken ``token``. With ``stop_after_progress`` the
    connection is dropped right after that many progress notifications."""
    name, args = await ctx.stream_tool(session)
    stream, rid = ctx.stream_tool_call(session, name, args, token)
    loop = asyncio.get_running_loop()
    started = loop.time()
    run = ToolRun(rid, token, stream.sent)
    async with stream:
        if stream.status != 200 or (require_sse and not stream.is_sse):
            raise Unsupported(
                f"tools/call {name} was not answered with an SSE stream: HTTP {stream.status} "
                f"{stream.headers.get('content-type')}"
            )
        run.complete = await read_until_response(ctx, stream, rid, token, stop_after_progress)
    run.events = list(stream.events)
    run.elapsed = loop.time() - started
    return run


async def read_until_response(
    ctx: Context, stream: Stream, rid: int, token: str | None = None, stop_after_progress: int | None = None
) -> bool:
    """Read ``stream`` until the response to ``rid`` (True), its end or the timeout (False), or,
    with ``stop_after_progress``, that many progress notifications for ``token`` (False)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.options.timeout
    seen = 0
    try:
        while True:
            event = await stream.next_event(max(0.0, deadline - loop.time()))
            if event is None:
                return False
            message = event.json()
            if is_progress(message, token):
                seen += 1
                if stop_after_progress is not None and seen >= stop_after_progress:
                    return False
            if is_response(message, rid):
                return True
    except TimeoutError:
        return False
