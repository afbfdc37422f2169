"""A very large POST body should be refused with 413 rather than buffered. No MCP version sets a
limit, so this is a SHOULD (the Python SDK's default limit is 4 MiB)."""

from __future__ import annotations

import json

import httpx

from ..context import Context
from ..http import next_id
from ..model import Level, Rule, Scenario

__all__ = ["SCENARIO"]

LIMIT_413 = Rule(
    "body-limit-413",
    Level.SHOULD,
    "2025-11-25",
    "basic/transports §Streamable HTTP (no size rule: a hardening SHOULD, as the SDKs do)",
    "A server SHOULD limit request bodies and answer an oversized one (here 5 MiB) with "
    "413 Content Too Large.",
)


async def run(ctx: Context) -> None:
    session = await ctx.open_session()
    size = ctx.options.body_limit_bytes
    rid = next_id()
    payload = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": rid,
            "method": "ping",
            "params": {"_meta": {"conformance/padding": "x" * size}},
        }
    ).encode()
    sent = f"POST {ctx.url} [Mcp-Session-Id: {session.id}] ping with a {len(payload)} byte body"
    try:
        reply = await ctx.post(payload, session.headers())
    except (httpx.HTTPError, OSError) as exc:
        ctx.check(
            LIMIT_413,
            False,
            sent=sent,
            got=f"connection error {type(exc).__name__}: {exc}",
            expected="HTTP 413",
            message="the server dropped the connection instead of answering 413",
        )
        return
    ctx.check(
        LIMIT_413,
        reply.status == 413,
        sent=sent,
        got=reply.summary(),
        expected="HTTP 413",
        message="the server accepted a 5 MiB body" if reply.status < 300 else "",
    )


SCENARIO = Scenario("body-size-limit", "legacy", "http", "413 for a 5 MiB body (SHOULD)", (LIMIT_413,), run)
