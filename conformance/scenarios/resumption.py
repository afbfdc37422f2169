"""Exact Last-Event-ID resumption (legacy). A tool call's POST stream is dropped after its first
progress notification while another call runs on a second stream, and a GET with Last-Event-ID is
sent at once, while the call is still running: the resumed stream must replay what was missed and
then carry the rest of the call live (a resume sent only after the call ended would test replay
alone and pass a server whose live resume delivers nothing). Nothing from the other stream, nothing
already received, nothing missing. A server that closes a resumed stream early is followed with a
new GET, as a polling client would. A server that does not offer resumption (no event ids, or the
GET is refused) is skipped: resumability is a MAY. 2025-11-25 basic/transports §Sending Messages to
the Server, §Resumability and Redelivery."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from ..context import Context, LegacySession
from ..http import Stream
from ..model import Level, Rule, Scenario, Unsupported
from ..sse import SseEvent
from ._streams import ToolRun, is_progress, is_response, run_tool

__all__ = ["SCENARIO"]

SECTION = "basic/transports §Resumability and Redelivery"

OWN_STREAM = Rule(
    "resume-only-disconnected-stream",
    Level.MUST,
    "2025-11-25",
    SECTION,
    "On a GET with Last-Event-ID the server MAY replay messages that followed that event on the "
    "stream that was disconnected, and MUST NOT replay messages that belonged to a different stream.",
)
NO_DUPLICATES = Rule(
    "resume-no-duplicates",
    Level.MUST,
    "2025-11-25",
    SECTION,
    "Replay starts after the Last-Event-ID: a message the client already received (that event or "
    "an earlier one) MUST NOT be delivered again. An empty-data event (re-priming) is not a "
    "delivery and is allowed.",
)
NO_GAPS = Rule(
    "resume-no-gaps",
    Level.SHOULD,
    "2025-11-25",
    SECTION,
    "When the server accepts a resumption sent while the call is still running, the messages "
    "before the drop plus those on the resumed stream (replayed, then live: the server continues "
    "that stream) SHOULD be exactly what an uninterrupted call delivers (same progress sequence, "
    "then the response). A message lost between the drop and the replay is a gap, and so is a "
    "resumed stream that stays open but carries nothing the call sends afterwards. SHOULD, not "
    "MUST: replay itself is a MAY, so the spec does not forbid a partial one; resumability exists "
    "to avoid loss.",
)
NOT_CANCEL = Rule(
    "disconnect-is-not-cancel",
    Level.SHOULD,
    "2025-11-25",
    "basic/transports §Sending Messages to the Server ¶6",
    "A dropped connection SHOULD NOT be treated as cancellation: the call goes on and its response "
    "arrives on a resumed stream.",
)
# A resumed stream that carries no event for this long (twice an uninterrupted call, plus a second)
# while the response is due has stalled; a second GET then tells a stall from a cancel.
STALL_FACTOR, STALL_SLACK = 2.0, 1.0
MAX_GETS = 50  # GETs followed while the server keeps closing the resumed stream early (polling)
RETRY_FLOOR, RETRY_CAP = 0.05, 1.0  # seconds: the SSE retry honoured between those GETs, clamped


@dataclass
class Resumed:
    """What the GETs with Last-Event-ID delivered. ``live`` is what a client following the resumed
    stream got while the call ran; ``later`` what one more GET replayed after that stream stalled
    (a diagnostic: it tells a broken live resume from a call that was cancelled)."""

    live: list[SseEvent] = field(default_factory=list)
    later: list[SseEvent] = field(default_factory=list)
    last_ids: list[str] = field(default_factory=list)

    @property
    def events(self) -> list[SseEvent]:
        return self.live + self.later


def _fingerprint(message: dict) -> str:
    return json.dumps(message, sort_keys=True)


def _messages(events: list[SseEvent]) -> list[dict]:
    return [m for m in (e.json() for e in events) if isinstance(m, dict)]


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
    try:
        dropped = await run_tool(ctx, session, "dropped", stop_after_progress=1)
        if dropped.complete:
            raise Unsupported("the tool call finished before the stream could be dropped")
        if not dropped.ids:
            raise Unsupported("no event id received before the drop")
        stall = min(ctx.options.timeout, baseline.elapsed * STALL_FACTOR + STALL_SLACK)
        resumed = await _resume(ctx, session, dropped, stall)  # at once: the call is still running
        other = await other_task
    finally:
        other_task.cancel()  # a no-op once it is done; on an early exit it must not outlive the scenario
    gets = " then ".join(f"GET [Last-Event-ID: {i}]" for i in resumed.last_ids)
    sent = f"{dropped.sent}, dropped after event {dropped.ids[-1]!r}; at once {gets}"
    _judge(ctx, sent, dropped, other, resumed, expected, baseline)


async def _resume(ctx: Context, session: LegacySession, dropped: ToolRun, stall: float) -> Resumed:
    """GET with Last-Event-ID until the dropped call's response arrives. A stream the server closes
    early is resumed again from its newest id (SSE polling). A stream that stays open but silent for
    ``stall`` seconds (or a chain that runs past the timeout) gets one more GET, which shows whether
    the call went on regardless."""
    out = Resumed()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.options.timeout
    last_id, follow_up = dropped.ids[-1], False
    while len(out.last_ids) < MAX_GETS:
        headers = session.headers(Accept="text/event-stream", **{"Last-Event-ID": last_id})
        del headers["Content-Type"]
        out.last_ids.append(last_id)
        async with ctx.stream("GET", headers) as stream:
            if stream.status != 200 or not stream.is_sse:
                if len(out.last_ids) == 1:
                    raise Unsupported(
                        f"the server does not resume (GET with Last-Event-ID got HTTP "
                        f"{stream.status} {stream.headers.get('content-type')})"
                    )
                return out
            if follow_up:
                idle, until = ctx.options.timeout, loop.time() + ctx.options.timeout
            else:
                idle, until = stall, deadline
            done = await _read_resumed(stream, dropped.rid, idle, until)
        (out.later if follow_up else out.live).extend(stream.events)
        last_id = next((e.id for e in reversed(stream.events) if e.id), last_id)
        if done or follow_up:
            return out
        if not stream.ended or loop.time() >= deadline:
            follow_up = True  # silent while open, or out of time: did the call go on without us?
            continue
        # Closed early by the server: poll again after its retry, as a client would.
        retry = next((e.retry for e in reversed(stream.events) if e.retry is not None), 0)
        await asyncio.sleep(min(max(retry / 1000, RETRY_FLOOR), RETRY_CAP))
    return out


async def _read_resumed(stream: Stream, rid: int, idle: float, until: float) -> bool:
    """True once the response to ``rid`` arrives; False when the stream ends, carries no event for
    ``idle`` seconds, or reaches the loop time ``until``."""
    loop = asyncio.get_running_loop()
    try:
        while (event := await stream.next_event(min(idle, max(0.0, until - loop.time())))) is not None:
            if is_response(event.json(), rid):
                return True
    except TimeoutError:
        pass
    return False


def _judge(
    ctx: Context,
    sent: str,
    dropped: ToolRun,
    other: ToolRun,
    resumed: Resumed,
    expected: list,
    baseline: ToolRun,
) -> None:
    messages = _messages(resumed.events)
    foreign = [
        m
        for m in messages
        if is_progress(m, other.token)
        or is_progress(m, baseline.token)
        or m.get("id") in (other.rid, baseline.rid)
    ]
    ctx.check(
        OWN_STREAM,
        not foreign,
        sent=sent,
        got=f"replayed messages of other streams: {foreign[:3]}",
        expected=f"only messages of request {dropped.rid} (progressToken 'dropped')",
    )

    # Only dispatched events count: an event with empty data (a priming event re-sent with the
    # Last-Event-ID itself) is not delivered to the application under the SSE standard.
    seen_ids: set[str] = set(dropped.ids)
    seen_messages = {_fingerprint(m) for m in dropped.messages}
    again: list = []
    for event in resumed.events:
        message = event.json()
        if event.id and event.data and event.id in seen_ids:
            again.append(event.id)
        elif isinstance(message, dict) and _fingerprint(message) in seen_messages:
            again.append(message)
        if event.data:
            seen_ids.add(event.id or "")
            seen_messages.add(_fingerprint(message) if isinstance(message, dict) else event.data)
    ctx.check(
        NO_DUPLICATES,
        not again,
        sent=sent,
        got=f"delivered again: {again[:3]}",
        expected="only events after the Last-Event-ID",
    )

    live = _messages(resumed.live)
    live_response = any(is_response(m, dropped.rid) for m in live)
    response = next((m for m in messages if is_response(m, dropped.rid)), None)
    got = dropped.progress() + [m["params"].get("progress") for m in live if is_progress(m, dropped.token)]
    lost = [
        m for m in _messages(resumed.later) if is_progress(m, dropped.token) or is_response(m, dropped.rid)
    ]
    if lost:  # the call went on, but the open resumed stream never carried it
        ok, why = (
            False,
            (
                f"the resumed stream carried nothing more while the call ran; {len(lost)} "
                f"messages of the call reached only a later GET: "
                f"{[m.get('params', {}).get('progress', m.get('id')) for m in lost][:5]}"
            ),
        )
    elif live_response:
        ok, why = got == expected, ""
    else:  # no response at all: judged by disconnect-is-not-cancel; here only the prefix
        ok, why = got == expected[: len(got)], ""
    ctx.check(
        NO_GAPS,
        ok,
        sent=sent,
        message=why,
        got=f"progress {got}" + ("" if live_response else " and no response"),
        expected=f"progress {expected} then the response, live on the resumed stream",
    )
    ctx.check(
        NOT_CANCEL,
        response is not None and "result" in response,
        sent=sent,
        got=f"response {response}" if response else "no response on any resumed stream",
        expected=f"the result of request {dropped.rid}",
    )


SCENARIO = Scenario(
    "last-event-id-replay",
    "legacy",
    "http",
    "Last-Event-ID resume while the call runs: only the dropped stream, no duplicates, "
    "no gaps (replayed then live); disconnect is not cancel",
    (OWN_STREAM, NO_DUPLICATES, NO_GAPS, NOT_CANCEL),
    run,
)
