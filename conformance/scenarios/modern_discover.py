"""The 2026-07-28 entry points: server/discover, resultType and cache hints on results, no sessions
(an Mcp-Session-Id is ignored and none is minted), GET refused with 405."""

from __future__ import annotations

from typing import Any

from ..context import Context, modern_headers
from ..http import MODERN_VERSION
from ..model import Level, Rule, Scenario, Unsupported

__all__ = ["SCENARIO"]

DISCOVER = "server/discover §Request, §Response"
COMPAT = "basic/transports/streamable-http §Backward Compatibility (Earlier Streamable HTTP Revisions)"

IMPLEMENTED = Rule(
    "discover-implemented",
    Level.MUST,
    "2026-07-28",
    DISCOVER,
    "Servers MUST implement server/discover, returning supportedVersions (including the version "
    "requested) and capabilities.",
)
RESULT_TYPE = Rule(
    "result-type-present",
    Level.MUST,
    "2026-07-28",
    "basic/index §Responses",
    'Every result MUST carry resultType ("complete" for an ordinary result).',
)
CACHE_HINTS = Rule(
    "discover-cache-hints",
    Level.MUST,
    "2026-07-28",
    "server/utilities/caching §Time-to-Live (TTL) Field, §Cache Scope Field",
    "server/discover and list results MUST include ttlMs (integer >= 0) and cacheScope "
    '("public" or "private").',
)
SERVER_INFO = Rule(
    "result-server-info",
    Level.SHOULD,
    "2026-07-28",
    "basic/index §_meta",
    'Servers SHOULD name themselves in each result\'s _meta["io.modelcontextprotocol/serverInfo"].',
)
NO_SESSION = Rule(
    "modern-no-session-id",
    Level.SHOULD,
    "2026-07-28",
    COMPAT,
    "A modern request carrying an Mcp-Session-Id SHOULD be served with the header ignored, and the "
    "server never mints a session id.",
)
GET_405 = Rule(
    "modern-get-405",
    Level.SHOULD,
    "2026-07-28",
    COMPAT,
    "A GET labelled 2026-07-28 (no session) SHOULD get 405 Method Not Allowed: there is no GET stream.",
)
ORIGIN = Rule(
    "modern-origin-403",
    Level.MUST,
    "2026-07-28",
    "basic/transports/streamable-http §Security & Endpoint",
    "The Origin rules of 2025-11-25 hold for modern requests too: a present and invalid Origin MUST get "
    "403 (a foreign Origin on a loopback server; SHOULD-level on a public host, see origin-foreign-403).",
)
ORIGIN_PUBLIC = Rule("modern-origin-403-public", Level.SHOULD, "2026-07-28", ORIGIN.section, ORIGIN.text)


async def run(ctx: Context) -> None:
    reply, rid = await ctx.modern("server/discover")
    found = (reply.response(rid) or {}).get("result")
    result: dict[str, Any] = found if isinstance(found, dict) else {}
    versions = result.get("supportedVersions")
    speaks = reply.status == 200 and isinstance(versions, list) and MODERN_VERSION in versions
    if not speaks and ctx.era != "modern":
        raise Unsupported(
            f"the server does not speak {MODERN_VERSION} (server/discover got {reply.summary()})"
        )
    ok = speaks and isinstance(result.get("capabilities"), dict)
    ctx.check(
        IMPLEMENTED,
        ok,
        sent=reply.sent,
        got=reply.summary(),
        expected=f"a result with supportedVersions containing {MODERN_VERSION} and capabilities",
    )
    if not ok:
        return
    listed, lid = await ctx.modern("tools/list") if "tools" in result["capabilities"] else (None, None)
    results = [("server/discover", result)]
    if listed is not None:
        results.append(("tools/list", (listed.response(lid) or {}).get("result") or {}))
    missing = [name for name, r in results if r.get("resultType") != "complete"]
    ctx.check(
        RESULT_TYPE,
        not missing,
        sent=reply.sent,
        got=f'no resultType "complete" on {missing}',
        expected='"resultType": "complete"',
    )
    bad = [
        name
        for name, r in results
        if not (
            isinstance(r.get("ttlMs"), int)
            and not isinstance(r.get("ttlMs"), bool)
            and r["ttlMs"] >= 0
            and r.get("cacheScope") in ("public", "private")
        )
    ]
    ctx.check(
        CACHE_HINTS,
        not bad,
        sent=reply.sent,
        got=f"bad or missing ttlMs/cacheScope on {bad}",
        expected="ttlMs integer >= 0, cacheScope public|private",
    )
    info = (result.get("_meta") or {}).get("io.modelcontextprotocol/serverInfo")
    ctx.check(
        SERVER_INFO,
        isinstance(info, dict) and "name" in info,
        sent=reply.sent,
        got=f"_meta {result.get('_meta')}",
        expected="_meta[io.modelcontextprotocol/serverInfo] with a name",
    )

    again, aid = await ctx.modern("server/discover", headers={"Mcp-Session-Id": "conformance-stale-session"})
    ok = (
        again.status == 200
        and "result" in (again.response(aid) or {})
        and "mcp-session-id" not in again.headers
    )
    ctx.check(
        NO_SESSION,
        ok,
        sent=again.sent,
        got=f"{again.summary()} Mcp-Session-Id: {again.headers.get('mcp-session-id')}",
        expected="HTTP 200 with the result and no Mcp-Session-Id header",
    )

    foreign, _ = await ctx.modern("server/discover", headers={"Origin": "http://evil.example.com"})
    ctx.check(
        ORIGIN if ctx.is_loopback else ORIGIN_PUBLIC,
        foreign.status == 403,
        sent=foreign.sent,
        got=foreign.summary(),
        expected="HTTP 403",
    )

    headers = {k: v for k, v in modern_headers("server/discover").items() if k in ("MCP-Protocol-Version",)}
    headers["Accept"] = "text/event-stream"
    got = await ctx.request("GET", headers, timeout=min(3.0, ctx.options.timeout))
    ctx.check(GET_405, got.status == 405, sent=got.sent, got=got.summary(), expected="HTTP 405")


SCENARIO = Scenario(
    "modern-discover",
    "modern",
    "http",
    "server/discover, resultType, cache hints, serverInfo, no sessions, Origin 403, GET 405",
    (IMPLEMENTED, RESULT_TYPE, CACHE_HINTS, SERVER_INFO, NO_SESSION, ORIGIN, ORIGIN_PUBLIC, GET_405),
    run,
)
