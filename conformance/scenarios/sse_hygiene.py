"""SSE hygiene on the streams a legacy server opens: the GET stream exists or is refused with 405,
streams are marked uncacheable and unbuffered, an idle stream carries keepalive comments, 2025-11-25
streams start with a priming event, and every data field is one JSON-RPC message."""

from __future__ import annotations

import asyncio

from ..context import Context
from ..model import Level, Rule, Scenario, Unsupported
from ..sse import Comment

__all__ = ["SCENARIO"]

SSE = "basic/transports §Streamable HTTP"

GET_OR_405 = Rule(
    "sse-get-stream-or-405",
    Level.MUST,
    "2025-11-25",
    "basic/transports §Listening for Messages from the Server",
    "A GET MUST be answered with Content-Type text/event-stream or with 405 Method Not Allowed.",
)
CACHE_CONTROL = Rule(
    "sse-cache-control-no-cache",
    Level.SHOULD,
    "2025-11-25",
    SSE,
    "SSE responses SHOULD carry Cache-Control: no-cache so no intermediary caches the stream.",
)
ACCEL = Rule(
    "sse-x-accel-buffering-no",
    Level.SHOULD,
    "2026-07-28",
    "basic/transports/streamable-http §Receiving Messages",
    "Servers SHOULD send X-Accel-Buffering: no on SSE responses so proxies do not buffer them.",
)
KEEPALIVE = Rule(
    "sse-keepalive-on-idle-stream",
    Level.SHOULD,
    "2026-07-28",
    "basic/transports/streamable-http §Receiving Messages",
    "A long-lived idle stream SHOULD carry periodic SSE comment lines as keepalives (waited for "
    "--keepalive-wait seconds).",
)
PRIMING = Rule(
    "sse-priming-event",
    Level.SHOULD,
    "2025-11-25",
    "basic/transports §Sending Messages to the Server ¶6",
    "A server opening an SSE stream for a POST SHOULD first send an event with an id and empty data, "
    "so the client can resume. Skipped for a server that puts no event ids on any event: it does "
    "not offer resumption (a MAY), so there is nothing to prime.",
)
DATA_JSON = Rule(
    "sse-data-is-jsonrpc",
    Level.MUST,
    "2025-11-25",
    SSE,
    "Every SSE event with data MUST carry exactly one JSON-RPC message (an object with jsonrpc "
    '"2.0"); only the priming event may have empty data.',
)


def _headers_ok(headers: object, rule: Rule) -> bool:
    get = headers.get  # type: ignore[attr-defined]  # httpx headers and a plain dict both have get
    if rule is CACHE_CONTROL:
        return "no-cache" in get("cache-control", "").lower()
    return get("x-accel-buffering", "").strip().lower() == "no"


async def run(ctx: Context) -> None:
    session = await ctx.open_session()
    name, args = await ctx.stream_tool(session)
    stream, rid = ctx.stream_tool_call(session, name, args, "hygiene")
    async with stream:
        await stream.read_all(ctx.options.timeout, until_id=rid)
    if not stream.is_sse:
        raise Unsupported(
            f"the server answered tools/call {name} with {stream.headers.get('content-type')}, not SSE"
        )
    for rule in (CACHE_CONTROL, ACCEL):
        value = stream.headers.get("cache-control" if rule is CACHE_CONTROL else "x-accel-buffering")
        ctx.check(
            rule,
            _headers_ok(stream.headers, rule),
            sent=stream.sent,
            got=f"header value {value!r}",
            expected="no-cache" if rule is CACHE_CONTROL else "no",
        )
    bad = [
        e.data
        for e in stream.events
        if e.data and not (isinstance(e.json(), dict) and e.json().get("jsonrpc") == "2.0")
    ]
    ctx.check(
        DATA_JSON,
        not bad,
        sent=stream.sent,
        got=f"non-JSON-RPC data: {bad[:3]!r}" if bad else "",
        expected="every data field a JSON-RPC message",
    )
    if not any(e.id for e in stream.events):  # as the replay checks: priming only serves resumption
        ctx.skip(
            PRIMING,
            "the server puts no event ids on its SSE events (not resumable, a MAY), so it has "
            "nothing to prime",
        )
    elif session.version == "2025-11-25":
        first = stream.events[0] if stream.events else None
        ok = first is not None and bool(first.id) and first.data == ""
        ctx.check(
            PRIMING,
            ok,
            sent=stream.sent,
            got=f"first event {first!r}",
            expected="an event with an id and empty data",
        )
    else:
        ctx.skip(PRIMING, f"negotiated {session.version}; priming is a 2025-11-25 behaviour")

    headers = session.headers(Accept="text/event-stream")
    del headers["Content-Type"]
    async with ctx.stream("GET", headers) as get:
        if get.status == 405:
            ctx.check(GET_OR_405, True)
            ctx.skip(KEEPALIVE, "the server offers no GET stream (405)")
            return
        ctx.check(
            GET_OR_405,
            get.status == 200 and get.is_sse,
            sent=get.sent,
            got=f"HTTP {get.status} {get.headers.get('content-type')}",
            expected="200 text/event-stream, or 405",
        )
        if not get.is_sse:
            ctx.skip(KEEPALIVE, "no GET stream to watch")
            return
        wait = ctx.options.keepalive_wait
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        seen = False
        try:
            while not seen:
                item = await get.next(max(0.0, deadline - loop.time()))
                if item is None:
                    break
                seen = isinstance(item, Comment)
        except TimeoutError:
            pass
        ctx.check(
            KEEPALIVE,
            seen,
            sent=get.sent,
            got=f"no comment line within {wait:g} s",
            expected="a ':' comment line",
        )


SCENARIO = Scenario(
    "sse-hygiene",
    "legacy",
    "http",
    "GET stream or 405, Cache-Control, X-Accel-Buffering, keepalives, priming event, JSON data",
    (GET_OR_405, CACHE_CONTROL, ACCEL, DATA_JSON, PRIMING, KEEPALIVE),
    run,
)
