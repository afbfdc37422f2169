"""The recording HTTP proxy of ``mcp-transport record URL`` as a pure ASGI app: each request
(POST, GET, DELETE, with the session and version headers) goes to the upstream endpoint as it
came, each answer (JSON or SSE) streams back chunk by chunk, and every JSON-RPC message on the
way is written to the recording. Bounds: see :mod:`._record`."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import orjson

from ..recording import Recorder, redact_headers
from ..transports.http_client.sse_parser import EventTooLarge, SSEParser

__all__ = ["RecordingProxy"]

_RESPONSE_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-encoding"})


def _parse(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return {"unparsed": body[:200].decode("utf-8", "replace")}


class _Answer:
    """Records the messages of one upstream answer as its bytes pass through."""

    def __init__(self, recorder: Recorder, response: httpx.Response, fields: dict[str, Any], limit: int):
        self._recorder = recorder
        self._fields = fields
        self._limit = limit
        self._headers: dict[str, str] | None = redact_headers(
            (k, v) for k, v in response.headers.items() if k.lower() not in _RESPONSE_HOP_BY_HOP
        )
        content_type = response.headers.get("content-type", "")
        self._sse = SSEParser() if content_type.startswith("text/event-stream") else None
        self._body = bytearray()
        self._size = 0
        self.recorded = False

    def record(self, message: Any, **extra: Any) -> None:
        headers, self._headers = self._headers, None  # the answer's headers go on its first line
        self._recorder.record("s2c", message, **self._fields, headers=headers, **extra)
        self.recorded = True

    def feed(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._sse is None:
            if self._size <= self._limit:
                self._body += chunk
            return
        try:
            events = self._sse.feed(chunk)
        except EventTooLarge:
            self.record({"truncated": self._size})
            self._sse = SSEParser()  # what follows the oversized event is recorded again
            return
        for event in events:
            if event.data:
                stream = event.id.rpartition(":")[0] if event.id else None
                self.record(_parse(event.data.encode()), stream=stream or None, event=event.id or None)

    def finish(self) -> None:
        if self._sse is None and self._size > self._limit:
            self.record({"truncated": self._size})
        elif self._sse is None and self._body.strip():
            self.record(_parse(bytes(self._body)))
        if not self.recorded:
            self.record(None)  # a status without a message (202, 405, ...)


class RecordingProxy:
    def __init__(
        self, upstream: str, recorder: Recorder, *, path: str, max_body: int, hop_by_hop: frozenset[str]
    ) -> None:
        self.upstream = upstream
        self.recorder = recorder
        self.max_body = max_body
        self._paths = {path.rstrip("/") or "/", path.rstrip("/") + "/"}
        self._hop_by_hop = hop_by_hop
        self._client: httpx.AsyncClient | None = None
        self._exchange = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            if scope["path"] not in self._paths:
                await _reply(send, 404, f"Not found: the recording proxy's endpoint is {min(self._paths)}")
                return
            await self._forward(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # No timeout on reads: an SSE stream may be quiet for minutes.
                self._client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=None))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _forward(self, scope: Any, receive: Any, send: Any) -> None:
        assert self._client is not None, "the proxy runs with lifespan events"
        body = await self._body(receive)
        if body is None:
            await _reply(send, 413, f"Request body over the recording proxy's {self.max_body} bytes")
            return
        self._exchange += 1
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        kept = [(k, v) for k, v in headers if k.lower() not in self._hop_by_hop]
        session = {k.lower(): v for k, v in headers}.get("mcp-session-id")
        fields = {"exchange": self._exchange, "http": scope["method"], "session": session}
        self.recorder.record(
            "c2s", _parse(body) if body.strip() else None, **fields, headers=redact_headers(kept)
        )
        url = self.upstream + (f"?{scope['query_string'].decode('latin-1')}" if scope["query_string"] else "")
        request = self._client.build_request(
            scope["method"], url, headers=[*kept, ("accept-encoding", "identity")], content=body
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            self.recorder.record("s2c", None, **fields, status=502)
            await _reply(send, 502, f"Bad gateway: the upstream {self.upstream} is unreachable ({exc})")
            return
        try:
            fields.update(
                status=response.status_code, session=response.headers.get("mcp-session-id") or session
            )
            answer = _Answer(self.recorder, response, fields, self.max_body)
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [
                        (k.encode("latin-1"), v.encode("latin-1"))
                        for k, v in response.headers.items()
                        if k.lower() not in _RESPONSE_HOP_BY_HOP
                    ],
                }
            )
            async with anyio.create_task_group() as tg:
                tg.start_soon(_cancel_on_disconnect, receive, tg.cancel_scope)
                async for chunk in response.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    answer.feed(chunk)
                tg.cancel_scope.cancel()
            answer.finish()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()

    async def _body(self, receive: Any) -> bytes | None:
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > self.max_body:
                return None
            if not message.get("more_body"):
                return bytes(body)


async def _cancel_on_disconnect(receive: Any, scope: anyio.CancelScope) -> None:
    """The client went away (a GET stream closed): stop reading the upstream for it."""
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


async def _reply(send: Any, status: int, text: str) -> None:
    body = orjson.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": text}})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
