"""Answering server→client requests: during tools/call the scripted server sends a ping request
on the call's SSE stream and waits; the client MUST answer it with a separate POST carrying the
result and its session headers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..context import Context
from ..model import Level, Rule, Scenario
from ._scripted import ScriptedServer, run_client

__all__ = ["SCENARIO"]

PING_ID = "conformance-server-ping-1"
WAIT = 5.0
ANSWERS = Rule(
    "client-answers-server-ping",
    Level.MUST,
    "2025-11-25",
    "basic/utilities/ping §Behavior Requirements",
    "The receiver of a ping MUST promptly respond with an empty result (here: a POST carrying "
    f'{{"id": "{PING_ID}", "result": {{}}}}).',
)
HEADERS = Rule(
    "client-response-post-headers",
    Level.MUST,
    "2025-11-25",
    "basic/transports §Session Management, §Protocol Version Header",
    "The POST carrying the response MUST have the session id and MCP-Protocol-Version like any other.",
)


def _answer(server: ScriptedServer) -> Any:
    for seen in server.log:
        if (
            seen.method == "POST"
            and isinstance(seen.body, dict)
            and seen.body.get("id") == PING_ID
            and ("result" in seen.body or "error" in seen.body)
        ):
            return seen
    return None


async def ping_first(server: ScriptedServer, request: Request, body: dict[str, Any]) -> Response | None:
    rid = body.get("id")

    async def chunks() -> Any:
        yield "id: conformance-ping-0\ndata: \n\n"
        ping = {"jsonrpc": "2.0", "id": PING_ID, "method": "ping"}
        yield f"id: conformance-ping-1\ndata: {json.dumps(ping)}\n\n"
        # No answer in time is not an error here: the check in run() reports it.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(WAIT):
                while True:
                    posted = server.posted  # taken first: a POST after the read below still wakes us
                    if _answer(server) is not None:
                        break
                    await posted.wait()
        result = {"jsonrpc": "2.0", "id": rid, "result": {"content": [{"type": "text", "text": "ok"}]}}
        yield f"id: conformance-ping-2\ndata: {json.dumps(result)}\n\n"

    return server.sse(chunks)


async def run(ctx: Context) -> None:
    server = ScriptedServer({"tools/call": ping_first})
    result = await run_client(ctx.url, "client-server-requests", server, ctx.options.timeout)
    seen = _answer(server)
    ok = seen is not None and seen.body.get("result") == {}
    ctx.check(
        ANSWERS,
        ok,
        sent=f"a ping request (id {PING_ID}) on the tools/call SSE stream",
        got=seen.describe() if seen else f"no answer within {WAIT:g} s; exit {result.exit_code}",
        expected=f'POST {{"jsonrpc": "2.0", "id": "{PING_ID}", "result": {{}}}}',
    )
    if seen is None:
        ctx.skip(HEADERS, "no answer to judge")
        return
    ok = (
        seen.headers.get("mcp-session-id") == server.sessions[0]
        and seen.headers.get("mcp-protocol-version") == server.version
    )
    ctx.check(
        HEADERS,
        ok,
        got=seen.describe(),
        expected=f"Mcp-Session-Id {server.sessions[0]}, MCP-Protocol-Version {server.version}",
    )


SCENARIO = Scenario(
    "client-server-requests",
    "legacy",
    "client",
    "the client answers a server→client ping with a POST",
    (ANSWERS, HEADERS),
    run,
)
