"""The MCP-Protocol-Version header (2025-06-18+): an unsupported value gets 400; a missing one is
assumed to be 2025-03-26 (or the session's version) rather than refused."""

from __future__ import annotations

from ..context import Context, body
from ..http import next_id
from ..model import Level, Rule, Scenario

__all__ = ["SCENARIO"]

SECTION = "basic/transports §Protocol Version Header"

UNSUPPORTED_400 = Rule(
    "protocol-version-unsupported-400",
    Level.MUST,
    "2025-06-18",
    SECTION,
    "A request with an invalid or unsupported MCP-Protocol-Version MUST get 400 Bad Request.",
)
GARBAGE_400 = Rule(
    "protocol-version-invalid-400",
    Level.MUST,
    "2025-06-18",
    SECTION,
    "A request whose MCP-Protocol-Version is not a version string at all MUST get 400 Bad Request.",
)
MISSING_OK = Rule(
    "protocol-version-missing-accepted",
    Level.SHOULD,
    "2025-06-18",
    SECTION,
    "Without the header the server SHOULD assume 2025-03-26 (or use the version it negotiated for "
    "the session) instead of refusing the request.",
)
NEGOTIATED = Rule(
    "protocol-version-negotiated",
    Level.MUST,
    "2025-11-25",
    "basic/lifecycle §Version Negotiation",
    "initialize MUST answer with the requested version if supported, otherwise another version "
    "the server supports; the answer must be one of the known protocol versions.",
)

KNOWN = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28")


async def run(ctx: Context) -> None:
    session = await ctx.open_session()
    ctx.check(
        NEGOTIATED,
        session.version in KNOWN,
        sent=session.init_reply.sent,
        got=f"protocolVersion {session.version!r}",
        expected=f"one of {', '.join(KNOWN)}",
    )
    if session.version in ("2024-11-05", "2025-03-26"):
        for rule in (UNSUPPORTED_400, GARBAGE_400, MISSING_OK):
            ctx.skip(rule, f"the server negotiated {session.version}, before the header existed")
        return
    reply, _ = await ctx.call(session, "ping", None, None, **{"MCP-Protocol-Version": "1999-01-01"})
    ctx.check(UNSUPPORTED_400, reply.status == 400, sent=reply.sent, got=reply.summary(), expected="HTTP 400")
    reply, _ = await ctx.call(session, "ping", None, None, **{"MCP-Protocol-Version": "not-a-version"})
    ctx.check(GARBAGE_400, reply.status == 400, sent=reply.sent, got=reply.summary(), expected="HTTP 400")

    headers = session.headers()
    del headers["MCP-Protocol-Version"]
    rid = next_id()
    reply = await ctx.post(body("ping", None, rid), headers, until_id=rid)
    ok = reply.status == 200 and reply.response(rid) is not None and "result" in (reply.response(rid) or {})
    ctx.check(MISSING_OK, ok, sent=reply.sent, got=reply.summary(), expected="HTTP 200 with the ping result")


SCENARIO = Scenario(
    "protocol-version-header",
    "legacy",
    "http",
    "MCP-Protocol-Version: unsupported or invalid → 400, missing → assumed",
    (NEGOTIATED, UNSUPPORTED_400, GARBAGE_400, MISSING_OK),
    run,
)
