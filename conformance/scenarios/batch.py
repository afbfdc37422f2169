"""JSON-RPC batches were allowed only in 2025-03-26; from 2025-06-18 a POST body is exactly one
message, so a batch must not be processed."""

from __future__ import annotations

import json

from ..context import Context
from ..http import next_id
from ..model import Level, Rule, Scenario

__all__ = ["SCENARIO"]

REJECTED = Rule(
    "batch-rejected",
    Level.SHOULD,
    "2025-06-18",
    "basic/transports §Sending Messages to the Server ¶3, changelog 'remove batching'",
    "From 2025-06-18 the POST body MUST be a single JSON-RPC message. That MUST binds the sender; a "
    "server that still processes a batch on such a session does not respect the negotiated version, "
    "so it SHOULD refuse it (4xx, SDKs: 400 with -32600). SHOULD, not MUST: the spec sets no server "
    "obligation, and the official TypeScript SDK 1.x accepts batches.",
)


async def run(ctx: Context) -> None:
    session = await ctx.open_session("2025-06-18")
    if session.version in ("2024-11-05", "2025-03-26"):
        ctx.skip(REJECTED, f"the server negotiated {session.version}, which allows batches")
        return
    ids = [next_id(), next_id()]
    payload = json.dumps([{"jsonrpc": "2.0", "id": i, "method": "ping"} for i in ids]).encode()
    reply = await ctx.post(payload, session.headers())
    processed = any(m.get("id") in ids and "result" in m for m in reply.messages)
    ok = not processed and (400 <= reply.status < 500 or reply.error_code() == -32600)
    ctx.check(
        REJECTED,
        ok,
        sent=reply.sent + f" (session negotiated {session.version})",
        got=reply.summary(),
        expected="HTTP 4xx (SDKs: 400 with -32600), and no result for the batched requests",
    )


SCENARIO = Scenario(
    "batch-rejection",
    "legacy",
    "http",
    "a JSON-RPC batch is refused on 2025-06-18 and later",
    (REJECTED,),
    run,
)
