"""What both legs of the Streamable HTTP endpoint share: ASGI types, the error that carries
an HTTP status and a JSON-RPC error out of a handler, and the small response writers.

Every 4xx/5xx the endpoint sends has a JSON-RPC error body whose message says what to fix,
and echoes the request id whenever it could be read. Every response carries ``Mcp-Worker``
(:func:`tag_worker`), the id of the worker process that wrote it.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from ... import jsonrpc
from ...errors import InvalidRequest, RPCError, StateUnavailable
from ...jsonrpc import ErrorResponse, RequestId
from ...state.workers import worker_id

__all__ = [
    "JSON_TYPES",
    "SSE_TYPES",
    "WORKER_HEADER",
    "HTTPError",
    "Receive",
    "Scope",
    "Send",
    "accepted_types",
    "check_post_headers",
    "header_dict",
    "retry_after",
    "send_empty",
    "send_error",
    "send_json",
    "tag_worker",
]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# Accept header values that allow a JSON body / an event stream.
JSON_TYPES = ("application/json", "application/*", "*/*")
SSE_TYPES = ("text/event-stream", "text/*", "*/*")
_JSON_HEADERS = [(b"content-type", b"application/json")]
_UTF8 = ("utf-8", "utf8")
# The worker process that wrote a response: stable for the life of the process, different in
# every process (state.workers.worker_id), so a client or an operator behind a load balancer
# can tell which worker served (on a POST: ran the handler) and correlate with its logs.
WORKER_HEADER = b"mcp-worker"


# Decoded header pairs by their raw (name, value): a client repeats the same headers on every
# request (Host, Accept, its session id, Content-Length by body size). Only short values are
# kept; bounded: cleared when full (docs/http-server.md "Limits").
_HEADER_PAIRS: dict[tuple[bytes, bytes], tuple[str, str]] = {}
_HEADER_PAIRS_SIZE = 1024
_HEADER_PAIR_VALUE_MAX = 256  # bytes: tokens and other long values are decoded every time


def header_dict(raw: Iterable[Any]) -> dict[str, str]:
    """An ASGI scope's ``headers`` as a dict of latin-1 strings (names arrive lower-case; a
    repeated header keeps its last value). When every pair is a known one the dict is built
    in C (``dict(map(...))``): a third of the cost of decoding each pair."""
    if not isinstance(raw, (list, tuple)):  # read twice below
        raw = list(raw)
    try:
        return dict(map(_HEADER_PAIRS.__getitem__, raw))
    except (KeyError, TypeError):  # a new pair, or pairs that are lists (unhashable)
        pass
    headers = {}
    for pair in raw:
        name, value = pair
        decoded = name.decode("latin-1"), value.decode("latin-1")
        headers[decoded[0]] = decoded[1]
        if len(value) <= _HEADER_PAIR_VALUE_MAX and type(pair) is tuple:
            if len(_HEADER_PAIRS) >= _HEADER_PAIRS_SIZE:
                _HEADER_PAIRS.clear()
            _HEADER_PAIRS[pair] = decoded
    return headers


def tag_worker(send: Send) -> Send:
    """``send`` with the ``Mcp-Worker`` header added to the response head: the one place it
    is set, so every response of the endpoint carries it (errors, 403s and 404s included).
    The id is read per request, not at import: a worker forked from a parent gets its own."""
    header = (WORKER_HEADER, worker_id().encode())

    def send_tagged(message: MutableMapping[str, Any]) -> Awaitable[None]:
        # Not a coroutine of its own: it hands back the server's, one frame fewer per write.
        if message["type"] == "http.response.start":
            # A new list: the head lists of the response writers are shared constants.
            message["headers"] = [*message.get("headers", ()), header]
        return send(message)

    return send_tagged


class HTTPError(Exception):
    """Raised inside the endpoint: answer with ``status`` and ``error`` as the JSON-RPC body."""

    def __init__(
        self,
        status: int,
        error: RPCError,
        *,
        headers: list[tuple[bytes, bytes]] | None = None,
        id: RequestId | None = None,
    ) -> None:
        self.status = status
        self.error = error
        self.headers = headers or []
        self.id = id


_EMPTY_HEADERS = [(b"content-length", b"0")]


async def send_empty(send: Send, status: int) -> None:
    # A length, so the server sends no chunked framing (204 must carry no Content-Length).
    await send(
        {"type": "http.response.start", "status": status, "headers": [] if status == 204 else _EMPTY_HEADERS}
    )
    await send({"type": "http.response.body", "body": b""})


async def send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A complete JSON answer, with Content-Length (without it uvicorn chunk-encodes it)."""
    head = [_JSON_HEADERS[0], (b"content-length", b"%d" % len(body))]
    if headers:
        head += headers
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


