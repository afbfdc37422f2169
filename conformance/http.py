"""Raw Streamable HTTP for the suite, over plain httpx: no MCP client library stands between the
checks and the bytes the server sends.

`Stream` is one HTTP exchange whose body is read by a background task (so a check can wait for
"the next event" with a deadline and keep reading afterwards); `send` is the common case of
"send this, collect the whole reply (or up to the JSON-RPC response)".
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from .sse import Comment, SseEvent, SseParser

__all__ = [
    "ACCEPT_BOTH",
    "LEGACY_VERSION",
    "MODERN_VERSION",
    "Reply",
    "Stream",
    "describe_request",
    "next_id",
    "send",
    "short",
]

ACCEPT_BOTH = "application/json, text/event-stream"
LEGACY_VERSION = "2025-11-25"
MODERN_VERSION = "2026-07-28"
_ids = itertools.count(1)
_END = object()


def next_id() -> int:
    return next(_ids)


def short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"


_SHOWN_HEADERS = (
    "accept",
    "content-type",
    "mcp-session-id",
    "mcp-protocol-version",
    "origin",
    "last-event-id",
    "mcp-method",
    "mcp-name",
)


def describe_request(method: str, url: str, headers: dict[str, str], body: bytes | None) -> str:
    shown = [
        f"{k}: {v}"
        for k, v in headers.items()
        if k.lower() in _SHOWN_HEADERS or k.lower().startswith("mcp-param-")
    ]
    text = f"{method} {url}"
    if shown:
        text += " [" + "; ".join(shown) + "]"
    if body:
        text += " " + short(body.decode("utf-8", "replace"), 240)
    return text


@dataclass(slots=True)
class Reply:
    """A complete (or deadline-cut) HTTP reply."""

    sent: str
    status: int
    headers: httpx.Headers
    body: bytes = b""
    events: list[SseEvent] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    timed_out: bool = False

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def is_sse(self) -> bool:
        return self.content_type == "text/event-stream"

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    @property
    def messages(self) -> list[dict[str, Any]]:
        """JSON-RPC messages carried by the reply (JSON body or SSE data)."""
        if self.is_sse:
            return [m for m in (e.json() for e in self.events) if isinstance(m, dict)]
        body = self.json
        if isinstance(body, dict):
            return [body]
        if isinstance(body, list):
            return [m for m in body if isinstance(m, dict)]
        return []

    def response(self, request_id: Any = None) -> dict[str, Any] | None:
        """The JSON-RPC response (result or error) with this id, or the first one if id is None."""
        for message in self.messages:
            if ("result" in message or "error" in message) and (
                request_id is None or message.get("id") == request_id
            ):
                return message
        return None

    def error_code(self, request_id: Any = None) -> int | None:
        message = self.response(request_id)
        error = message.get("error") if message else None
        return error.get("code") if isinstance(error, dict) else None

    def summary(self) -> str:
        text = f"HTTP {self.status}"
        if self.content_type:
            text += f" {self.content_type}"
        if self.is_sse:
            text += f" ({len(self.events)} events" + (", cut at deadline)" if self.timed_out else ")")
            if self.events:
                text += " " + short([e.data for e in self.events], 300)
        elif self.body:
            text += " " + short(self.body.decode("utf-8", "replace"), 300)
        else:
            text += " (empty body)"
        return text


class Stream:
    """One HTTP exchange read incrementally. Use as ``async with Stream(...) as s``."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> None:
        self.client, self.method, self.url = client, method, url
        self.request_headers = dict(headers or {})
        self.request_body = body
        self.sent = describe_request(method, url, self.request_headers, body)
        self.response: httpx.Response | None = None
        self.events: list[SseEvent] = []
        self.comments: list[str] = []
        self.body = b""
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._pump_task: asyncio.Task[None] | None = None
        self._cm: Any = None
        self.ended = False

    async def __aenter__(self) -> Stream:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        self._cm = self.client.stream(
            self.method, self.url, headers=self.request_headers, content=self.request_body
        )
        self.response = await self._cm.__aenter__()
        self._pump_task = asyncio.create_task(self._pump())

    @property
    def status(self) -> int:
        assert self.response is not None
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        assert self.response is not None
        return self.response.headers

    @property
    def is_sse(self) -> bool:
        return self.headers.get("content-type", "").split(";")[0].strip().lower() == "text/event-stream"

    async def _pump(self) -> None:
        assert self.response is not None
        parser = SseParser() if self.is_sse else None
        try:
            async for chunk in self.response.aiter_raw():
                if parser is None:
                    self.body += chunk
                    continue
                for item in parser.feed(chunk):
                    await self._queue.put(item)
        except (httpx.HTTPError, OSError) as exc:
            await self._queue.put(exc)
        finally:
            await self._queue.put(_END)

    async def next(self, timeout: float) -> SseEvent | Comment | None:
        """The next event or comment; None when the stream has ended. Raises TimeoutError."""
        if self.ended:
            return None
        item = await asyncio.wait_for(self._queue.get(), timeout)
        if item is _END or isinstance(item, Exception):
            self.ended = True
            return None
        if isinstance(item, SseEvent):
            self.events.append(item)
        else:
            self.comments.append(item.text)
        return item

    async def next_event(self, timeout: float) -> SseEvent | None:
        """The next event, skipping comments; None at the end. Raises TimeoutError."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            item = await self.next(max(0.0, deadline - loop.time()))
            if item is None or isinstance(item, SseEvent):
                return item

    async def read_all(self, timeout: float, until_id: Any = None) -> bool:
        """Read until the end, or until the JSON-RPC response ``until_id`` arrives. Returns False
        when the deadline cut the read short."""
        if not self.is_sse:
            try:
                await asyncio.wait_for(self._wait_end(), timeout)
            except TimeoutError:
                return False
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                event = await self.next_event(max(0.0, deadline - loop.time()))
                if event is None:
                    return True
                message = event.json()
                if (
                    until_id is not None
                    and isinstance(message, dict)
                    and message.get("id") == until_id
                    and ("result" in message or "error" in message)
                ):
                    return True
        except TimeoutError:
            return False

    async def _wait_end(self) -> None:
        while await self.next(3600) is not None:
            pass

    def reply(self, timed_out: bool = False) -> Reply:
        return Reply(
            self.sent, self.status, self.headers, self.body, list(self.events), list(self.comments), timed_out
        )

    async def close(self) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pump_task
        if self._cm is not None:
            with contextlib.suppress(Exception):
                await self._cm.__aexit__(None, None, None)
            self._cm = None


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 10.0,
    until_id: Any = None,
) -> Reply:
    """Send one request and collect the reply: the whole body, or an SSE stream up to its end or
    the JSON-RPC response ``until_id``, whichever comes first (bounded by ``timeout``)."""
    stream = Stream(client, method, url, headers=headers, body=body)
    try:
        await asyncio.wait_for(stream.open(), timeout)
        complete = await stream.read_all(timeout, until_id)
        return stream.reply(timed_out=not complete)
    finally:
        await stream.close()
