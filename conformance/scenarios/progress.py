"""Progress notifications: they carry the request's token, increase strictly, and stop with the
response."""

from __future__ import annotations

import itertools

from ..context import Context
from ..model import Level, Rule, Scenario, Unsupported
from ._streams import is_progress, run_tool

__all__ = ["SCENARIO"]

SECTION = "basic/utilities/progress §Behavior Requirements"

MONOTONIC = Rule(
    "progress-increases",
    Level.MUST,
    "2025-11-25",
    SECTION,
    "The progress value MUST increase with each notification, even if the total is unknown.",
)
TOKEN = Rule(
    "progress-token-matches",
    Level.MUST,
    "2025-11-25",
    SECTION,
    "Progress notifications MUST only reference the progressToken of an active request (the one this "
    "stream belongs to).",
)
AFTER = Rule(
    "progress-stops-after-response",
    Level.MUST,
    "2025-11-25",
    SECTION,
    "Progress notifications for a token MUST stop once the request has completed.",
)


async def run(ctx: Context) -> None:
    session = await ctx.open_session()
    run_ = await run_tool(ctx, session, "monotonic", require_sse=False)
    progress_msgs = [m for m in run_.messages if is_progress(m)]
    if not progress_msgs:
        raise Unsupported("the stream tool sent no progress notifications")
    values = [(m.get("params") or {}).get("progress") for m in progress_msgs]
    numbers = [v for v in values if isinstance(v, (int, float))]
    ok = len(numbers) == len(values) and all(b > a for a, b in itertools.pairwise(numbers))
    ctx.check(
        MONOTONIC, ok, sent=run_.sent, got=f"progress values {values}", expected="strictly increasing numbers"
    )
    tokens = {(m.get("params") or {}).get("progressToken") for m in progress_msgs}
    ctx.check(
        TOKEN,
        tokens == {"monotonic"},
        sent=run_.sent,
        got=f"tokens {sorted(map(str, tokens))}",
        expected="only 'monotonic'",
    )
    messages = run_.messages
    index = next((i for i, m in enumerate(messages) if m.get("id") == run_.rid), None)
    late = [m for m in messages[index + 1 :] if is_progress(m)] if index is not None else []
    ctx.check(
        AFTER,
        not late,
        sent=run_.sent,
        got=f"after the response: {late[:3]}",
        expected="nothing after the response",
    )


SCENARIO = Scenario(
    "progress",
    "legacy",
    "http",
    "progress tokens match, values increase, stop at the response",
    (MONOTONIC, TOKEN, AFTER),
    run,
)
