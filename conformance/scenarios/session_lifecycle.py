"""Legacy sessions: the id's alphabet, a request without the id, an unknown id, DELETE then the id
is gone, and a fresh initialize afterwards."""

from __future__ import annotations

from ..context import Context, body
from ..http import next_id
from ..model import Level, Rule, Scenario, Unsupported

__all__ = ["SCENARIO"]

SECTION = "basic/transports §Session Management"

ID_ALPHABET = Rule(
    "session-id-visible-ascii",
    Level.MUST,
    "2025-11-25",
    SECTION,
    "The session id MUST contain only visible ASCII characters (0x21 to 0x7E).",
)
MISSING_ID = Rule(
    "session-missing-id-400",
    Level.SHOULD,
    "2025-11-25",
    SECTION,
    "A server that requires a session id SHOULD answer a request without it (other than "
    "initialize) with 400 Bad Request.",
)
UNKNOWN_ID = Rule(
    "session-unknown-id-404",
    Level.MUST,
    "2025-11-25",
    SECTION,
    "A request carrying a session id the server does not have (never issued, expired or "
    "terminated: indistinguishable to the server) MUST get 404 Not Found, so the client "
    "knows to re-initialize.",
)
DELETE_ENDS = Rule(
    "session-delete-then-404",
    Level.MUST,
    "2025-11-25",
    SECTION,
    "After the client DELETEs the session (and the server allows it, i.e. does not answer "
    "405), requests with that id MUST get 404 Not Found.",
)
REINITIALIZE = Rule(
    "session-reinitialize",
    Level.MUST,
    "2025-11-25",
    SECTION,
    "After a 404 the client MUST start a new session with a fresh initialize without a session "
    "id; the server must accept it and issue a new, different id.",
)


async def run(ctx: Context) -> None:
    session = await ctx.open_session()
    if session.id is None:
        raise Unsupported("the server issues no Mcp-Session-Id (stateless server)")
    sent = session.init_reply.sent
    ctx.check(
        ID_ALPHABET,
        all(0x21 <= ord(ch) <= 0x7E for ch in session.id) and session.id != "",
        sent=sent,
        got=f"Mcp-Session-Id: {session.id!r}",
        expected="only characters 0x21-0x7E",
    )

    rid = next_id()
    headers = session.headers()
    del headers["Mcp-Session-Id"]
    reply = await ctx.post(body("ping", None, rid), headers, until_id=rid)
    ctx.check(MISSING_ID, reply.status == 400, sent=reply.sent, got=reply.summary(), expected="HTTP 400")

    reply = await ctx.post(
        body("ping", None, next_id()),
        session.headers(**{"Mcp-Session-Id": "conformance-unknown-session-0000"}),
    )
    ctx.check(UNKNOWN_ID, reply.status == 404, sent=reply.sent, got=reply.summary(), expected="HTTP 404")

    deleted = await ctx.request("DELETE", session.headers())
    if deleted.status == 405:
        ctx.skip(DELETE_ENDS, "the server does not let clients terminate sessions (DELETE answered 405)")
    elif not 200 <= deleted.status < 300:
        ctx.check(
            DELETE_ENDS,
            False,
            sent=deleted.sent,
            got=deleted.summary(),
            expected="a 2xx status (or 405 when the server does not allow termination)",
        )
    else:
        reply = await ctx.post(body("ping", None, next_id()), session.headers())
        ctx.check(
            DELETE_ENDS,
            reply.status == 404,
            sent=f"DELETE (got {deleted.status}), then {reply.sent}",
            got=reply.summary(),
            expected="HTTP 404",
        )

    fresh = await ctx.open_session()
    ctx.check(
        REINITIALIZE,
        fresh.id is not None and fresh.id != session.id,
        sent=fresh.init_reply.sent,
        got=f"{fresh.init_reply.summary()} Mcp-Session-Id: {fresh.id!r}",
        expected=f"a successful InitializeResult with a new session id (not {session.id!r})",
    )


SCENARIO = Scenario(
    "session-lifecycle",
    "legacy",
    "http",
    "session id alphabet, missing id 400, unknown id 404, DELETE then 404, re-initialize",
    (ID_ALPHABET, MISSING_ID, UNKNOWN_ID, DELETE_ENDS, REINITIALIZE),
    run,
)
