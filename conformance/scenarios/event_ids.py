"""Event ids are unique across every stream of a session: three concurrent tool-call streams plus
the GET stream must never reuse an id. Digest §2.A.5 ¶1."""

from __future__ import annotations

import asyncio
from collections import Counter

from ..context import Context
from ..model import Level, Rule, Scenario, Unsupported
from ._streams import run_tool

__all__ = ["SCENARIO"]

UNIQUE = Rule("event-ids-unique-across-streams", Level.MUST, "2025-11-25",
              "basic/transports §Resumability and Redelivery [digest §2.A.5]",
              "If present, an SSE event id MUST be globally unique across all streams within the session.")


async def run(ctx: Context) -> None:
    session = await ctx.open_session()
    runs = await asyncio.gather(*(run_tool(ctx, session, f"ids-{i}") for i in range(3)))
    ids = [i for r in runs for i in r.ids]
    if not ids:
        raise Unsupported("the server puts no event ids on its SSE events")
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    ctx.check(UNIQUE, not dupes, sent=f"3 concurrent calls: {runs[0].sent}",
              got=f"ids used more than once: {dupes[:5]}", expected=f"{len(ids)} distinct ids")


SCENARIO = Scenario("event-ids", "legacy", "http", "SSE event ids unique across concurrent streams", (UNIQUE,), run)
