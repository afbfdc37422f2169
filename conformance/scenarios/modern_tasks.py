"""The tasks extension (2026-07-28 ``io.modelcontextprotocol/tasks``, SEP-2663) on a server
that advertises it in ``server/discover``: the task lifecycle (created, found at once, polled
to its end, cancel acknowledged), capability gating (never a task to a client that did not
declare the extension; -32021 naming it on tasks/*), ``Mcp-Name`` = the task id (-32020),
integer ``ttlMs`` / ``pollIntervalMs``, and the removed ``tasks/result`` / ``tasks/list``
(-32601). A server without the extension has every check skipped.

The task tool is ``--task-tool`` or else the first listed tool that, called with the
extension declared, answers with a task (arguments: a plain value for each required one).
"""

from __future__ import annotations

from typing import Any

import anyio

from ..context import Context, modern_params, sample_arguments
from ..http import Reply
from ..model import Level, Rule, Scenario, Unsupported

__all__ = ["SCENARIO"]

EXTENSION = "io.modelcontextprotocol/tasks"
DECLARED: dict[str, Any] = {"extensions": {EXTENSION: {}}}
# The extension's own page (SEP-2663); its rules are judged on 2026-07-28 servers.
PAGE = "extensions/tasks"
STATUSES = frozenset({"working", "input_required", "completed", "failed", "cancelled"})
TERMINAL = frozenset({"completed", "failed", "cancelled"})
# Tools tried when looking for one that becomes a task (each is called once), out of at most
# MAX_LISTED listed ones: those whose name or description mentions a task first.
MAX_CANDIDATES = 8
MAX_LISTED = 200


def _rule(rule_id: str, heading: str, text: str, level: Level = Level.MUST) -> Rule:
    return Rule(rule_id, level, "2026-07-28", f"{PAGE} §{heading}", text)


CREATE_SHAPE = _rule(
    "tasks-create-result-shape",
    "Polymorphic Results",
    'A CreateTaskResult MUST carry resultType "task", a taskId, a known status, createdAt and '
    "lastUpdatedAt, and no result, inputRequests or requestState.",
)
INTEGER_FIELDS = _rule(
    "tasks-ttl-poll-integers",
    "Tasks",
    "ttlMs and pollIntervalMs MUST be integers (ttlMs may be null for unlimited) on every task shape.",
)
FOUND_AT_ONCE = _rule(
    "tasks-get-finds-new-task",
    "Task Creation",
    "A tasks/get sent right after the CreateTaskResult MUST find the task.",
)
REACHES_END = _rule(
    "tasks-poll-to-terminal",
    "Task Polling",
    "Polling tasks/get MUST reach a terminal status; completed inlines result, failed inlines error.",
)
CANCEL_ACK = _rule(
    "tasks-cancel-acknowledged",
    "Task Cancellation",
    "tasks/cancel MUST be acknowledged with an (empty) result, also for a task already finished.",
)
NO_TASK_UNDECLARED = _rule(
    "tasks-none-without-extension",
    "Capability Negotiation",
    "A server MUST NOT return CreateTaskResult to a client that did not include the extension on "
    "its request.",
)
GATED = _rule(
    "tasks-methods-need-extension-32021",
    "Capability Negotiation",
    "tasks/get without the extension declared MUST be refused with -32021 and "
    "error.data.requiredCapabilities naming io.modelcontextprotocol/tasks.",
)
NAME_MISMATCH = _rule(
    "tasks-mcp-name-mismatch-32020",
    "HTTP Headers",
    "A tasks/get whose Mcp-Name differs from params.taskId MUST get 400 with -32020.",
)
NAME_MISSING = _rule(
    "tasks-mcp-name-missing-32020",
    "HTTP Headers",
    "A tasks/get without Mcp-Name MUST get 400 with -32020.",
)
REMOVED = _rule(
    "tasks-removed-methods-32601",
    "Removed Methods",
    "tasks/result and tasks/list (the 2025-11-25 shape) MUST answer -32601 (method not found).",
)


