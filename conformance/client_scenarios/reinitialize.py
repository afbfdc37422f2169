"""404 → re-initialize: when the server answers 404 for the session, the client MUST start a new
session with an initialize that carries no session id, then use the new id."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..context import Context
from ..model import Level, Rule, Scenario
from ._scripted import ScriptedServer, run_client

__all__ = ["SCENARIO"]

SECTION = "basic/transports §Session Management ¶4"
REINIT = Rule(
    "client-reinitializes-after-404",
    Level.MUST,
    "2025-11-25",
    SECTION,
    "On 404 for a request carrying a session id the client MUST start a new session: a fresh initialize "
    "without Mcp-Session-Id.",
)
NEW_ID = Rule(
    "client-uses-new-session-id",
    Level.MUST,
    "2025-11-25",
    SECTION,
    "After re-initializing, the client MUST send the new session id (never the expired one).",
)


async def expire_first(server: ScriptedServer, request: Request, body: dict[str, Any]) -> Response | None:
    if not server.state.get("expired") and request.headers.get("mcp-session-id") == (
        server.sessions[0] if server.sessions else None
    ):
        server.state["expired"] = True
        server.expired.add(server.sessions[0])
        return Response(status_code=404)
    return None


async def run(ctx: Context) -> None:
    server = ScriptedServer({"tools/list": expire_first, "tools/call": expire_first})
    result = await run_client(ctx.url, "client-reinitialize", server, ctx.options.timeout)
    first_404 = next(
        (
            i
            for i, s in enumerate(result.log)
            if s.rpc_method in ("tools/list", "tools/call")
            and s.headers.get("mcp-session-id") == (server.sessions[0] if server.sessions else None)
        ),
        None,
    )
    if first_404 is None:
        ctx.check(
            REINIT,
            False,
            got=f"the client never sent tools/list or tools/call; exit {result.exit_code}: "
            f"{result.output[-300:]}",
            expected="tools/list with the session id",
        )
        return
    later = result.log[first_404 + 1 :]
    inits = [s for s in later if s.rpc_method == "initialize"]
    ok = bool(inits) and "mcp-session-id" not in inits[0].headers
    ctx.check(
        REINIT,
        ok,
        sent="HTTP 404 for the session's tools/list",
        got=f"later requests: {[s.describe() for s in later[:4]]}",
        expected="initialize without Mcp-Session-Id",
    )
    if not inits or len(server.sessions) < 2:
        ctx.skip(NEW_ID, "the client did not re-initialize")
        return
    stale = [s.describe() for s in later if s.headers.get("mcp-session-id") == server.sessions[0]]
    used_new = any(s.headers.get("mcp-session-id") == server.sessions[1] for s in later)
    ctx.check(
        NEW_ID,
        used_new and not stale,
        got=f"stale-id requests: {stale[:3]}",
        expected=f"Mcp-Session-Id: {server.sessions[1]} on later requests",
    )


SCENARIO = Scenario(
    "client-reinitialize-on-404",
    "legacy",
    "client",
    "404 for the session → a fresh initialize",
    (REINIT, NEW_ID),
    run,
)
