"""Resumption after a dropped stream, honouring retry: the scripted server answers tools/call with
an SSE stream holding only a priming event (id + empty data + ``retry: 500``) and closes it; the
client must wait at least 500 ms, then GET with Last-Event-ID, where the result is replayed."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..context import Context
from ..model import Level, Rule, Scenario
from ._scripted import ScriptedServer, run_client

__all__ = ["SCENARIO"]

RETRY_MS = 500
PRIMING_ID = "conformance-stream-1-0"
RESUME = Rule(
    "client-resumes-with-last-event-id",
    Level.SHOULD,
    "2025-11-25",
    "basic/transports §Resumability and Redelivery",
    "After the server closes a stream without the response, the client SHOULD reconnect with GET and "
    "Last-Event-ID set to the last event id it received.",
)
RETRY = Rule(
    "client-honours-retry",
    Level.MUST,
    "2025-11-25",
    "basic/transports §Sending Messages to the Server ¶6",
    "The client MUST wait the SSE retry interval before reconnecting.",
)
RESULT = Rule(
    "client-completes-after-resume",
    Level.SHOULD,
    "2025-11-25",
    "basic/transports §Resumability and Redelivery",
    "The response replayed on the resumed GET stream completes the call (the client exits 0).",
)


async def drop_call(server: ScriptedServer, request: Request, body: dict[str, Any]) -> Response | None:
    server.state["call_id"] = body.get("id")

    async def chunks() -> Any:
        yield f"id: {PRIMING_ID}\nretry: {RETRY_MS}\ndata: \n\n"
        await asyncio.sleep(0.05)
        server.state["closed_at"] = time.monotonic()

    return server.sse(chunks)


async def resume(server: ScriptedServer, request: Request, body: dict[str, Any]) -> Response | None:
    if request.headers.get("last-event-id") != PRIMING_ID or "call_id" not in server.state:
        return None
    result = {
        "jsonrpc": "2.0",
        "id": server.state["call_id"],
        "result": {"content": [{"type": "text", "text": "ok"}]},
    }

    async def chunks() -> Any:
        yield f"id: conformance-stream-1-1\ndata: {json.dumps(result)}\n\n"

    return server.sse(chunks)


async def run(ctx: Context) -> None:
    server = ScriptedServer({"tools/call": drop_call, "GET": resume})
    result = await run_client(ctx.url, "client-resume", server, ctx.options.timeout)
    gets = [s for s in result.log if s.method == "GET" and s.headers.get("last-event-id") == PRIMING_ID]
    closed = server.state.get("closed_at")
    ctx.check(
        RESUME,
        bool(gets),
        sent=f"tools/call answered by an SSE stream with only `id: {PRIMING_ID}`, "
        f"`retry: {RETRY_MS}`, then closed",
        got=f"GETs: {[s.describe() for s in result.log if s.method == 'GET']}",
        expected=f"GET with Last-Event-ID: {PRIMING_ID}",
    )
    if not gets or closed is None:
        ctx.skip(RETRY, "the client did not resume")
        ctx.skip(RESULT, "the client did not resume")
        return
    waited = (gets[0].at - closed) * 1000
    ctx.check(
        RETRY,
        waited >= RETRY_MS * 0.9,
        got=f"reconnected after {waited:.0f} ms",
        expected=f">= {RETRY_MS} ms",
    )
    ctx.check(
        RESULT,
        result.exit_code == 0,
        got=f"exit {result.exit_code}: {result.output[-300:]}",
        expected="exit 0",
    )


SCENARIO = Scenario(
    "client-resume",
    "legacy",
    "client",
    "resume with Last-Event-ID after a dropped stream, honouring retry",
    (RESUME, RETRY, RESULT),
    run,
)
