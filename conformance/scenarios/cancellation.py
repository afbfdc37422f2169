"""Cancellation (legacy): notifications/cancelled for an in-flight request is accepted with 202, the
server stops the work and sends no result, and it keeps serving."""

from __future__ import annotations

import asyncio

from ..context import Context, body
from ..model import Level, Rule, Scenario, Unsupported
from ._streams import is_progress, run_tool

__all__ = ["SCENARIO"]

SECTION = "basic/utilities/cancellation §Behavior Requirements"
MIN_DURATION = 0.5  # a tool quicker than this cannot be cancelled reliably

ACCEPTED = Rule(
    "cancel-accepted-202",
    Level.MUST,
    "2025-11-25",
    "basic/transports §Sending Messages to the Server ¶4",
    "notifications/cancelled is a notification: accepted → 202 with no body.",
)
NO_RESULT = Rule(
    "cancel-no-result",
    Level.SHOULD,
    "2025-11-25",
    SECTION,
    "On notifications/cancelled the receiver SHOULD stop processing and not send a response "
    "(no result arrives for the cancelled request).",
)
STILL_SERVING = Rule(
    "cancel-server-keeps-serving",
    Level.MUST,
    "2025-11-25",
    SECTION,
    "Cancellation MUST be handled gracefully: the session keeps working (ping answered).",
)


async def run(ctx: Context) -> None:
    session = await ctx.open_session()
    baseline = await run_tool(ctx, session, "cancel-baseline")
    if baseline.elapsed < MIN_DURATION:
        raise Unsupported(
            f"the stream tool takes {baseline.elapsed:.2f} s; cancellation needs one taking "
            f"at least {MIN_DURATION} s (use --stream-tool)"
        )
    name, args = await ctx.stream_tool(session)
    stream, rid = ctx.stream_tool_call(session, name, args, "cancel-me")
    async with stream:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ctx.options.timeout
        while True:
            event = await stream.next_event(max(0.0, deadline - loop.time()))
            if event is None or is_progress(event.json(), "cancel-me"):
                break
        payload = body("notifications/cancelled", {"requestId": rid, "reason": "conformance"})
        reply = await ctx.post(payload, session.headers())
        ctx.check(
            ACCEPTED,
            reply.status == 202 and not reply.body.strip(),
            sent=reply.sent,
            got=reply.summary(),
            expected="HTTP 202 with an empty body",
        )
        await stream.read_all(baseline.elapsed + ctx.options.timeout, until_id=rid)
    result = next((m for m in stream.reply().messages if m.get("id") == rid and "result" in m), None)
    ctx.check(
        NO_RESULT,
        result is None,
        sent=f"{stream.sent}, then {payload.decode()}",
        got=f"result {result}",
        expected="no result for the cancelled request",
    )
    pong, pid = await ctx.call(session, "ping")
    ctx.check(
        STILL_SERVING,
        pong.status == 200 and "result" in (pong.response(pid) or {}),
        sent=pong.sent,
        got=pong.summary(),
        expected="the ping result",
    )


SCENARIO = Scenario(
    "cancellation",
    "legacy",
    "http",
    "notifications/cancelled: 202, no result, session keeps working",
    (ACCEPTED, NO_RESULT, STILL_SERVING),
    run,
)
