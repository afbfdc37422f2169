"""Origin validation against DNS rebinding: a foreign Origin gets 403, the server's own origin and
no Origin at all are served."""

from __future__ import annotations

from ..context import Context, body
from ..http import ACCEPT_BOTH, LEGACY_VERSION, next_id
from ..model import Level, Rule, Scenario

__all__ = ["SCENARIO"]

SECTION = "basic/transports §Security Warning"
FOREIGN = "http://evil.example.com"

FOREIGN_403 = Rule(
    "origin-foreign-403",
    Level.MUST,
    "2025-11-25",
    SECTION,
    "Servers MUST validate Origin; a present and invalid Origin MUST get 403 Forbidden. A foreign "
    "Origin on a loopback server is invalid by definition (MUST); on a public server what is "
    "allowed is configuration, so there the check is reported as a warning.",
)
FOREIGN_403_PUBLIC = Rule("origin-foreign-403-public", Level.SHOULD, "2025-11-25", SECTION, FOREIGN_403.text)
OWN_ORIGIN_OK = Rule(
    "origin-own-accepted",
    Level.SHOULD,
    "2025-11-25",
    SECTION,
    "A request whose Origin is the server's own origin SHOULD be served (browser clients on the "
    "same origin must work).",
)


async def run(ctx: Context) -> None:
    rule = FOREIGN_403 if ctx.is_loopback else FOREIGN_403_PUBLIC
    rid = next_id()
    params = {
        "protocolVersion": LEGACY_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "mcp-transport-conformance", "version": "0.1"},
    }
    headers = {"Accept": ACCEPT_BOTH, "Content-Type": "application/json", "Origin": FOREIGN}
    reply = await ctx.post(body("initialize", params, rid), headers, until_id=rid)
    ctx.check(rule, reply.status == 403, sent=reply.sent, got=reply.summary(), expected="HTTP 403")

    session = await ctx.open_session(Origin=ctx.origin)
    reply, _ = await ctx.call(session, "ping", None, Origin=ctx.origin)
    ctx.check(OWN_ORIGIN_OK, reply.status == 200, sent=reply.sent, got=reply.summary(), expected="HTTP 200")


SCENARIO = Scenario(
    "origin-validation",
    "legacy",
    "http",
    "403 for a foreign Origin; the server's own origin is served",
    (FOREIGN_403, FOREIGN_403_PUBLIC, OWN_ORIGIN_OK),
    run,
)
