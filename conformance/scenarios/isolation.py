"""Cross-session isolation: a client must not be able to resume another session's stream by
presenting its event id."""

from __future__ import annotations

import asyncio

from ..context import Context
from ..model import Level, Rule, Scenario, Unsupported
from ._streams import is_progress, run_tool

__all__ = ["SCENARIO"]

FOREIGN_ID = Rule(
    "resume-foreign-session-refused",
    Level.MUST,
    "2025-11-25",
    "basic/transports §Resumability and Redelivery; security best practices §Session Hijacking",
    "The server MUST NOT replay messages of a different stream; an event id from another session "
    "must not give access to that session's messages.",
)
WINDOW = 2.0  # seconds to watch the GET stream for leaked messages


async def run(ctx: Context) -> None:
    victim = await ctx.open_session()
    leaked_run = await run_tool(ctx, victim, "victim")
    ids = leaked_run.ids
    if not ids:
        raise Unsupported("the server puts no event ids on its SSE events")
    attacker = await ctx.open_session()
    if victim.id is None or attacker.id is None:
        raise Unsupported("the server issues no session ids")
    headers = attacker.headers(Accept="text/event-stream", **{"Last-Event-ID": ids[0]})
    del headers["Content-Type"]
    async with ctx.stream("GET", headers) as get:
        if get.status == 200 and get.is_sse:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + min(WINDOW, ctx.options.timeout)
            try:
                while await get.next_event(max(0.0, deadline - loop.time())) is not None:
                    pass
            except TimeoutError:
                pass
        reply = get.reply()
    leaked = [m for m in reply.messages if is_progress(m, "victim") or m.get("id") == leaked_run.rid]
    ctx.check(
        FOREIGN_ID,
        not leaked,
        sent=f"{reply.sent} (event id from session {victim.id!r}, sent in session {attacker.id!r})",
        got=f"{reply.summary()}; leaked: {leaked[:3]}",
        expected="a refusal (4xx) or a stream carrying none of the other session's messages",
    )


SCENARIO = Scenario(
    "cross-session-isolation",
    "legacy",
    "http",
    "another session's event id does not replay that session's messages",
    (FOREIGN_ID,),
    run,
)
