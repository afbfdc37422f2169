"""Event ids are unique across every stream of a session (three concurrent tool-call streams plus
the GET stream never reuse an id), and no message is broadcast: what goes on a POST stream does
not also appear on the GET stream."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

from ..context import Context
from ..model import Level, Rule, Scenario, Unsupported
from ._streams import run_tool

__all__ = ["SCENARIO"]

UNIQUE = Rule(
    "event-ids-unique-across-streams",
    Level.MUST,
    "2025-11-25",
    "basic/transports §Resumability and Redelivery",
    "If present, an SSE event id MUST be globally unique across all streams within the session.",
)
NO_BROADCAST = Rule(
    "no-broadcast-across-streams",
    Level.MUST,
    "2025-11-25",
    "basic/transports §Multiple Connections",
    "The server MUST send each JSON-RPC message on only one of the connected streams: a message of "
    "a POST stream must not also be sent on the GET stream.",
)
GET_NO_RESPONSES = Rule(
    "get-stream-no-responses",
    Level.MUST,
    "2025-11-25",
    "basic/transports §Listening for Messages from the Server",
    "On the GET stream the server MUST NOT send a JSON-RPC response (unless it is resuming a "
    "stream of an earlier request, which this GET is not).",
)
GET_WINDOW = 0.3  # seconds the GET stream is still read after the calls finish


async def run(ctx: Context) -> None:
    session = await ctx.open_session()
    headers = session.headers(Accept="text/event-stream")
    del headers["Content-Type"]
    async with ctx.stream("GET", headers) as get:
        runs = await asyncio.gather(*(run_tool(ctx, session, f"ids-{i}") for i in range(3)))
        get_events = []
        if get.status == 200 and get.is_sse:
            try:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + GET_WINDOW
                while (event := await get.next_event(max(0.0, deadline - loop.time()))) is not None:
                    get_events.append(event)
            except TimeoutError:
                pass
    if get.status != 200 or not get.is_sse:
        ctx.skip(NO_BROADCAST, f"no GET stream (HTTP {get.status})")
        ctx.skip(GET_NO_RESPONSES, f"no GET stream (HTTP {get.status})")
    else:
        responses = [
            e.data
            for e in get_events
            if isinstance(e.json(), dict) and ("result" in e.json() or "error" in e.json())
        ]
        ctx.check(
            GET_NO_RESPONSES,
            not responses,
            sent=get.sent,
            got=f"responses on the GET stream: {responses[:3]}",
            expected="only requests and notifications",
        )
        posted = {json.dumps(m, sort_keys=True) for r in runs for m in r.messages}
        twice = [e.data for e in get_events if e.data and json.dumps(e.json(), sort_keys=True) in posted]
        ctx.check(
            NO_BROADCAST,
            not twice,
            sent=f"GET stream open during 3 calls like {runs[0].sent}",
            got=f"on the GET stream too: {twice[:3]}",
            expected="no POST-stream message on the GET stream",
        )
    ids = [i for r in runs for i in r.ids] + [e.id for e in get_events if e.id]
    if not ids:
        raise Unsupported("the server puts no event ids on its SSE events")
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    ctx.check(
        UNIQUE,
        not dupes,
        sent=f"3 concurrent calls: {runs[0].sent}",
        got=f"ids used more than once: {dupes[:5]}",
        expected=f"{len(ids)} distinct ids",
    )


SCENARIO = Scenario(
    "event-ids",
    "legacy",
    "http",
    "SSE event ids unique across concurrent streams; no message broadcast on two streams",
    (UNIQUE, NO_BROADCAST, GET_NO_RESPONSES),
    run,
)
