"""Exact Last-Event-ID replay (legacy). A tool call's POST stream is dropped after its first
progress notification while another call runs on a second stream; a GET with Last-Event-ID must
then continue exactly the dropped stream: nothing from the other stream, nothing already received,
nothing missing. A server that does not offer resumption (no event ids, or the GET is refused) is
skipped: resumability is a MAY. Digest §2.A.2 ¶6, §2.A.5."""

from __future__ import annotations

import asyncio

from ..context import Context
from ..model import Level, Rule, Scenario, Unsupported
from ._streams import ToolRun, is_progress, is_response, read_until_response, run_tool

__all__ = ["SCENARIO"]

SECTION = "basic/transports §Resumability and Redelivery [digest §2.A.5]"

OWN_STREAM = Rule("resume-only-disconnected-stream", Level.MUST, "2025-11-25", SECTION,
                  "On a GET with Last-Event-ID the server MAY replay messages that followed that event on the "
                  "stream that was disconnected, and MUST NOT replay messages that belonged to a different stream.")
NO_DUPLICATES = Rule("resume-no-duplicates", Level.MUST, "2025-11-25", SECTION,
                     "Replay starts after the Last-Event-ID: a message the client already received (that event or "
                     "an earlier one) MUST NOT be delivered again. An empty-data event (re-priming) is not a "
                     "delivery and is allowed.")
NO_GAPS = Rule("resume-no-gaps", Level.SHOULD, "2025-11-25", SECTION,
               "When the server accepts the resumption, the messages before the drop plus the replayed and live "
               "ones SHOULD be exactly what an uninterrupted call delivers (same progress sequence, then the "
               "response); a message lost between the drop and the replay is a gap. SHOULD, not MUST: replay "
               "itself is a MAY, so the spec does not forbid a partial one; resumability exists to avoid loss.")
NOT_CANCEL = Rule("disconnect-is-not-cancel", Level.SHOULD, "2025-11-25",
                  "basic/transports §Sending Messages to the Server ¶6 [digest §2.A.2, §4.5]",
                  "A dropped connection SHOULD NOT be treated as cancellation: the call goes on and its response "
                  "arrives on the resumed stream.")


def _fingerprint(message: dict) -> str:
    import json

    return json.dumps(message, sort_keys=True)


async def run(ctx: Context) -> None:
    session = await ctx.open_session()
    baseline = await run_tool(ctx, session, "baseline")
    if not baseline.complete:
        raise Unsupported("the stream tool did not complete on an uninterrupted call")
    if not any(e.id for e in baseline.events):
        raise Unsupported("the server puts no event ids on its SSE events (not resumable)")
    expected = baseline.progress()
    if len(expected) < 2:
        raise Unsupported(f"the stream tool sent {len(expected)} progress notifications; need at least 2")

    other_task = asyncio.create_task(run_tool(ctx, session, "other-stream"))
    dropped = await run_tool(ctx, session, "dropped", stop_after_progress=1)
    other = await other_task
    if dropped.complete:
        raise Unsupported("the tool call finished before the stream could be dropped")
    last_id = dropped.ids[-1] if dropped.ids else None
    if last_id is None:
        raise Unsupported("no event id received before the drop")

    headers = session.headers(Accept="text/event-stream", **{"Last-Event-ID": last_id})
    del headers["Content-Type"]
    async with ctx.stream("GET", headers) as resumed:
        if resumed.status != 200 or not resumed.is_sse:
            raise Unsupported(f"the server does not resume (GET with Last-Event-ID got HTTP {resumed.status} "
                              f"{resumed.headers.get('content-type')})")
        await read_until_response(ctx, resumed, dropped.rid)
        replayed = [e for e in resumed.events]
    sent = f"{dropped.sent}, dropped after event {last_id!r}; then GET [Last-Event-ID: {last_id}]"
    _judge(ctx, sent, dropped, other, replayed, expected, baseline)


def _judge(ctx: Context, sent: str, dropped: ToolRun, other: ToolRun, replayed: list, expected: list,
           baseline: ToolRun) -> None:
    messages = [m for m in (e.json() for e in replayed) if isinstance(m, dict)]
    foreign = [m for m in messages if is_progress(m, other.token) or is_progress(m, baseline.token)
               or m.get("id") in (other.rid, baseline.rid)]
    ctx.check(OWN_STREAM, not foreign, sent=sent, got=f"replayed messages of other streams: {foreign[:3]}",
              expected=f"only messages of request {dropped.rid} (progressToken 'dropped')")

    # Only dispatched events count: an event with empty data (a priming event re-sent with the
    # Last-Event-ID itself) is not delivered to the application under the SSE standard.
    seen_ids = set(dropped.ids)
    seen_messages = {_fingerprint(m) for m in dropped.messages}
    again = [e.id for e in replayed if e.id and e.data and e.id in seen_ids]
    again += [m for m in messages if _fingerprint(m) in seen_messages]
    ctx.check(NO_DUPLICATES, not again, sent=sent, got=f"delivered again: {again[:3]}",
              expected="only events after the Last-Event-ID")

    response = next((m for m in messages if is_response(m, dropped.rid)), None)
    got = dropped.progress() + [m["params"].get("progress") for m in messages if is_progress(m, dropped.token)]
    if response is not None:
        ok = got == expected
    else:
        ok = got == expected[: len(got)]  # no response: judged by disconnect-is-not-cancel; here only the prefix
    ctx.check(NO_GAPS, ok, sent=sent, got=f"progress {got}" + ("" if response else " and no response"),
              expected=f"progress {expected} then the response")
    ctx.check(NOT_CANCEL, response is not None and "result" in response, sent=sent,
              got=f"response {response}" if response else "no response on the resumed stream",
              expected=f"the result of request {dropped.rid}")


SCENARIO = Scenario("last-event-id-replay", "legacy", "http",
                    "exact Last-Event-ID replay: only the dropped stream, no duplicates, no gaps; disconnect is not cancel",
                    (OWN_STREAM, NO_DUPLICATES, NO_GAPS, NOT_CANCEL), run)
