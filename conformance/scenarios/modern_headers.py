"""2026-07-28 request validation: the mirrored headers (MCP-Protocol-Version, Mcp-Method, Mcp-Name,
Mcp-Param-*) must match the body (-32020), the version must be supported (-32022), the _meta
envelope must be there (-32602), an unknown method is 404/-32601; every error echoes the request id."""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..http import Reply
from ..model import Level, Rule, Scenario

__all__ = ["SCENARIO"]

HTTP = "basic/transports/streamable-http §Request Metadata"


def _rule(rule_id: str, text: str) -> Rule:
    return Rule(rule_id, Level.MUST, "2026-07-28", HTTP, text)


METHOD_MISSING = _rule(
    "header-mcp-method-missing-32020", "A request without Mcp-Method MUST get 400 with -32020."
)
METHOD_MISMATCH = _rule(
    "header-mcp-method-mismatch-32020", "Mcp-Method differing from the body method MUST get 400 with -32020."
)
VERSION_MISMATCH = _rule(
    "header-version-mismatch-400",
    "A request whose MCP-Protocol-Version differs from _meta protocolVersion MUST be rejected "
    "with 400 and never processed.",
)
VERSION_MISMATCH_CODE = Rule(
    "header-version-mismatch-32020",
    Level.SHOULD,
    "2026-07-28",
    HTTP,
    "The mismatch SHOULD be reported as -32020. (A dual-era server that routes by header, as "
    "the Python SDK does, sees a legacy request and may answer with a legacy 400 instead: "
    "hence only SHOULD.)",
)
NAME_MISSING = _rule("header-mcp-name-missing-32020", "tools/call without Mcp-Name MUST get 400 with -32020.")
NAME_MISMATCH = _rule(
    "header-mcp-name-mismatch-32020", "Mcp-Name differing from params.name MUST get 400 with -32020."
)
PARAM_MISMATCH = _rule(
    "header-mcp-param-mismatch-32020",
    "An Mcp-Param-* header differing from its x-mcp-header argument MUST get 400 with -32020.",
)
PARAM_MISSING = _rule(
    "header-mcp-param-missing-32020",
    "Omitting Mcp-Param-* for an annotated argument present in the body MUST get 400 with -32020.",
)
UNSUPPORTED = _rule(
    "version-unsupported-32022",
    "An unsupported protocol version MUST get 400 with -32022 and data.supported listing versions.",
)
NO_META = _rule("meta-missing-32602", "A request without the _meta envelope MUST get 400 with -32602.")
UNKNOWN = _rule("unknown-method-404-32601", "An unknown method MUST get 404 with a JSON-RPC -32601 body.")
ECHO_ID = _rule(
    "modern-error-echoes-id", "Every error response MUST echo the request id (ids are never null)."
)


