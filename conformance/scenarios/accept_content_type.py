"""Content negotiation on POST and GET: an Accept the server cannot satisfy gets 406, a body that is
not JSON by Content-Type gets 415. The spec states the client side (Accept MUST list both types);
the status codes are the official SDKs' practice, so these checks are SHOULD."""

from __future__ import annotations

from ..context import Context, body
from ..http import next_id
from ..model import Level, Rule, Scenario

__all__ = ["SCENARIO"]

SECTION = "basic/transports §Sending Messages to the Server"

POST_406 = Rule(
    "accept-post-406",
    Level.SHOULD,
    "2025-11-25",
    SECTION,
    "A POST whose Accept lists neither application/json nor text/event-stream cannot be answered; "
    "the server SHOULD reject it with 406 Not Acceptable (clients MUST list both).",
)
GET_406 = Rule(
    "accept-get-406",
    Level.SHOULD,
    "2025-11-25",
    "basic/transports §Listening for Messages from the Server",
    "A GET whose Accept lacks text/event-stream SHOULD be rejected with 406 Not Acceptable.",
)
CONTENT_TYPE_415 = Rule(
    "content-type-415",
    Level.SHOULD,
    "2025-11-25",
    SECTION,
    "A POST body that is not declared application/json SHOULD be rejected with 415 "
    "Unsupported Media Type (400 also accepted).",
)


async def run(ctx: Context) -> None:
    session = await ctx.open_session()
    reply = await ctx.post(body("ping", None, next_id()), session.headers(Accept="text/html"))
    ctx.check(POST_406, reply.status == 406, sent=reply.sent, got=reply.summary(), expected="HTTP 406")

    reply = await ctx.post(body("ping", None, next_id()), session.headers(**{"Content-Type": "text/plain"}))
    ctx.check(
        CONTENT_TYPE_415,
        reply.status in (415, 400),
        sent=reply.sent,
        got=reply.summary(),
        expected="HTTP 415 (or 400)",
    )

    headers = session.headers(Accept="application/json")
    del headers["Content-Type"]
    reply = await ctx.request("GET", headers, timeout=min(ctx.options.timeout, 3.0))
    if reply.status == 405:
        ctx.skip(GET_406, "the server offers no GET stream (405)")
    else:
        ctx.check(GET_406, reply.status == 406, sent=reply.sent, got=reply.summary(), expected="HTTP 406")


SCENARIO = Scenario(
    "accept-content-type",
    "legacy",
    "http",
    "406 for an unsatisfiable Accept, 415 for a non-JSON Content-Type",
    (POST_406, CONTENT_TYPE_415, GET_406),
    run,
)
