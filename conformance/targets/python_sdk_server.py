"""A conformance target on the official Python SDK (``mcp``): ``MCPServer.streamable_http_app``
with an in-memory ``EventStore`` for resumability and a ``sleep`` tool that reports progress.

    python -m conformance.targets.python_sdk_server PORT

The event store is the obvious one the SDK's ``EventStore`` interface allows: one store for the
app, replaying the events that follow an id on that id's stream. The interface passes no session
to ``replay_events_after``, which is what ``resume-foreign-session-refused`` catches.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any

import anyio
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http import EventMessage, EventStore

__all__ = ["MemoryEventStore", "main", "server"]


class MemoryEventStore(EventStore):
    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []  # (stream id, event id, message)

    async def store_event(self, stream_id: str, message: Any) -> str:
        event_id = str(uuid.uuid4())
        self.events.append((stream_id, event_id, message))
        return event_id

    async def replay_events_after(self, last_event_id: str, send_callback: Any) -> str | None:
        index = next((i for i, (_, eid, _) in enumerate(self.events) if eid == last_event_id), None)
        if index is None:
            return None
        stream = self.events[index][0]
        for stream_id, event_id, message in self.events[index + 1 :]:
            if stream_id == stream and message is not None:
                await send_callback(EventMessage(message, event_id))
        return stream


server = MCPServer("python-sdk-conformance-target")


@server.tool()
async def sleep(seconds: float, ctx: Context) -> str:
    """Sleep, reporting progress every 10 ms."""
    steps = max(1, int(seconds / 0.01))
    for i in range(steps):
        await anyio.sleep(seconds / steps)
        await ctx.report_progress(i + 1, steps)
    return f"slept {seconds} s"


@server.tool()
async def echo(text: str) -> str:
    """Echo text."""
    return text


def main() -> None:
    app = server.streamable_http_app(event_store=MemoryEventStore(), retry_interval=100)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", http="h11")


if __name__ == "__main__":
    main()
