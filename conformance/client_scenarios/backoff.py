"""Reconnecting within a budget: the scripted server drops the tools/call stream after a priming
event (``retry: 200``) and then answers every GET with 503. The client should keep the retry
interval between attempts and give up in bounded time instead of hammering the server forever.
The spec sets no budget, so both checks are SHOULD."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..context import Context
from ..model import Level, Rule, Scenario
from ._scripted import ScriptedServer, run_client

__all__ = ["SCENARIO"]

RETRY_MS = 200
BUDGET = 8.0  # seconds the client gets to give up
SPACING = Rule(
    "client-reconnect-spacing",
    Level.SHOULD,
    "2025-11-25",
    "basic/transports §Sending Messages to the Server ¶6",
    "Every reconnection attempt SHOULD wait at least the last SSE retry interval (the retry value stays in "
    "effect after a failed attempt).",
)
BOUNDED = Rule(
    "client-reconnect-bounded",
    Level.SHOULD,
    "2025-11-25",
    "basic/lifecycle §Timeouts",
    f"Against a server that never lets it resume, the client SHOULD give up (exit) within a bounded time "
    f"(here {BUDGET:g} s) rather than retry forever.",
)


async def drop(server: ScriptedServer, request: Request, body: dict[str, Any]) -> Response | None:
    async def chunks() -> Any:
        yield f"id: conformance-backoff-0\nretry: {RETRY_MS}\ndata: \n\n"
        await asyncio.sleep(0.05)

    return server.sse(chunks)


async def refuse(server: ScriptedServer, request: Request, body: dict[str, Any]) -> Response | None:
    if request.headers.get("last-event-id"):
        return Response(status_code=503)
    return None


async def run(ctx: Context) -> None:
    server = ScriptedServer({"tools/call": drop, "GET": refuse})
    result = await run_client(ctx.url, "client-reconnect-backoff", server, min(ctx.options.timeout, BUDGET))
    gets = [s for s in result.log if s.method == "GET" and s.headers.get("last-event-id")]
    ctx.check(
        BOUNDED,
        result.exit_code is not None,
        sent="every GET with Last-Event-ID answered 503",
        got=f"still running after {BUDGET:g} s, {len(gets)} reconnection attempts",
        expected="the client gives up",
    )
    if len(gets) < 2:
        ctx.skip(SPACING, f"{len(gets)} reconnection attempt(s): nothing to space")
        return
    gaps = [round((b.at - a.at) * 1000) for a, b in itertools.pairwise(gets)]
    ctx.check(
        SPACING,
        min(gaps) >= RETRY_MS * 0.9,
        got=f"gaps between attempts (ms): {gaps[:10]}",
        expected=f">= {RETRY_MS} ms each",
    )


SCENARIO = Scenario(
    "client-reconnect-backoff",
    "legacy",
    "client",
    "reconnect attempts spaced by retry and bounded when the server never lets the client resume",
    (SPACING, BOUNDED),
    run,
)
