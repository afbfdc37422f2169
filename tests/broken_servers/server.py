"""A small, independent MCP Streamable HTTP server (Starlette + uvicorn, NOT built on mcp_transport)
used to prove the conformance suite: with no bug it is correct (the suite must pass it), and each
``--bug NAME`` injects exactly one defect the suite must flag.

    python tests/broken_servers/server.py --port 8123                 # correct
    python tests/broken_servers/server.py --port 8123 --bug batch_accepted

Legacy 2025-03-26..2025-11-25 sessions with resumable SSE, plus a 2026-07-28 stateless path
(server/discover, tools/list, tools/call) with header validation, and the tasks extension
(io.modelcontextprotocol/tasks: the ``job`` tool becomes a task; tasks/get and tasks/cancel).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import secrets
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

# Each bug and the one thing it breaks (tests/test_conformance_suite.py maps them to checks).
BUGS = {
    "unknown_session_400": "answers 400 instead of 404 for an unknown or deleted session",
    "no_session_check": "serves requests that carry no session id",
    "duplicate_on_resume": "replays the Last-Event-ID event itself again on resume",
    "replay_other_streams": "replays events of every stream of the session on resume",
    "cross_session_replay": "resolves Last-Event-ID in any session",
    "replay_gap": "skips the first event after Last-Event-ID on resume",
    "duplicate_ids": "numbers events per stream, so ids repeat across streams",
    "batch_accepted": "processes JSON-RPC batches on 2025-06-18+ sessions",
    "notification_200": "answers notifications with 200 instead of 202",
    "no_406": "accepts any Accept header",
    "no_415": "accepts any Content-Type",
    "no_origin_check": "serves any Origin",
    "version_header_ignored": "accepts an unsupported MCP-Protocol-Version",
    "parse_error_200": "answers invalid JSON with 200",
    "progress_not_monotonic": "repeats a progress value",
    "ignore_cancel": "keeps running a cancelled request and sends its result",
    "cancel_on_disconnect": "cancels a tool call when its SSE connection drops",
    "no_sse_headers": "omits Cache-Control and X-Accel-Buffering on SSE",
    "no_keepalive": "sends no keepalive comments on the GET stream",
    "no_body_limit": "accepts a body of any size",
    "broadcast": "copies progress notifications onto the GET stream too",
    "response_on_get": "sends tool results on the GET stream instead of the POST stream",
    "modern_no_name_check": "does not validate Mcp-Name on 2026-07-28 requests",
    "modern_unknown_method_200": "answers an unknown 2026-07-28 method with 200",
    "modern_no_discover": "does not implement server/discover",
    "modern_server_request": "sends a ping request on a 2026-07-28 response stream",
    "live_resume_silent": "a resume while the call runs replays what exists, then carries nothing live "
    "(a resume after the call ended replays everything)",
    "no_priming": "opens a POST's SSE stream without a priming event (its events do have ids)",
    "no_event_ids": "puts no event ids on any SSE event (not resumable: not a bug, the checks must skip)",
    "tasks_float_ttl": "sends ttlMs and pollIntervalMs as fractional numbers",
    "tasks_no_gating": "answers tasks/get from a client that did not declare the tasks extension",
    "tasks_task_without_extension": "answers tools/call with a task to a client without the extension",
    "tasks_no_name_check": "does not check Mcp-Name against the taskId on tasks/*",
    "tasks_list_exists": "still answers the removed tasks/list method",
    "tasks_not_found_at_once": "creates the task only after answering tools/call with it",
    "tasks_never_finish": "never finishes a task",
    "tasks_create_with_request_state": "puts requestState on the CreateTaskResult",
    "tasks_cancel_finished_error": "answers tasks/cancel of a finished task with an error",
    "tasks_name_optional": "checks Mcp-Name on tasks/* only when the header is there",
}

LEGACY = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MODERN = "2026-07-28"
MAX_BODY = 4 * 1024 * 1024
KEEPALIVE = 0.5
PAGE = 2
TOOLS = [
    {
        "name": "echo",
        "description": "Echo text.",
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string", "x-mcp-header": "Text"}}},
    },
    {
        "name": "sleep",
        "description": "Sleep, reporting progress every 10 ms.",
        "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}}},
    },
    {
        "name": "add",
        "description": "Add two numbers.",
        "inputSchema": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}},
    },
    {
        "name": "job",
        "description": "A short job: a task when the client declares the tasks extension.",
        "inputSchema": {"type": "object", "properties": {}},
    },
]
TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
JOB_SECONDS = 0.2
JOBS: dict[str, dict[str, Any]] = {}  # task id -> {"created": epoch, "cancelled": bool}
LOOPBACK_ORIGINS = ("http://127.0.0.1", "http://localhost", "http://[::1]")
bug: str | None = None
poll = False  # --poll: a correct variant that closes each resumed stream after its replay (SSE polling)


class Stream:
    def __init__(self, stream_id: str) -> None:
        self.id = stream_id
        self.events: list[tuple[str, str]] = []
        self.done = False
        self._changed = asyncio.Event()

    def add(self, event_id: str, data: str) -> None:
        self.events.append((event_id, data))
        self._changed.set()
        self._changed = asyncio.Event()

    def finish(self) -> None:
        self.done = True
        self._changed.set()

    async def wait(self) -> None:
        await self._changed.wait()


class Session:
    def __init__(self, version: str) -> None:
        self.id = secrets.token_hex(16)
        self.version = version
        self.streams: dict[str, Stream] = {}
        self.tasks: dict[Any, asyncio.Task[None]] = {}
        self.counter = 0
        self.get_queues: list[asyncio.Queue[str]] = []

    def new_stream(self) -> Stream:
        stream = Stream(f"s{len(self.streams)}")
        self.streams[stream.id] = stream
        return stream

    def emit(self, stream: Stream, data: str) -> None:
        self.counter += 1
        event_id = (
            str(len(stream.events)) if bug == "duplicate_ids" else f"{self.id[:8]}-{stream.id}-{self.counter}"
        )
        stream.add(event_id, data)

    def find(self, event_id: str) -> tuple[Stream, int] | None:
        for stream in self.streams.values():
            for index, (eid, _) in enumerate(stream.events):
                if eid == event_id:
                    return stream, index
        return None


SESSIONS: dict[str, Session] = {}


def rpc_error(code: int, message: str, rid: Any = None, status: int = 400, data: Any = None) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return JSONResponse({"jsonrpc": "2.0", "id": rid, "error": error}, status_code=status)


def result(rid: Any, value: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"jsonrpc": "2.0", "id": rid, "result": value}, headers=headers)


def sse_headers() -> dict[str, str]:
    return {} if bug == "no_sse_headers" else {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def endpoint(request: Request) -> Response:
    origin = request.headers.get("origin")
    if origin and bug != "no_origin_check" and not origin.startswith(LOOPBACK_ORIGINS):
        return rpc_error(-32600, "Forbidden origin", status=403)
    if request.method == "POST":
        return await post(request)
    if request.method == "GET":
        return await get(request)
    if request.method == "DELETE":
        session = SESSIONS.pop(request.headers.get("mcp-session-id", ""), None)
        return Response(status_code=200 if session else 404)
    return Response(status_code=405, headers={"Allow": "GET, POST, DELETE"})


async def post(request: Request) -> Response:
    if bug != "no_body_limit" and int(request.headers.get("content-length") or 0) > MAX_BODY:
        return rpc_error(-32600, "Body too large", status=413)
    accept = request.headers.get("accept", "")
    if bug != "no_406" and not ("application/json" in accept and "text/event-stream" in accept):
        return rpc_error(-32600, "Not Acceptable", status=406)
    if (
        bug != "no_415"
        and request.headers.get("content-type", "").split(";")[0].strip() != "application/json"
    ):
        return rpc_error(-32600, "Unsupported Media Type", status=415)
    try:
        message = json.loads(await request.body())
    except ValueError:
        return rpc_error(-32700, "Parse error", status=200 if bug == "parse_error_200" else 400)
    if is_modern(request, message):
        return await modern(request, message)
    if isinstance(message, dict) and message.get("method") == "initialize":
        return initialize(message)
    session, problem = session_of(request)
    if problem is not None:
        return problem
    version = request.headers.get("mcp-protocol-version")
    if version is not None and version not in LEGACY and bug != "version_header_ignored":
        return rpc_error(-32600, f"Unsupported MCP-Protocol-Version {version}")
    if isinstance(message, list):
        if session.version in ("2024-11-05", "2025-03-26") or bug == "batch_accepted":
            return JSONResponse([await answer(session, m) for m in message if "id" in m])
        return rpc_error(-32600, "Batches are not allowed on this protocol version")
    if not isinstance(message, dict) or not (
        "method" in message or "result" in message or "error" in message
    ):
        return rpc_error(-32600, "Invalid Request")
    if "id" not in message or "method" not in message:  # notification or response
        if message.get("method") == "notifications/cancelled" and bug != "ignore_cancel":
            task = session.tasks.pop((message.get("params") or {}).get("requestId"), None)
            if task is not None:
                task.cancel()
        return Response(status_code=200 if bug == "notification_200" else 202)
    if message["method"] == "tools/call" and (message.get("params") or {}).get("name") == "sleep":
        return start_sleep(session, message)
    return JSONResponse(await answer(session, message))


def is_modern(request: Request, message: Any) -> bool:
    if isinstance(message, dict):
        meta = (message.get("params") or {}).get("_meta") if isinstance(message.get("params"), dict) else None
        if isinstance(meta, dict) and "io.modelcontextprotocol/protocolVersion" in meta:
            return True
    header = request.headers.get("mcp-protocol-version")
    return header is not None and header not in LEGACY and "mcp-session-id" not in request.headers


def initialize(message: dict[str, Any]) -> Response:
    requested = (message.get("params") or {}).get("protocolVersion")
    session = Session(requested if requested in LEGACY else LEGACY[-1])
    SESSIONS[session.id] = session
    value = {
        "protocolVersion": session.version,
        "capabilities": {"tools": {}},
        "serverInfo": {"name": "broken-server", "version": "0"},
    }
    return result(message.get("id"), value, headers={"Mcp-Session-Id": session.id})


def session_of(request: Request) -> tuple[Session, Response | None]:
    session_id = request.headers.get("mcp-session-id")
    if session_id is None:
        if bug == "no_session_check":
            return Session(LEGACY[-1]), None
        return None, rpc_error(-32600, "Missing session id")  # type: ignore[return-value]  # the broken server answers errors where sessions go
    session = SESSIONS.get(session_id)
    if session is None:
        return None, rpc_error(-32600, "Unknown session", status=400 if bug == "unknown_session_400" else 404)  # type: ignore[return-value]  # the broken server answers errors where sessions go
    return session, None


async def answer(session: Session | None, message: dict[str, Any]) -> dict[str, Any]:
    rid, method, params = message.get("id"), message.get("method"), message.get("params") or {}
    if method == "ping":
        return {"jsonrpc": "2.0", "id": rid, "result": {}}
    if method == "tools/list":
        cursor = params.get("cursor")
        try:
            start = (
                0
                if cursor is None
                else int(base64.b64decode(cursor.encode(), validate=True).decode().removeprefix("page:"))
            )
        except (ValueError, UnicodeDecodeError, AttributeError):
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32602, "message": "Invalid cursor"}}
        page: dict[str, Any] = {"tools": TOOLS[start : start + PAGE]}
        if start + PAGE < len(TOOLS):
            page["nextCursor"] = base64.b64encode(f"page:{start + PAGE}".encode()).decode()
        return {"jsonrpc": "2.0", "id": rid, "result": page}
    if method == "tools/call":
        args = params.get("arguments") or {}
        if params.get("name") == "echo":
            return {
                "jsonrpc": "2.0",
                "id": rid,
                "result": {"content": [{"type": "text", "text": str(args.get("text"))}]},
            }
        if params.get("name") == "job":
            return {
                "jsonrpc": "2.0",
                "id": rid,
                "result": {"content": [{"type": "text", "text": "job done"}]},
            }
        if params.get("name") == "add":
            return {
                "jsonrpc": "2.0",
                "id": rid,
                "result": {"content": [{"type": "text", "text": str(args.get("a", 0) + args.get("b", 0))}]},
            }
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32602, "message": "Unknown tool"}}
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": f"Method not found: {method}"}}


def start_sleep(session: Session, message: dict[str, Any]) -> Response:
    stream = session.new_stream()
    if bug != "no_priming":
        session.emit(stream, "")  # priming event
    rid, params = message["id"], message.get("params") or {}
    token = (params.get("_meta") or {}).get("progressToken")
    seconds = float((params.get("arguments") or {}).get("seconds", 1.0))
    task = asyncio.create_task(sleep_tool(session, stream, rid, token, seconds))
    session.tasks[rid] = task
    return StreamingResponse(
        sse(stream, 0, task if bug == "cancel_on_disconnect" else None),
        media_type="text/event-stream",
        headers=sse_headers(),
    )


async def sleep_tool(session: Session, stream: Stream, rid: Any, token: Any, seconds: float) -> None:
    steps = max(1, int(seconds / 0.01))
    try:
        for i in range(steps):
            await asyncio.sleep(seconds / steps)
            if token is not None:
                value = i if bug == "progress_not_monotonic" and i == 3 else i + 1
                note = {"progressToken": token, "progress": value, "total": steps}
                data = json.dumps({"jsonrpc": "2.0", "method": "notifications/progress", "params": note})
                session.emit(stream, data)
                if bug == "broadcast":
                    for queue in session.get_queues:
                        queue.put_nowait(data)
        text = {"content": [{"type": "text", "text": f"slept {seconds} s"}]}
        final = json.dumps({"jsonrpc": "2.0", "id": rid, "result": text})
        if bug == "response_on_get" and session.get_queues:
            for queue in session.get_queues:
                queue.put_nowait(final)
        else:
            session.emit(stream, final)
    finally:
        session.tasks.pop(rid, None)
        stream.finish()


async def sse(stream: Stream, start: int, cancel_on_close: asyncio.Task[None] | None = None) -> Any:
    index = start
    try:
        while True:
            while index < len(stream.events):
                event_id, data = stream.events[index]
                index += 1
                yield f"data: {data}\n\n" if bug == "no_event_ids" else f"id: {event_id}\ndata: {data}\n\n"
            if stream.done:
                return
            await stream.wait()
    finally:
        if cancel_on_close is not None and not stream.done:
            cancel_on_close.cancel()


async def get(request: Request) -> Response:
    if "text/event-stream" not in request.headers.get("accept", ""):
        return rpc_error(-32600, "Not Acceptable", status=406)
    if request.headers.get("mcp-protocol-version") == MODERN and "mcp-session-id" not in request.headers:
        return Response(status_code=405, headers={"Allow": "POST"})
    session, problem = session_of(request)
    if problem is not None:
        return problem
    last = request.headers.get("last-event-id")
    if last is None:
        queue: asyncio.Queue[str] = asyncio.Queue()
        session.get_queues.append(queue)
        return StreamingResponse(idle(queue), media_type="text/event-stream", headers=sse_headers())
    pools = list(SESSIONS.values()) if bug == "cross_session_replay" else [session]
    found = next((f for f in (s.find(last) for s in pools) if f is not None), None)
    if found is None:
        return rpc_error(-32600, "Unknown Last-Event-ID")
    stream, index = found
    if bug == "replay_other_streams":
        return StreamingResponse(
            everything_after(session, stream, index), media_type="text/event-stream", headers=sse_headers()
        )
    start = index if bug == "duplicate_on_resume" else index + 2 if bug == "replay_gap" else index + 1
    replay = replay_only(stream, start) if bug == "live_resume_silent" or poll else sse(stream, start)
    return StreamingResponse(replay, media_type="text/event-stream", headers=sse_headers())


async def replay_only(stream: Stream, start: int) -> Any:
    """What is stored is replayed; then --poll closes the stream with a retry hint (correct: the
    client resumes again), while the live_resume_silent bug keeps it open and silent."""
    for event_id, data in stream.events[start:]:
        yield f"id: {event_id}\ndata: {data}\n\n"
    if poll:
        yield "retry: 100\n\n"
    elif not stream.done:
        await asyncio.Event().wait()  # until the client goes away


async def everything_after(session: Session, stream: Stream, index: int) -> Any:
    for other in session.streams.values():
        if other is not stream:
            for event_id, data in other.events[1:]:
                yield f"id: {event_id}\ndata: {data}\n\n"
    async for chunk in sse(stream, index + 1):
        yield chunk


async def idle(queue: asyncio.Queue[str]) -> Any:
    while True:
        try:
            data = await asyncio.wait_for(queue.get(), KEEPALIVE)
            yield f"data: {data}\n\n"
        except TimeoutError:
            if bug != "no_keepalive":
                yield ": keepalive\n\n"


async def modern(request: Request, message: Any) -> Response:
    if not isinstance(message, dict) or "method" not in message:
        return rpc_error(-32600, "Invalid Request")
    rid, method, params = message.get("id"), message["method"], message.get("params")
    if not isinstance(params, dict):
        params = {}
    meta = params.get("_meta")
    if (
        not isinstance(meta, dict)
        or "io.modelcontextprotocol/protocolVersion" not in meta
        or "io.modelcontextprotocol/clientCapabilities" not in meta
    ):
        return rpc_error(-32602, "Missing _meta envelope", rid)
    version = meta["io.modelcontextprotocol/protocolVersion"]
    headers = request.headers
    if headers.get("mcp-protocol-version", "").strip() != version:
        return rpc_error(-32020, "MCP-Protocol-Version does not match _meta", rid)
    if headers.get("mcp-method", "").strip() != method:
        return rpc_error(-32020, "Mcp-Method does not match the body", rid)
    if (
        method == "tools/call"
        and bug != "modern_no_name_check"
        and headers.get("mcp-name", "").strip() != params.get("name")
    ):
        return rpc_error(-32020, "Mcp-Name does not match the body", rid)
    if method == "tools/call" and params.get("name") == "echo":
        text = (params.get("arguments") or {}).get("text")
        if text is not None and headers.get("mcp-param-text", "").strip() != text:
            return rpc_error(-32020, "Mcp-Param-Text does not match the body", rid)
    if version != MODERN:
        return rpc_error(
            -32022,
            "Unsupported protocol version",
            rid,
            data={"supported": [MODERN, *LEGACY], "requested": version},
        )
    info = {"io.modelcontextprotocol/serverInfo": {"name": "broken-server", "version": "0"}}
    if method == "server/discover" and bug != "modern_no_discover":
        return result(
            rid,
            {
                "resultType": "complete",
                "supportedVersions": [MODERN, *LEGACY],
                "capabilities": {"tools": {}, "extensions": {TASKS_EXTENSION: {}}},
                "serverInfo": {"name": "broken-server", "version": "0"},
                "ttlMs": 0,
                "cacheScope": "public",
                "_meta": info,
            },
        )
    if method.startswith("tasks/") or (method == "tools/call" and params.get("name") == "job"):
        return task_method(request, rid, method, params, meta)
    if method == "tools/call" and params.get("name") == "sleep":
        return StreamingResponse(
            modern_sleep(rid, params, info), media_type="text/event-stream", headers=sse_headers()
        )
    if method in ("tools/list", "tools/call"):
        reply = await answer(None, message)
        if "result" in reply:
            reply["result"].update({"resultType": "complete", "_meta": info})
            if method == "tools/list":
                reply["result"].update({"ttlMs": 0, "cacheScope": "public"})
        return JSONResponse(reply)
    if bug == "modern_unknown_method_200":
        return result(rid, {"resultType": "complete"})
    return rpc_error(-32601, f"Method not found: {method}", rid, status=404)


def task_method(
    request: Request,
    rid: Any,
    method: str,
    params: dict[str, Any],
    meta: dict[str, Any],
) -> Response:
    """The tasks extension, just enough for the suite's checks: ``job`` runs JOB_SECONDS."""
    caps = meta.get("io.modelcontextprotocol/clientCapabilities")
    declared = isinstance(caps, dict) and TASKS_EXTENSION in (caps.get("extensions") or {})
    if method == "tools/call":
        if not declared and bug != "tasks_task_without_extension":
            return result(rid, {"resultType": "complete", "content": [{"type": "text", "text": "job done"}]})
        new_id = secrets.token_urlsafe(12)
        if bug != "tasks_not_found_at_once":
            JOBS[new_id] = {"created": time.time(), "cancelled": False}
        else:
            asyncio.get_running_loop().call_later(0.5, JOBS.__setitem__, new_id, {"created": time.time()})
        created = {"resultType": "task", **task_view(new_id, JOBS.get(new_id) or {"created": time.time()})}
        if bug == "tasks_create_with_request_state":
            created["requestState"] = "opaque"
        return result(rid, created)
    if method not in ("tasks/get", "tasks/cancel") and not (
        method == "tasks/list" and bug == "tasks_list_exists"
    ):
        return rpc_error(-32601, f"Method not found: {method}", rid, status=404)
    if not declared and bug != "tasks_no_gating":
        data: dict[str, Any] = {"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}}
        return rpc_error(-32021, "Declare the tasks extension", rid, data=data)
    if method == "tasks/list":
        return result(rid, {"resultType": "complete", "tasks": []})
    task_id = params.get("taskId")
    header = request.headers.get("mcp-name")
    unchecked = bug == "tasks_no_name_check" or (bug == "tasks_name_optional" and header is None)
    if not unchecked and (header or "").strip() != task_id:
        return rpc_error(-32020, "Mcp-Name does not match the taskId", rid)
    job = JOBS.get(task_id) if isinstance(task_id, str) else None
    if job is None or not isinstance(task_id, str):
        return rpc_error(-32602, f"Unknown task {task_id!r}", rid)
    if method == "tasks/cancel":
        if bug == "tasks_cancel_finished_error" and task_view(task_id, job)["status"] != "working":
            return rpc_error(-32602, "The task has already finished", rid)
        job["cancelled"] = job.get("cancelled") or task_view(task_id, job)["status"] == "working"
        return result(rid, {"resultType": "complete"})
    return result(rid, {"resultType": "complete", **task_view(task_id, job)})


def task_view(task_id: str, job: dict[str, Any]) -> dict[str, Any]:
    created = job["created"]
    done = time.time() - created >= JOB_SECONDS and bug != "tasks_never_finish"
    status = "cancelled" if job.get("cancelled") else "completed" if done else "working"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))
    view: dict[str, Any] = {
        "taskId": task_id,
        "status": status,
        "createdAt": stamp,
        "lastUpdatedAt": stamp,
        "ttlMs": 60000.5 if bug == "tasks_float_ttl" else 60000,
        "pollIntervalMs": 50.5 if bug == "tasks_float_ttl" else 50,
    }
    if status == "completed":
        view["result"] = {"content": [{"type": "text", "text": "job done"}], "isError": False}
    return view