async def run(ctx: Context) -> None:
    discovered = await ctx.require_modern()
    extensions = (discovered.get("capabilities") or {}).get("extensions")
    if not isinstance(extensions, dict) or EXTENSION not in extensions:
        raise Unsupported(f"server/discover does not advertise {EXTENSION}")
    name, args, created, sent = await _task_tool(ctx)
    _check_created(ctx, created, sent)
    task_id = created["taskId"]
    first, _ = await _tasks(ctx, "tasks/get", task_id)
    found = first.get("taskId") == task_id and first.get("status") in STATUSES
    ctx.check(FOUND_AT_ONCE, found, got=str(first), expected=f"the task {task_id}")
    await _gating(ctx, name, args, task_id)
    await _names(ctx, task_id)
    await _removed(ctx, task_id)
    await _to_the_end(ctx, task_id, created)
    ack, reply = await _tasks(ctx, "tasks/cancel", task_id)
    ctx.check(CANCEL_ACK, "error" not in ack, sent=reply.sent, got=reply.summary(), expected="a result")


async def _task_tool(ctx: Context) -> tuple[str, dict[str, Any], dict[str, Any], str]:
    """The tool, its arguments, its CreateTaskResult and the request sent."""
    if ctx.options.task_tool:
        candidates = [(ctx.options.task_tool, dict(ctx.options.task_tool_args or {}))]
    else:
        candidates = [(t["name"], sample_arguments(t.get("inputSchema") or {})) for t in await _tools(ctx)]
    for name, args in candidates:
        reply, rid = await _call(ctx, name, args, DECLARED)
        result = (reply.response(rid) or {}).get("result")
        if isinstance(result, dict) and result.get("resultType") == "task":
            return name, args, result, reply.sent
    raise Unsupported("no listed tool answered tools/call with a task (see --task-tool)")


async def _tools(ctx: Context) -> list[dict[str, Any]]:
    """The MAX_CANDIDATES likeliest task tools of the first MAX_LISTED listed (nextCursor
    followed): a name or description that mentions a task first, then in listed order."""
    tools: list[dict[str, Any]] = []
    cursor = None
    while len(tools) < MAX_LISTED:
        listed, lid = await ctx.modern("tools/list", {"cursor": cursor} if cursor else None)
        page = (listed.response(lid) or {}).get("result") or {}
        tools += [
            t for t in page.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("name"), str)
        ]
        cursor = page.get("nextCursor")
        if not isinstance(cursor, str) or not page.get("tools"):
            break

    def unlikely(tool: dict[str, Any]) -> bool:
        return "task" not in f"{tool['name']} {tool.get('description') or ''}".lower()

    return sorted(tools[:MAX_LISTED], key=unlikely)[:MAX_CANDIDATES]


async def _call(ctx: Context, name: str, args: dict[str, Any], caps: dict[str, Any]) -> tuple[Reply, int]:
    params = modern_params({"name": name, "arguments": args}, capabilities=caps)
    return await ctx.modern("tools/call", params, name=name, raw_params=True)


async def _tasks(
    ctx: Context,
    method: str,
    task_id: str,
    *,
    caps: dict[str, Any] | None = DECLARED,
    headers: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], Reply]:
    """A tasks/* request (Mcp-Name = task id unless ``headers`` say otherwise): its result, or
    ``{"error": ...}``."""
    params = modern_params({"taskId": task_id}, capabilities=caps)
    reply, rid = await ctx.modern(method, params, name=task_id, headers=headers, raw_params=True)
    message = reply.response(rid) or {}
    if "error" in message:
        return {"error": message["error"]}, reply
    result = message.get("result")
    return (result if isinstance(result, dict) else {}), reply


def _integers(task: dict[str, Any]) -> bool:
    ttl, poll = task.get("ttlMs"), task.get("pollIntervalMs")
    ttl_ok = ttl is None or (isinstance(ttl, int) and not isinstance(ttl, bool))
    poll_ok = "pollIntervalMs" not in task or (isinstance(poll, int) and not isinstance(poll, bool))
    return ttl_ok and poll_ok and "ttlMs" in task


