"""The legacy handshake and the headers every later request carries: notifications/initialized,
the session id, MCP-Protocol-Version, an Accept listing both types."""

from __future__ import annotations

from ..context import Context
from ..model import Level, Rule, Scenario
from ._scripted import ScriptedServer, run_client

__all__ = ["SCENARIO"]

T = "basic/transports"
COMPLETES = Rule(
    "client-completes-flow",
    Level.MUST,
    "2025-11-25",
    "basic/lifecycle §Lifecycle Phases (the flow is the suite's contract)",
    "Against a plain correct server the client initializes, lists tools, calls conformance_tool and exits 0.",
)
INITIALIZED = Rule(
    "client-sends-initialized",
    Level.MUST,
    "2025-11-25",
    "basic/lifecycle §Initialization",
    "After a successful initialize the client MUST send notifications/initialized.",
)
SESSION = Rule(
    "client-echoes-session-id",
    Level.MUST,
    "2025-11-25",
    f"{T} §Session Management",
    "Once issued, the client MUST send Mcp-Session-Id on all subsequent HTTP requests.",
)
VERSION = Rule(
    "client-protocol-version-header",
    Level.MUST,
    "2025-06-18",
    f"{T} §Protocol Version Header",
    "After initialization the client MUST send MCP-Protocol-Version: <negotiated> on every HTTP request.",
)
VERSION_ON_INITIALIZED = Rule(
    "client-protocol-version-on-initialized",
    Level.SHOULD,
    "2025-06-18",
    f"{T} §Protocol Version Header",
    "The header SHOULD already be on the notifications/initialized POST (the version is "
    "known by then; whether that POST is 'after initialization' is ambiguous, so SHOULD).",
)
ACCEPT = Rule(
    "client-accept-both",
    Level.MUST,
    "2025-11-25",
    f"{T} §Sending Messages to the Server",
    "Every POST MUST carry an Accept header listing both application/json and text/event-stream.",
)
FALLBACK = Rule(
    "client-dual-era-fallback",
    Level.MUST,
    "2026-07-28",
    "basic/versioning §Backward Compatibility with Initialization-Based Versions",
    "A client that probes with a modern request and gets a 400 without a recognised modern error "
    "(a legacy server) MUST fall back to initialize; a legacy-only client is skipped.",
)


def _is_modern(body: object) -> bool:
    params = body.get("params") if isinstance(body, dict) else None
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and "io.modelcontextprotocol/protocolVersion" in meta


async def run(ctx: Context) -> None:
    server = ScriptedServer()
    result = await run_client(ctx.url, "client-basics", server, ctx.options.timeout)
    called = any(s.rpc_method == "tools/call" for s in result.log)
    ctx.check(
        COMPLETES,
        result.exit_code == 0 and called,
        sent=f"scripted server; client {ctx.url!r}",
        got=f"exit {result.exit_code}, tools/call {'sent' if called else 'never sent'}; "
        f"output: {result.output[-300:]}",
        expected="exit 0 after calling conformance_tool",
    )
    init = next((i for i, s in enumerate(result.log) if s.rpc_method == "initialize"), None)
    probes = [s for s in result.log[:init] if _is_modern(s.body)]
    if not probes:
        ctx.skip(FALLBACK, "the client opened with initialize (legacy-only or legacy-first)")
    else:
        ctx.check(
            FALLBACK,
            init is not None,
            sent="HTTP 400 (legacy 'missing session') to the modern probe",
            got=f"requests: {[s.describe() for s in result.log[:4]]}",
            expected="an initialize after the probe",
        )
    if init is None:
        return
    after = result.log[init + 1 :]
    ctx.check(
        INITIALIZED,
        any(s.rpc_method == "notifications/initialized" for s in after),
        got=f"requests after initialize: {[s.rpc_method or s.method for s in after]}",
        expected="notifications/initialized",
    )
    missing = [s.describe() for s in after if s.headers.get("mcp-session-id") != server.sessions[0]]
    ctx.check(
        SESSION,
        not missing,
        got=f"without the session id: {missing[:3]}",
        expected=f"Mcp-Session-Id: {server.sessions[0]}",
    )
    wrong = [
        s.describe()
        for s in after
        if s.headers.get("mcp-protocol-version") != server.version
        and s.rpc_method != "notifications/initialized"
    ]
    ctx.check(
        VERSION,
        not wrong,
        got=f"without the right header: {wrong[:3]}",
        expected=f"MCP-Protocol-Version: {server.version}",
    )
    initialized = [s for s in after if s.rpc_method == "notifications/initialized"]
    if initialized:
        ok = initialized[0].headers.get("mcp-protocol-version") == server.version
        ctx.check(
            VERSION_ON_INITIALIZED,
            ok,
            got=initialized[0].describe(),
            expected=f"MCP-Protocol-Version: {server.version}",
        )
    bad = [
        s.describe()
        for s in result.log
        if s.method == "POST"
        and not (
            "application/json" in s.headers.get("accept", "")
            and "text/event-stream" in s.headers.get("accept", "")
        )
    ]
    ctx.check(
        ACCEPT,
        not bad,
        got=f"POSTs with another Accept: {bad[:3]}",
        expected="application/json, text/event-stream",
    )


SCENARIO = Scenario(
    "client-basics",
    "legacy",
    "client",
    "handshake, session id, MCP-Protocol-Version and Accept headers",
    (COMPLETES, FALLBACK, INITIALIZED, SESSION, VERSION, VERSION_ON_INITIALIZED, ACCEPT),
    run,
)