async def send_error(
    send: Send,
    status: int,
    error: RPCError,
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
    id: RequestId | None = None,
) -> None:
    await send_json(send, status, jsonrpc.dump(ErrorResponse(id, error.to_error())), headers)


def retry_after(error: RPCError) -> list[tuple[bytes, bytes]]:
    """``Retry-After`` for an error that says when to come back: the shared state store
    (Redis) is unreachable (503). Whole seconds, at least 1 (RFC 9110 10.2.3 delay-seconds)."""
    if isinstance(error, StateUnavailable):
        return [(b"retry-after", b"%d" % max(1, math.ceil(error.retry_after)))]
    return []


# accepted_types by Accept value: a client sends the same one on every request. Bounded:
# cleared when full.
_ACCEPTED: dict[str, tuple[bool, bool]] = {}
_ACCEPTED_SIZE = 256


def accepted_types(accept: str) -> tuple[bool, bool]:
    """Whether an ``Accept`` value allows a JSON body and an event stream: its media ranges,
    parameters ignored except ``q=0`` (RFC 9110 12.5.1: that range is refused)."""
    verdict = _ACCEPTED.get(accept)
    if verdict is None:
        if len(_ACCEPTED) >= _ACCEPTED_SIZE:
            _ACCEPTED.clear()
        verdict = _ACCEPTED[accept] = _parse_accept(accept)
    return verdict


def _parse_accept(accept: str) -> tuple[bool, bool]:
    ranges = set()
    for item in accept.split(","):
        media, *params = item.split(";")
        if not any(_is_q_zero(param) for param in params):
            ranges.add(media.strip().lower())
    return any(t in ranges for t in JSON_TYPES), any(t in ranges for t in SSE_TYPES)


def _is_q_zero(param: str) -> bool:
    name, _, value = param.partition("=")
    if name.strip().lower() != "q":
        return False
    try:
        return float(value) == 0
    except ValueError:
        return False


# check_post_headers verdicts by (Content-Type, Accept): a client sends the same pair on every
# POST. Only accepted pairs are kept (a refusal is built again each time). Bounded: cleared
# when full.
_POST_VERDICTS: dict[tuple[str | None, str | None], tuple[bool, bool]] = {}


def check_post_headers(headers: dict[str, str]) -> tuple[bool, bool]:
    """Check a POST's ``Content-Type`` and ``Accept`` (lower-case header names) and return
    (accepts JSON, accepts SSE). Raises HTTPError 415 / 406 with what to send instead
    (:func:`_check_post_headers`)."""
    key = (headers.get("content-type"), headers.get("accept"))
    verdict = _POST_VERDICTS.get(key)
    if verdict is None:
        verdict = _check_post_headers(*key)
        if len(_POST_VERDICTS) >= _ACCEPTED_SIZE:
            _POST_VERDICTS.clear()
        _POST_VERDICTS[key] = verdict
    return verdict


def _check_post_headers(ctype: str | None, accept: str | None) -> tuple[bool, bool]:
    """The verdict of :func:`check_post_headers`.

    2025-11-25 basic/transports#sending-messages-to-the-server: the client MUST send an
    ``Accept`` header listing application/json and text/event-stream, so a POST without one
    is refused (as the official Python and TypeScript SDKs do); a wildcard or just one of the
    two types is accepted on purpose (docs/http-server.md, "Leniency"). JSON-RPC messages
    MUST be UTF-8 (2025-11-25 basic/transports; RFC 8259 section 8.1), so a body declared
    in any other charset is 415.
    """
    ctype = ctype or ""
    media, *params = ctype.split(";")
    if media.strip().lower() != "application/json":
        raise HTTPError(
            415,
            InvalidRequest(
                f"Unsupported Content-Type {ctype!r}: POST a JSON-RPC message as application/json"
            ),
        )
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in _UTF8:
            raise HTTPError(
                415,
                InvalidRequest(
                    f"Unsupported Content-Type {ctype!r}: JSON-RPC messages must be UTF-8; "
                    "send Content-Type: application/json (charset utf-8 or none)"
                ),
            )
    if accept is None:
        raise HTTPError(
            406,
            InvalidRequest(
                "Not Acceptable: the POST has no Accept header; "
                "send Accept: application/json, text/event-stream"
            ),
        )
    accept_json, accept_sse = accepted_types(accept)
    if not (accept_json or accept_sse):
        raise HTTPError(
            406,
            InvalidRequest(
                f"Not Acceptable: Accept {accept!r} allows neither application/json nor text/event-stream; "
                "send Accept: application/json, text/event-stream"
            ),
        )
    return accept_json, accept_sse