async def run(ctx: Context) -> None:
    await ctx.require_modern()
    echoed: list[str] = []

    async def expect(
        rule: Rule,
        method: str,
        params: Any = None,
        *,
        status: int = 400,
        code: int = -32020,
        name: str | None = None,
        headers: dict[str, Any] | None = None,
        raw: bool = False,
    ) -> Reply:
        reply, rid = await ctx.modern(method, params, name=name, headers=headers, raw_params=raw)
        ok = reply.status == status and reply.error_code(rid) == code
        ctx.check(
            rule, ok, sent=reply.sent, got=reply.summary(), expected=f"HTTP {status} with JSON-RPC {code}"
        )
        message = reply.response()
        if message is not None and "error" in message and message.get("id") != rid:
            echoed.append(f"{rule.id}: id {message.get('id')!r} for request {rid}")
        return reply

    await expect(METHOD_MISSING, "tools/list", headers={"Mcp-Method": None})
    await expect(METHOD_MISMATCH, "tools/list", headers={"Mcp-Method": "prompts/list"})
    reply, rid = await ctx.modern("tools/list", headers={"MCP-Protocol-Version": "2025-11-25"})
    ctx.check(
        VERSION_MISMATCH,
        reply.status == 400 and "result" not in (reply.response(rid) or {}),
        sent=reply.sent,
        got=reply.summary(),
        expected="HTTP 400",
    )
    ctx.check(
        VERSION_MISMATCH_CODE,
        reply.status == 400 and reply.error_code() == -32020,
        sent=reply.sent,
        got=reply.summary(),
        expected="HTTP 400 with JSON-RPC -32020",
    )
    bogus = {
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2099-01-01",
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    }
    reply, rid = await ctx.modern(
        "tools/list", bogus, headers={"MCP-Protocol-Version": "2099-01-01"}, raw_params=True
    )
    data = ((reply.response(rid) or {}).get("error") or {}).get("data")
    ok = (
        reply.status == 400
        and reply.error_code(rid) == -32022
        and isinstance(data, dict)
        and isinstance(data.get("supported"), list)
    )
    ctx.check(
        UNSUPPORTED,
        ok,
        sent=reply.sent,
        got=reply.summary(),
        expected="HTTP 400 with JSON-RPC -32022 and error.data.supported: [...]",
    )
    await expect(NO_META, "tools/list", {}, code=-32602, raw=True)
    await expect(UNKNOWN, "conformance/no-such-method", status=404, code=-32601)

    tools = await _tools(ctx)
    if not tools:
        for rule in (NAME_MISSING, NAME_MISMATCH, PARAM_MISMATCH, PARAM_MISSING):
            ctx.skip(rule, "the server lists no tools")
    else:
        tool = tools[0]
        params = {"name": tool["name"], "arguments": {}}
        await expect(NAME_MISSING, "tools/call", params)
        await expect(NAME_MISMATCH, "tools/call", params, name=tool["name"] + "-other")
        await _param_checks(ctx, tools, expect)
    ctx.check(ECHO_ID, not echoed, got="; ".join(echoed), expected="error ids equal to the request ids")


async def _tools(ctx: Context) -> list[dict[str, Any]]:
    reply, rid = await ctx.modern("tools/list")
    tools = ((reply.response(rid) or {}).get("result") or {}).get("tools") or []
    return [t for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str)]


def _annotated(tool: dict[str, Any]) -> tuple[str, str, str] | None:
    """(argument, header name, JSON type) of the first top-level x-mcp-header string/integer property."""
    props = (tool.get("inputSchema") or {}).get("properties") or {}
    for arg, schema in props.items():
        if (
            isinstance(schema, dict)
            and isinstance(schema.get("x-mcp-header"), str)
            and schema.get("type") in ("string", "integer")
        ):
            return arg, schema["x-mcp-header"], schema["type"]
    return None


async def _param_checks(ctx: Context, tools: list[dict[str, Any]], expect: Any) -> None:
    for tool in tools:
        found = _annotated(tool)
        if found:
            break
    else:
        for rule in (PARAM_MISMATCH, PARAM_MISSING):
            ctx.skip(rule, "no tool has an x-mcp-header string or integer argument")
        return
    arg, header, kind = found
    value: Any = "conformance" if kind == "string" else 7
    params = {"name": tool["name"], "arguments": {arg: value}}
    other = "conformance-other" if kind == "string" else "8"
    await expect(
        PARAM_MISMATCH, "tools/call", params, name=tool["name"], headers={f"Mcp-Param-{header}": other}
    )
    await expect(PARAM_MISSING, "tools/call", params, name=tool["name"])


SCENARIO = Scenario(
    "modern-headers",
    "modern",
    "http",
    "Mcp-Method / Mcp-Name / Mcp-Param-* / MCP-Protocol-Version validation, -32020/-32022/-32602, 404/-32601",
    (
        METHOD_MISSING,
        METHOD_MISMATCH,
        VERSION_MISMATCH,
        VERSION_MISMATCH_CODE,
        UNSUPPORTED,
        NO_META,
        UNKNOWN,
        NAME_MISSING,
        NAME_MISMATCH,
        PARAM_MISMATCH,
        PARAM_MISSING,
        ECHO_ID,
    ),
    run,
)
