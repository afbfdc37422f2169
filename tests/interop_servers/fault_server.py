"""A deliberately faulty legacy Streamable HTTP server, for the client's fault tests.

    python tests/interop_servers/fault_server.py --port N

tools/call by tool name:
  drop     POST stream: priming event (retry 100 ms) and a progress event, then the stream
           ends without the result. The first resume (GET + Last-Event-ID) sends another
           progress event and ends too; the second one delivers the result.
  noid     POST stream ends without any event id: the client cannot resume.
  hang     never answers.
  echo     answers at once (JSON).
GET without Last-Event-ID: 405 (no standalone stream). DELETE: 200.

Under /flaky/mcp the same server offers a GET stream that breaks: the first GET gets a
priming event (retry 50 ms) and a notification, then the stream ends; every later GET gets
503, so the client's reconnect budget runs out. ``GET /stats`` reports what GETs it saw.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

SESSION = "fault-session-1"
# Result waiting to be resumed: event id cursor -> (request id, progress token)
pending: dict[str, Any] = {}
resumes = {"count": 0}


def event(data: Any, event_id: str | None = None, retry: int | None = None) -> bytes:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if retry is not None:
        lines.append(f"retry: {retry}")
    lines.append("data: " + (json.dumps(data) if data is not None else ""))
    return ("\n".join(lines) + "\n\n").encode()


def sse(chunks: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(chunks, media_type="text/event-stream", headers={"Mcp-Session-Id": SESSION})


def progress(token: Any, value: int) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "method": "notifications/progress",
        "params": {"progressToken": token, "progress": value},
    }


async def post(request: Request) -> Response:
    body = await request.json()
    method, rid = body.get("method"), body.get("id")
    if rid is None or method is None:
        return Response(status_code=202)
    if method == "initialize":
        result = {
            "protocolVersion": "2025-11-25",
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "faulty", "version": "0"},
        }
        return JSONResponse(
            {"jsonrpc": "2.0", "id": rid, "result": result}, headers={"Mcp-Session-Id": SESSION}
        )
    if request.headers.get("mcp-session-id") != SESSION:
        return JSONResponse(
            {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "no session"}}, 400
        )
    if method == "tools/list":
        tools = [{"name": n, "inputSchema": {"type": "object"}} for n in ("drop", "noid", "hang", "echo")]
        return JSONResponse({"jsonrpc": "2.0", "id": rid, "result": {"tools": tools}})
    if method != "tools/call":
        return JSONResponse({"jsonrpc": "2.0", "id": rid, "result": {}})
    name = body["params"]["name"]
    token = (body["params"].get("_meta") or {}).get("progressToken")
    if name == "echo":
        return JSONResponse(
            {"jsonrpc": "2.0", "id": rid, "result": {"content": [{"type": "text", "text": "echo"}]}}
        )
    if name == "hang":
        await anyio.sleep_forever()
    if name == "noid":

        async def no_ids() -> AsyncIterator[bytes]:
            yield event(progress(token, 1))

        return sse(no_ids())

    pending[f"{rid}-1"] = (rid, token)

    async def dropped() -> AsyncIterator[bytes]:
        yield event(None, f"{rid}-0", retry=100)
        yield event(progress(token, 1), f"{rid}-1")

    return sse(dropped())


async def get(request: Request) -> Response:
    last = request.headers.get("last-event-id")
    if last is None:
        return Response(status_code=405)
    rid, token = pending.pop(last, (None, None))
    if rid is None:
        return Response(status_code=404)
    resumes["count"] += 1

    async def resumed() -> AsyncIterator[bytes]:
        if last.endswith("-1"):
            pending[f"{rid}-2"] = (rid, token)
            yield event(progress(token, 2), f"{rid}-2")
            return  # ends again without the result
        result = {"content": [{"type": "text", "text": f"resumed after {resumes['count']} GETs"}]}
        yield event({"jsonrpc": "2.0", "id": rid, "result": result}, f"{rid}-3")

    return sse(resumed())


async def delete(request: Request) -> Response:
    return Response(status_code=200)


flaky_gets: list[str | None] = []


async def flaky_get(request: Request) -> Response:
    flaky_gets.append(request.headers.get("last-event-id"))
    if len(flaky_gets) > 1:
        return Response(status_code=503)

    async def once() -> AsyncIterator[bytes]:
        yield event(None, "g-0", retry=50)
        yield event({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}, "g-1")

    return sse(once())


async def stats(request: Request) -> Response:
    return JSONResponse({"flaky_gets": flaky_gets})


app = Starlette(
    routes=[
        Route("/mcp", post, methods=["POST"]),
        Route("/mcp", get, methods=["GET"]),
        Route("/mcp", delete, methods=["DELETE"]),
        Route("/flaky/mcp", post, methods=["POST"]),
        Route("/flaky/mcp", flaky_get, methods=["GET"]),
        Route("/stats", stats, methods=["GET"]),
    ]
)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    uvicorn.run(app, host="127.0.0.1", port=parser.parse_args().port, log_level="warning")