async def modern_sleep(rid: Any, params: dict[str, Any], info: dict[str, Any]) -> Any:
    token = (params.get("_meta") or {}).get("progressToken")
    seconds = float((params.get("arguments") or {}).get("seconds", 1.0))
    steps = max(1, int(seconds / 0.01))
    if bug == "modern_server_request":
        yield f"data: {json.dumps({'jsonrpc': '2.0', 'id': 'srv-1', 'method': 'ping'})}\n\n"
    for i in range(steps):
        await asyncio.sleep(seconds / steps)
        if token is not None:
            note = {"progressToken": token, "progress": i + 1, "total": steps}
            progress = {"jsonrpc": "2.0", "method": "notifications/progress", "params": note}
            yield f"data: {json.dumps(progress)}\n\n"
    result = {
        "resultType": "complete",
        "content": [{"type": "text", "text": f"slept {seconds} s"}],
        "_meta": info,
    }
    yield f"data: {json.dumps({'jsonrpc': '2.0', 'id': rid, 'result': result})}\n\n"


app = Starlette(routes=[Route("/mcp", endpoint, methods=["GET", "POST", "DELETE", "PUT"])])


def main() -> None:
    global bug, poll
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bug", choices=sorted(BUGS), default=None)
    parser.add_argument(
        "--poll", action="store_true", help="close resumed streams after the replay (correct)"
    )
    args = parser.parse_args()
    bug, poll = args.bug, args.poll
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", http="h11")


if __name__ == "__main__":
    main()
