"""JSON-RPC error codes and bodies over HTTP: unknown method -32601 with the request's id, invalid
JSON -32700 with a null id, an invalid request -32600, and every message carries jsonrpc "2.0"."""

from __future__ import annotations

import json

from ..context import Context
from ..http import next_id
from ..model import Level, Rule, Scenario

__all__ = ["SCENARIO"]

BASE = "basic/index §Messages; JSON-RPC 2.0 §5"

UNKNOWN_METHOD = Rule(
    "jsonrpc-unknown-method-32601",
    Level.MUST,
    "2025-11-25",
    BASE,
    "A request for a method the server does not have MUST get a JSON-RPC error -32601.",
)
ERROR_ID = Rule(
    "jsonrpc-error-echoes-id",
    Level.MUST,
    "2025-11-25",
    BASE,
    'An error response MUST carry the same id as the request, and jsonrpc "2.0".',
)
PARSE_ERROR_STATUS = Rule(
    "jsonrpc-parse-error-http-4xx",
    Level.SHOULD,
    "2025-11-25",
    "basic/transports §Sending Messages to the Server",
    "A body that is not JSON is neither a request nor a notification/response the server can "
    "accept: it SHOULD be refused with an HTTP error status (SDKs: 400), not a 2xx. (The spec "
    "states the 4xx only for unaccepted notifications/responses, hence SHOULD.)",
)
PARSE_ERROR_BODY = Rule(
    "jsonrpc-parse-error-32700",
    Level.SHOULD,
    "2025-11-25",
    BASE,
    "The reply to invalid JSON SHOULD be a JSON-RPC error -32700 whose id is null or absent.",
)
INVALID_REQUEST = Rule(
    "jsonrpc-invalid-request-32600",
    Level.SHOULD,
    "2025-11-25",
    BASE,
    "A JSON object that is not a valid JSON-RPC message (no method, no result/error) SHOULD be "
    "refused with HTTP 400 and a JSON-RPC error -32600.",
)


async def run(ctx: Context) -> None:
    session = await ctx.open_session()
    reply, rid = await ctx.call(session, "conformance/no-such-method", {})
    message = reply.response(rid) or reply.response()
    code = reply.error_code(rid)
    ctx.check(
        UNKNOWN_METHOD,
        code == -32601,
        sent=reply.sent,
        got=reply.summary(),
        expected="a JSON-RPC error with code -32601",
    )
    ok = message is not None and message.get("id") == rid and message.get("jsonrpc") == "2.0"
    ctx.check(
        ERROR_ID,
        ok,
        sent=reply.sent,
        got=reply.summary(),
        expected=f'an error with "id": {rid}, "jsonrpc": "2.0"',
    )

    reply = await ctx.post(b'{"jsonrpc": "2.0", "id": 1, "method": ', session.headers())
    ctx.check(
        PARSE_ERROR_STATUS,
        400 <= reply.status < 500,
        sent=reply.sent,
        got=reply.summary(),
        expected="HTTP 4xx",
    )
    error = reply.json if isinstance(reply.json, dict) else {}
    ok = (error.get("error") or {}).get("code") == -32700 and error.get("id") is None
    ctx.check(
        PARSE_ERROR_BODY,
        ok,
        sent=reply.sent,
        got=reply.summary(),
        expected='{"jsonrpc": "2.0", "id": null, "error": {"code": -32700, ...}}',
    )

    payload = json.dumps({"jsonrpc": "2.0", "id": next_id()}).encode()
    reply = await ctx.post(payload, session.headers())
    ctx.check(
        INVALID_REQUEST,
        reply.status == 400 and reply.error_code() == -32600,
        sent=reply.sent,
        got=reply.summary(),
        expected="HTTP 400 with a JSON-RPC error -32600",
    )


SCENARIO = Scenario(
    "jsonrpc-errors",
    "legacy",
    "http",
    "JSON-RPC error codes and bodies: -32601, -32700, -32600, id echo",
    (UNKNOWN_METHOD, ERROR_ID, PARSE_ERROR_STATUS, PARSE_ERROR_BODY, INVALID_REQUEST),
    run,
)
