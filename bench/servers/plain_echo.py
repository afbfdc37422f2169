"""The practical ceiling: a bare ASGI app on uvicorn (uvloop + httptools, no access log) that
parses each JSON-RPC request and writes the echo result, with no MCP logic beyond what the
load generator needs to run its session handshake.

    python -m bench.servers.plain_echo --port 8000 [--mode json|sse]

* ``initialize`` answers a minimal result and an ``Mcp-Session-Id`` header;
* notifications answer 202;
* ``tools/call`` of ``echo`` answers ``{"content":[{"type":"text","text":...}]}``;
* ``tools/call`` of ``progress_stream`` (``count``) streams ``count`` progress notifications
  as SSE events, one ASGI body message each, then the result (whatever the mode).
"""

from __future__ import annotations

import argparse
import itertools
from typing import Any

import orjson
import uvicorn

_ids = itertools.count(1)
_JSON_HEADERS = [(b"content-type", b"application/json")]
_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
_INIT_RESULT = {
    "protocolVersion": "2025-11-25",
    "capabilities": {"tools": {}},
    "serverInfo": {"name": "plain-echo", "version": "0"},
}


def _sse(message: dict) -> bytes:
    return b"event: message\ndata: " + orjson.dumps(message) + b"\n\n"


def make_app(mode: str):
    sse = mode == "sse"

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            request = orjson.loads(body)
        except orjson.JSONDecodeError:
            await send({"type": "http.response.start", "status": 400, "headers": _JSON_HEADERS})
            await send(
                {
                    "type": "http.response.body",
                    "body": b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}',
                }
            )
            return
        if "id" not in request:  # a notification
            await send({"type": "http.response.start", "status": 202, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        method = request.get("method")
        extra: list[tuple[bytes, bytes]] = []
        result: dict[str, Any]
        if method == "initialize":
            result = _INIT_RESULT
            extra = [(b"mcp-session-id", b"s%d" % next(_ids))]
        elif method == "tools/call":
            params = request.get("params") or {}
            args = params.get("arguments") or {}
            if params.get("name") == "progress_stream":
                count = int(args.get("count", 0))
                token = (params.get("_meta") or {}).get("progressToken", 0)
                await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
                for i in range(count):
                    note = {
                        "jsonrpc": "2.0",
                        "method": "notifications/progress",
                        "params": {"progressToken": token, "progress": i + 1, "total": count},
                    }
                    await send({"type": "http.response.body", "body": _sse(note), "more_body": True})
                final = {
                    "jsonrpc": "2.0",
                    "id": request["id"],
                    "result": {"content": [{"type": "text", "text": f"sent {count}"}], "isError": False},
                }
                await send({"type": "http.response.body", "body": _sse(final)})
                return
            result = {"content": [{"type": "text", "text": args.get("text", "")}], "isError": False}
        else:
            result = {}
        response = {"jsonrpc": "2.0", "id": request["id"], "result": result}
        if sse:
            await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS + extra})
            await send({"type": "http.response.body", "body": _sse(response)})
        else:
            data = orjson.dumps(response)
            headers = _JSON_HEADERS + extra + [(b"content-length", b"%d" % len(data))]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": data})

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--mode", choices=("json", "sse"), default="json")
    args = parser.parse_args(argv)
    uvicorn.run(
        make_app(args.mode),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="on",
    )


if __name__ == "__main__":
    main()
