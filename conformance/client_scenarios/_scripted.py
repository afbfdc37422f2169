"""A scripted legacy (2025-11-25) Streamable HTTP server on 127.0.0.1 for judging a client, and
the runner that starts the client command against it.

The client contract (the same as the official suite's): the command gets the server URL as its
last argument and the scenario name in ``MCP_CONFORMANCE_SCENARIO``. For every scenario of this
suite the client does the same thing: connect (initialize), ``tools/list``, call the tool
``conformance_tool`` with ``{}`` arguments, close the session, and exit 0 once it has the result.
The scripted server misbehaves in the scenario's way and records everything the client sent.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shlex
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

__all__ = ["ClientRun", "ScriptedServer", "Seen", "run_client"]

VERSIONS = ("2025-03-26", "2025-06-18", "2025-11-25")
TOOL = {
    "name": "conformance_tool",
    "description": "The tool every client scenario calls.",
    "inputSchema": {"type": "object", "properties": {}},
}
Hook = Callable[["ScriptedServer", Request, dict[str, Any]], Awaitable[Response | None]]


@dataclass
class Seen:
    """One HTTP request the client made."""

    method: str
    headers: dict[str, str]
    body: Any
    at: float

    @property
    def rpc_method(self) -> str | None:
        return self.body.get("method") if isinstance(self.body, dict) else None

    def describe(self) -> str:
        shown = {
            k: v
            for k, v in self.headers.items()
            if k in ("mcp-session-id", "mcp-protocol-version", "accept", "last-event-id")
        }
        body = json.dumps(self.body)[:160] if self.body is not None else ""
        return f"{self.method} {shown} {body}".strip()


@dataclass
class ClientRun:
    exit_code: int | None
    output: str
    log: list[Seen] = field(default_factory=list)


def rpc_result(rid: Any, result: dict[str, Any], **headers: str) -> JSONResponse:
    return JSONResponse({"jsonrpc": "2.0", "id": rid, "result": result}, headers=headers)


class ScriptedServer:
    """The base behaviour; ``hooks`` map a JSON-RPC method (or "GET"/"DELETE") to a coroutine
    that may answer instead (returning None falls through to the base behaviour)."""

    def __init__(self, hooks: dict[str, Hook] | None = None) -> None:
        self.hooks = hooks or {}
        self.log: list[Seen] = []
        self.sessions: list[str] = []
        self.expired: set[str] = set()
        self.version = "2025-11-25"
        self.state: dict[str, Any] = {}
        self._counter = itertools.count(1)
        self.posted = asyncio.Event()  # set on every POST (for hooks that wait for the client)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        self.log.append(
            Seen(request.method, {k.lower(): v for k, v in request.headers.items()}, body, time.monotonic())
        )
        if request.method == "POST":
            self.posted.set()
            self.posted = asyncio.Event()
        response = await self._respond(request, body)
        await response(scope, receive, send)

    async def _respond(self, request: Request, body: Any) -> Response:
        key = (
            request.method
            if request.method != "POST"
            else (body.get("method") if isinstance(body, dict) else None)
        )
        hook = self.hooks.get(key or "")
        if hook is not None:
            answer = await hook(self, request, body if isinstance(body, dict) else {})
            if answer is not None:
                return answer
        if request.method == "DELETE":
            session = request.headers.get("mcp-session-id")
            if session in self.sessions:
                self.expired.add(session)
            return Response(status_code=200)
        if request.method == "GET":
            return Response(status_code=405, headers={"Allow": "POST, DELETE"})
        if not isinstance(body, dict):
            return JSONResponse(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid"}}, 400
            )
        if body.get("method") == "initialize":
            requested = (body.get("params") or {}).get("protocolVersion")
            self.version = requested if requested in VERSIONS else "2025-11-25"
            session = f"conformance-session-{next(self._counter)}"
            self.sessions.append(session)
            result: dict[str, Any] = {
                "protocolVersion": self.version,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "mcp-transport-conformance-scripted", "version": "0.1"},
            }
            return rpc_result(body.get("id"), result, **{"Mcp-Session-Id": session})
        session = request.headers.get("mcp-session-id")
        if session is None:
            return JSONResponse(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Missing session"}}, 400
            )
        if session not in self.sessions or session in self.expired:
            return Response(status_code=404)
        if "id" not in body or "method" not in body:
            return Response(status_code=202)
        return self.answer(body)

    def answer(self, body: dict[str, Any]) -> Response:
        rid, method = body.get("id"), body.get("method")
        if method == "ping":
            return rpc_result(rid, {})
        if method == "tools/list":
            return rpc_result(rid, {"tools": [TOOL]})
        if method == "tools/call":
            return rpc_result(rid, {"content": [{"type": "text", "text": "ok"}]})
        return JSONResponse(
            {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "Method not found"}}
        )

    def sse(self, chunks: Callable[[], Any]) -> StreamingResponse:
        return StreamingResponse(
            chunks(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    def posts(self) -> list[Seen]:
        return [s for s in self.log if s.method == "POST"]


async def run_client(command: str, scenario: str, server: ScriptedServer, timeout: float) -> ClientRun:
    """Serve ``server`` on a free loopback port, run the client against it, return what happened."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(server, log_level="critical", lifespan="off", http="h11")
    uv = uvicorn.Server(config)
    serving = asyncio.create_task(uv.serve(sockets=[sock]))
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        while not uv.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.01)
        env = {**os.environ, "MCP_CONFORMANCE_SCENARIO": scenario}
        proc = await asyncio.create_subprocess_exec(
            *shlex.split(command),
            url,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
            code: int | None = proc.returncode
        except TimeoutError:
            proc.kill()
            out, _ = await proc.communicate()
            code = None
        return ClientRun(code, out.decode("utf-8", "replace")[-2000:], list(server.log))
    finally:
        uv.should_exit = True
        await serving
        sock.close()
