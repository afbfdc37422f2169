"""POSTed notifications and responses: 202 Accepted with no body when accepted, an HTTP error when
not; never a 200 with a JSON-RPC reply (a notification MUST NOT be answered)."""

from __future__ import annotations

import json

from ..context import Context, body
from ..model import Level, Rule, Scenario

__all__ = ["SCENARIO"]

SECTION = "basic/transports §Sending Messages to the Server ¶4"

INITIALIZED_202 = Rule(
    "notification-initialized-202",
    Level.MUST,
    "2025-11-25",
    SECTION,
    "notifications/initialized, once accepted, MUST be answered 202 Accepted with no body.",
)
CANCELLED_202 = Rule(
    "notification-unknown-cancel-202",
    Level.MUST,
    "2025-11-25",
    SECTION + " + basic/utilities/cancellation §Behavior Requirements",
    "A notification MUST be answered 202 with no body if accepted, or an HTTP error status "
    "if not; cancellation of an unknown request SHOULD be ignored, so 202 is expected.",
)
RESPONSE_202 = Rule(
    "response-post-202",
    Level.MUST,
    "2025-11-25",
    SECTION,
    "A POSTed JSON-RPC response MUST get 202 with no body if accepted, or an HTTP error status "
    "(4xx) if not; never a 200 with a body.",
)


def _accepted(status: int, raw: bytes) -> bool:
    return status == 202 and raw.strip() == b""


async def run(ctx: Context) -> None:
    session = await ctx.open_session()
    reply = session.initialized_reply
    ctx.check(
        INITIALIZED_202,
        _accepted(reply.status, reply.body),
        sent=reply.sent,
        got=reply.summary(),
        expected="HTTP 202 with an empty body",
    )

    payload = body("notifications/cancelled", {"requestId": "conformance-never-sent", "reason": "test"})
    reply = await ctx.post(payload, session.headers())
    ok = _accepted(reply.status, reply.body) or 400 <= reply.status < 500
    ctx.check(
        CANCELLED_202,
        ok,
        sent=reply.sent,
        got=reply.summary(),
        expected="HTTP 202 with an empty body (or a 4xx if the server refuses it)",
        message="" if ok or reply.status != 200 else "a notification was answered with 200",
    )

    payload = json.dumps({"jsonrpc": "2.0", "id": "conformance-unsolicited", "result": {}}).encode()
    reply = await ctx.post(payload, session.headers())
    ok = _accepted(reply.status, reply.body) or 400 <= reply.status < 500
    ctx.check(
        RESPONSE_202,
        ok,
        sent=reply.sent,
        got=reply.summary(),
        expected="HTTP 202 with an empty body, or a 4xx",
    )


SCENARIO = Scenario(
    "notifications-202",
    "legacy",
    "http",
    "notifications and responses answered 202 with no body",
    (INITIALIZED_202, CANCELLED_202, RESPONSE_202),
    run,
)