def _check_created(ctx: Context, created: dict[str, Any], sent: str) -> None:
    ok = (
        isinstance(created.get("taskId"), str)
        and bool(created["taskId"])
        and created.get("status") in STATUSES
        and isinstance(created.get("createdAt"), str)
        and isinstance(created.get("lastUpdatedAt"), str)
        and not {"result", "inputRequests", "requestState"} & set(created)
    )
    ctx.check(CREATE_SHAPE, ok, sent=sent, got=str(created), expected="a flat CreateTaskResult")
    if not isinstance(created.get("taskId"), str):
        raise Unsupported(f"the CreateTaskResult has no taskId: {created}")


async def _gating(ctx: Context, name: str, args: dict[str, Any], task_id: str) -> None:
    reply, rid = await _call(ctx, name, args, {})
    result = (reply.response(rid) or {}).get("result") or {}
    ctx.check(
        NO_TASK_UNDECLARED,
        result.get("resultType") != "task",
        sent=reply.sent,
        got=reply.summary(),
        expected="a plain result or an error",
    )
    refused, reply = await _tasks(ctx, "tasks/get", task_id, caps={})
    error = refused.get("error") or {}
    raw = error.get("data")
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    required = (data.get("requiredCapabilities") or {}).get("extensions") or {}
    ok = error.get("code") == -32021 and isinstance(required, dict) and EXTENSION in required
    ctx.check(
        GATED, ok, sent=reply.sent, got=reply.summary(), expected="-32021 with data.requiredCapabilities"
    )


async def _names(ctx: Context, task_id: str) -> None:
    for rule, value in ((NAME_MISMATCH, task_id + "-other"), (NAME_MISSING, None)):
        answer, reply = await _tasks(ctx, "tasks/get", task_id, headers={"Mcp-Name": value})
        code = (answer.get("error") or {}).get("code")
        ok = reply.status == 400 and code == -32020
        ctx.check(rule, ok, sent=reply.sent, got=reply.summary(), expected="HTTP 400 with JSON-RPC -32020")


async def _removed(ctx: Context, task_id: str) -> None:
    got = []
    for method in ("tasks/result", "tasks/list"):
        answer, reply = await _tasks(ctx, method, task_id)
        got.append(f"{method}: {reply.summary()}")
        if (answer.get("error") or {}).get("code") != -32601:
            ctx.check(REMOVED, False, sent=reply.sent, got=reply.summary(), expected="JSON-RPC -32601")
            return
    ctx.check(REMOVED, True, got="; ".join(got))


async def _to_the_end(ctx: Context, task_id: str, created: dict[str, Any]) -> None:
    """Poll at the server's interval, for at most ``options.timeout`` seconds."""
    seen = [created]
    task = created
    with anyio.move_on_after(ctx.options.timeout):
        while task.get("status") not in TERMINAL and "error" not in task:
            poll = task.get("pollIntervalMs")
            await anyio.sleep(min(max(poll / 1000, 0.01), 1.0) if isinstance(poll, (int, float)) else 0.1)
            task, _ = await _tasks(ctx, "tasks/get", task_id)
            seen.append(task)
    status = task.get("status")
    shaped = (
        (status == "completed" and isinstance(task.get("result"), dict))
        or (status == "failed" and isinstance(task.get("error"), dict))
        or status == "cancelled"
    )
    ctx.check(
        REACHES_END,
        shaped,
        got=str(task)[:300],
        expected=f"a terminal status within {ctx.options.timeout:g} s",
    )
    bad = [t for t in seen if "error" not in t and not _integers(t)]
    ctx.check(INTEGER_FIELDS, not bad, got=str(bad[:1]), expected="integer ttlMs and pollIntervalMs")


SCENARIO = Scenario(
    "modern-tasks",
    "modern",
    "http",
    "tasks extension: lifecycle, gating (-32021), Mcp-Name (-32020), integer TTL fields, removed methods",
    (
        CREATE_SHAPE,
        FOUND_AT_ONCE,
        NO_TASK_UNDECLARED,
        GATED,
        NAME_MISMATCH,
        NAME_MISSING,
        REMOVED,
        REACHES_END,
        INTEGER_FIELDS,
        CANCEL_ACK,
    ),
    run,
)
