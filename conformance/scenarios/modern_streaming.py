"""A 2026-07-28 tools/call answered as an SSE stream: only notifications related to the request
(progress with our token, increasing), never a JSON-RPC request, and a final result carrying
resultType."""

from __future__ import annotations

import itertools
import json

from ..context import STREAM_TOOL_CANDIDATES, Context, body, modern_headers, modern_params
from ..http import next_id
from ..model import Level, Rule, Scenario, Unsupported
from ._streams import is_progress

__all__ = ["SCENARIO"]

STREAM = "basic/transports/streamable-http §Receiving Messages"
NO_REQUESTS = Rule(
    "modern-no-requests-on-stream",
    Level.MUST,
    "2026-07-28",
    STREAM,
    "The server MUST NOT send JSON-RPC requests on a response stream (MRTR replaces them).",
)
RELATED = Rule(
    "modern-notifications-related",
    Level.MUST,
    "2026-07-28",
    STREAM,
    "Notifications on a response stream MUST relate to the originating request (progress carries "
    "that request's progressToken).",
)
INCREASING = Rule(
    "modern-progress-increases",
    Level.MUST,
    "2026-07-28",
    "basic/patterns/progress §Behavior Requirements",
    "The progress value MUST increase with each notification.",
)
RESULT_TYPE = Rule(
    "modern-call-result-type",
    Level.MUST,
    "2026-07-28",
    "basic/index §Responses",
    "The tools/call result MUST carry resultType.",
)
TOKEN = "modern-stream"


async def run(ctx: Context) -> None:
    await ctx.require_modern()
    listed, lid = await ctx.modern("tools/list")
    names = {t.get("name") for t in ((listed.response(lid) or {}).get("result") or {}).get("tools") or []}
    if ctx.options.stream_tool:
        name, args = ctx.options.stream_tool, dict(ctx.options.stream_tool_args or {})
    else:
        found = next(((n, a) for n, a in STREAM_TOOL_CANDIDATES if n in names), None)
        if found is None:
            raise Unsupported("no progress-streaming tool (see --stream-tool)")
        name, args = found
    rid = next_id()
    params = modern_params({"name": name, "arguments": args, "_meta": {"progressToken": TOKEN}})
    reply = await ctx.post(body("tools/call", params, rid), modern_headers("tools/call", name), until_id=rid)
    messages = reply.messages
    sent = reply.sent
    requests = [m for m in messages if "method" in m and "id" in m]
    ctx.check(
        NO_REQUESTS, not requests, sent=sent, got=f"requests on the stream: {requests[:3]}", expected="none"
    )
    notes = [m for m in messages if "method" in m and "id" not in m]
    foreign = [m for m in notes if m["method"] == "notifications/progress" and not is_progress(m, TOKEN)]
    ctx.check(
        RELATED,
        not foreign,
        sent=sent,
        got=f"unrelated: {foreign[:3]}",
        expected=f"progressToken {TOKEN!r} only",
    )
    values = [m["params"].get("progress") for m in notes if is_progress(m, TOKEN)]
    if values:
        ok = all(isinstance(v, (int, float)) for v in values) and all(
            b > a for a, b in itertools.pairwise(values)
        )
        ctx.check(INCREASING, ok, sent=sent, got=f"progress {values}", expected="strictly increasing")
    else:
        ctx.skip(INCREASING, "the tool sent no progress on the modern stream")
    result = (reply.response(rid) or {}).get("result")
    ctx.check(
        RESULT_TYPE,
        isinstance(result, dict) and isinstance(result.get("resultType"), str),
        sent=sent,
        got=json.dumps(result)[:300] if result is not None else reply.summary(),
        expected='"resultType": "complete"',
    )


SCENARIO = Scenario(
    "modern-streaming",
    "modern",
    "http",
    "2026-07-28 tools/call stream: no requests, related notifications, increasing progress, resultType",
    (NO_REQUESTS, RELATED, INCREASING, RESULT_TYPE),
    run,
)
