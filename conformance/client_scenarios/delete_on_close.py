"""DELETE on close: a client that no longer needs its session SHOULD end it with an HTTP DELETE
carrying the session id."""

from __future__ import annotations

from ..context import Context
from ..model import Level, Rule, Scenario
from ._scripted import ScriptedServer, run_client

__all__ = ["SCENARIO"]

DELETE = Rule(
    "client-deletes-session-on-close",
    Level.SHOULD,
    "2025-11-25",
    "basic/transports §Session Management ¶5",
    "A client that no longer needs the session SHOULD send HTTP DELETE with its Mcp-Session-Id.",
)


async def run(ctx: Context) -> None:
    server = ScriptedServer()
    result = await run_client(ctx.url, "client-delete-on-close", server, ctx.options.timeout)
    deletes = [s for s in result.log if s.method == "DELETE"]
    ok = bool(server.sessions) and any(s.headers.get("mcp-session-id") == server.sessions[0] for s in deletes)
    ctx.check(
        DELETE,
        ok,
        got=f"DELETEs: {[s.describe() for s in deletes]}; exit {result.exit_code}",
        expected=f"DELETE with Mcp-Session-Id: {server.sessions[0] if server.sessions else '?'}",
    )


SCENARIO = Scenario(
    "client-delete-on-close", "legacy", "client", "the client DELETEs its session when done", (DELETE,), run
)
