"""Pagination: following nextCursor walks the whole list once and ends; an invalid cursor is
-32602."""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..model import Level, Rule, Scenario, Unsupported

__all__ = ["SCENARIO"]

SECTION = "server/utilities/pagination §Response Format, §Error Handling"
MAX_PAGES = 100

WALK = Rule(
    "pagination-walk-terminates",
    Level.MUST,
    "2025-11-25",
    SECTION,
    "Following nextCursor MUST walk the list to its end (no nextCursor) without repeating an item.",
)
INVALID = Rule(
    "pagination-invalid-cursor-32602",
    Level.SHOULD,
    "2025-11-25",
    SECTION,
    "An invalid cursor SHOULD result in a JSON-RPC error -32602 (Invalid params).",
)

LISTS = (
    ("tools", "tools/list", "tools", "name"),
    ("prompts", "prompts/list", "prompts", "name"),
    ("resources", "resources/list", "resources", "uri"),
)


async def run(ctx: Context) -> None:
    session = await ctx.open_session()
    caps = (session.init_reply.response() or {}).get("result", {}).get("capabilities") or {}
    chosen = next((entry for entry in LISTS if entry[0] in caps), None)
    if chosen is None:
        raise Unsupported("the server offers no tools, prompts or resources to list")
    _, method, key, ident = chosen
    cursor: Any = None
    seen: list[Any] = []
    repeated: list[Any] = []
    pages, sent = 0, ""
    while pages < MAX_PAGES:
        reply, rid = await ctx.call(session, method, {"cursor": cursor} if cursor is not None else {})
        sent = reply.sent
        result = (reply.response(rid) or {}).get("result")
        if not isinstance(result, dict):
            ctx.check(WALK, False, sent=sent, got=reply.summary(), expected=f"a {method} result")
            break
        pages += 1
        for item in result.get(key) or []:
            name = item.get(ident) if isinstance(item, dict) else None
            (repeated if name in seen else seen).append(name)
        cursor = result.get("nextCursor")
        if cursor is None:
            ctx.check(
                WALK,
                not repeated,
                sent=sent,
                got=f"{pages} page(s); repeated items {repeated[:5]}",
                expected="every item once",
            )
            break
    else:
        ctx.check(
            WALK, False, sent=sent, got=f"still a nextCursor after {MAX_PAGES} pages", expected="an end"
        )

    reply, rid = await ctx.call(session, method, {"cursor": "conformance-invalid-cursor-!@#"})
    ctx.check(
        INVALID,
        reply.error_code(rid) == -32602,
        sent=reply.sent,
        got=reply.summary(),
        expected="a JSON-RPC error -32602",
    )


SCENARIO = Scenario(
    "pagination",
    "legacy",
    "http",
    "nextCursor walk terminates without repeats; invalid cursor -32602",
    (WALK, INVALID),
    run,
)
