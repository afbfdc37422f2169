"""JSON-RPC 2.0 as MCP restricts it: message types, parsing, validation, serialization.

Sans-IO: bytes in, typed messages out, and back. No sockets, no event loop.

MCP's restrictions (2025-11-25 basic#json-rpc-messages): ``"jsonrpc": "2.0"`` on every
message; a request id is a string or an integer, never null; params and results are objects;
batches exist only in protocol version 2025-03-26, and the caller decides whether they are
allowed.

Hostile input stays bounded: a message nested deeper than :data:`MAX_JSON_DEPTH` is refused
at parse time (-32600), and an error message never echoes a client's value whole, only a
bounded :func:`preview` of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

import orjson

__all__ = [
    "HEADER_MISMATCH",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "MAX_JSON_DEPTH",
    "METHOD_NOT_FOUND",
    "MISSING_CLIENT_CAPABILITY",
    "PARSE_ERROR",
    "REQUEST_TOO_LARGE",
    "RESOURCE_NOT_FOUND",
    "RESUME_GAP",
    "SERVER_OVERLOADED",
    "SESSION_NOT_FOUND",
    "STATE_UNAVAILABLE",
    "UNSUPPORTED_PROTOCOL_VERSION",
    "URL_ELICITATION_REQUIRED",
    "WORKER_STOPPED",
    "ErrorObject",
    "ErrorResponse",
    "InvalidMessage",
    "Message",
    "Notification",
    "Request",
    "RequestId",
    "Response",
    "Result",
    "bounded",
    "dump",
    "dump_many",
    "parse",
    "parse_message",
    "preview",
]

RequestId = str | int

# Standard JSON-RPC 2.0 codes.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# MCP codes: 2026-07-28 basic/index#error-codes (and, for the legacy ones, 2025-11-25
# server/resources#error-handling and client/elicitation#error-handling).
RESOURCE_NOT_FOUND = -32002  # legacy only; 2026-07-28 uses -32602 with data.uri
URL_ELICITATION_REQUIRED = -32042  # 2025-11-25 only
HEADER_MISMATCH = -32020  # 2026-07-28
MISSING_CLIENT_CAPABILITY = -32021  # 2026-07-28
UNSUPPORTED_PROTOCOL_VERSION = -32022  # 2026-07-28
# Implementation-defined codes for transport conditions, in the -32000..-32019 sub-range that
# MCP leaves to implementations allocated before 2026-07-28 (2026-07-28 basic/index#error-codes).
# Each is distinct so a client can tell "re-initialize" (session not found) from "back off"
# (overloaded) without reading prose.
SESSION_NOT_FOUND = -32001
SERVER_OVERLOADED = -32010
RESUME_GAP = -32011
REQUEST_TOO_LARGE = -32012
STATE_UNAVAILABLE = -32013  # the shared state (Redis) is unreachable: back off and retry
WORKER_STOPPED = -32014  # the worker running a request died: its result will never come; re-send it
UNAUTHORIZED = -32015  # no valid access token (HTTP 401; 2026-07-28 basic/authorization#error-handling)
INSUFFICIENT_SCOPE = -32016  # the token lacks a scope the request needs (HTTP 403)

# The deepest nesting of arrays and objects a message may have (the top-level object is
# depth 1). Far beyond what any MCP message needs, and far below orjson's serialization limit
# (255) and Python's recursion limit, so whatever we accept we can also echo, log and
# answer. Deeper input is answered with -32600 (HTTP 400).
MAX_JSON_DEPTH = 128
# How much of a client's value an error message may quote (characters).
PREVIEW_CHARS = 80


@dataclass(frozen=True, slots=True)
class Request:
    """A request: it expects exactly one response with the same id."""

    id: RequestId
    method: str
    params: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        _check_id(self.id)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"jsonrpc": "2.0", "id": self.id, "method": self.method}
        if self.params is not None:
            out["params"] = self.params
        return out


@dataclass(frozen=True, slots=True)
class Notification:
    """A one-way message: the receiver never replies."""

    method: str
    params: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"jsonrpc": "2.0", "method": self.method}
        if self.params is not None:
            out["params"] = self.params
        return out


@dataclass(frozen=True, slots=True)
class Result:
    """A successful response."""

    id: RequestId
    result: dict[str, Any]

    def __post_init__(self) -> None:
        _check_id(self.id)

    def to_dict(self) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": self.id, "result": self.result}


@dataclass(frozen=True, slots=True)
class ErrorObject:
    """The ``error`` member of an error response."""

    code: int
    message: str
    data: Any = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """A failed response. ``id`` is None only when the request's id could not be read."""

    id: RequestId | None
    error: ErrorObject

    def to_dict(self) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": self.id, "error": self.error.to_dict()}


Response = Result | ErrorResponse
Message = Request | Notification | Result | ErrorResponse


class InvalidMessage(Exception):
    """Raised by the parser: the input is not a valid MCP JSON-RPC message.

    ``code`` is the JSON-RPC error code to answer with and ``id`` the request id when it could
    be read, so the caller can build the reply with :meth:`to_response`.
    """

    def __init__(self, code: int, message: str, id: RequestId | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.id = id

    def to_response(self) -> ErrorResponse:
        return ErrorResponse(self.id, ErrorObject(self.code, self.message))


def _check_id(value: Any) -> None:
    # bool is an int subclass in Python but not a JSON-RPC id.
    if type(value) not in (str, int):
        raise ValueError(f"a JSON-RPC id must be a string or an integer, not {value!r}")


def _readable_id(obj: dict[str, Any]) -> RequestId | None:
    value = obj.get("id")
    return value if type(value) in (str, int) else None


def parse_message(obj: Any) -> Message:
    """Validate one decoded JSON value and return it as a typed message."""
    if not isinstance(obj, dict):
        raise InvalidMessage(INVALID_REQUEST, "Invalid Request: a JSON-RPC message must be a JSON object")
    if obj.get("jsonrpc") != "2.0":
        raise InvalidMessage(
            INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be exactly "2.0"', _readable_id(obj)
        )
    method = obj.get("method")
    if method is not None:
        if "result" in obj or "error" in obj:
            # Both a call and a response: no reading of it is safe (JSON-RPC 2.0 sections 4, 5).
            raise InvalidMessage(
                INVALID_REQUEST,
                'Invalid Request: a message has "method" (request or notification) or "result"/"error" '
                "(response), never both",
                _readable_id(obj),
            )
        return _parse_call(obj, method)
    if "result" in obj or "error" in obj:
        return _parse_response(obj)
    raise InvalidMessage(
        INVALID_REQUEST,
        'Invalid Request: a message needs "method" (request or notification) or "result"/"error" (response)',
        _readable_id(obj),
    )


def _parse_call(obj: dict[str, Any], method: Any) -> Request | Notification:
    rid = obj.get("id")
    has_id = "id" in obj
    if not isinstance(method, str):
        raise InvalidMessage(INVALID_REQUEST, 'Invalid Request: "method" must be a string', _readable_id(obj))
    params = obj.get("params")
    if params is not None and not isinstance(params, dict):
        raise InvalidMessage(
            INVALID_REQUEST, 'Invalid Request: "params" must be a JSON object in MCP', _readable_id(obj)
        )
    if not has_id:
        return Notification(method, params)
    if not _is_id(rid):
        raise InvalidMessage(
            INVALID_REQUEST, f'Invalid Request: "id" must be a string or an integer, not {preview(rid)}'
        )
    return Request(rid, method, params)


def _is_id(value: Any) -> TypeGuard[RequestId]:
    # Exact types: a bool is an int to isinstance, and JSON true is no request id.
    return type(value) in (str, int)


def _parse_response(obj: dict[str, Any]) -> Result | ErrorResponse:
    rid = obj.get("id")
    if "error" in obj:
        err = obj["error"]
        if (
            not isinstance(err, dict)
            or type(err.get("code")) is not int
            or not isinstance(err.get("message"), str)
        ):
            raise InvalidMessage(
                INVALID_REQUEST, 'Invalid Request: "error" must be {code: int, message: str}'
            )
        if rid is not None and not _is_id(rid):
            raise InvalidMessage(
                INVALID_REQUEST, 'Invalid Request: a response "id" must be a string or an integer'
            )
        return ErrorResponse(rid, ErrorObject(err["code"], err["message"], err.get("data")))
    if not _is_id(rid):
        raise InvalidMessage(INVALID_REQUEST, 'Invalid Request: a result needs a string or integer "id"')
    result = obj["result"]
    if not isinstance(result, dict):
        raise InvalidMessage(INVALID_REQUEST, 'Invalid Request: "result" must be a JSON object in MCP')
    return Result(rid, result)


def parse(data: bytes | str, *, allow_batch: bool = False) -> Message | list[Message]:
    """Decode and validate one message, or a batch when ``allow_batch`` (2025-03-26 only).

    Raises :class:`InvalidMessage` with -32700 for bad JSON and -32600 for a bad shape
    (including nesting deeper than :data:`MAX_JSON_DEPTH`). In a batch, the first invalid
    member fails the whole batch: partial execution of a batch is harder to reason about
    than a clear rejection. So does a batch that repeats a request id or contains
    ``initialize`` (see :func:`_check_batch`).
    """
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidMessage(PARSE_ERROR, f"Parse error: the body is not valid JSON ({exc})") from None
    if _too_deep(obj, data):
        raise InvalidMessage(
            INVALID_REQUEST,
            f"Invalid Request: the message nests arrays/objects deeper than {MAX_JSON_DEPTH} levels",
        )
    if isinstance(obj, list):
        if not allow_batch:
            raise InvalidMessage(
                INVALID_REQUEST,
                "Invalid Request: JSON-RPC batches are only allowed with protocol version 2025-03-26; "
                "send one message at a time",
            )
        if not obj:
            raise InvalidMessage(INVALID_REQUEST, "Invalid Request: an empty batch")
        batch = [parse_message(item) for item in obj]
        _check_batch(batch)
        return batch
    return parse_message(obj)


def _too_deep(obj: Any, data: bytes | str) -> bool:
    """Whether ``obj`` nests deeper than MAX_JSON_DEPTH. Free for ordinary messages: each level
    takes an opening and a closing bracket, so a body of at most twice the limit cannot exceed
    it (not even counted), nor can one with no more brackets than the limit; only the rest is
    walked."""
    if len(data) <= 2 * MAX_JSON_DEPTH:
        return False
    text = data.encode() if isinstance(data, str) else data
    if text.count(b"[") + text.count(b"{") <= MAX_JSON_DEPTH:
        return False
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        if depth > MAX_JSON_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _check_batch(batch: list[Message]) -> None:
    """The rules a 2025-03-26 batch breaks as a whole (2025-03-26 basic#batching):

    * a request id used twice: an id "MUST NOT have been previously used by the requestor
      within the same session" (2025-03-26 basic#requests), and two responses with one id
      could not be told apart (JSON-RPC 2.0 §6 matches a batch's responses to its requests
      by id alone), so no member runs and the batch is answered with one -32600 error;
    * ``initialize``: "The initialization request MUST NOT be part of a JSON-RPC batch"
      (2025-03-26 basic/lifecycle#initialization).
    """
    seen: set[tuple[type, RequestId]] = set()
    for message in batch:
        if not isinstance(message, Request):
            continue
        if message.method == "initialize":
            raise InvalidMessage(
                INVALID_REQUEST, "Invalid Request: initialize must not be part of a batch; send it alone"
            )
        key = (type(message.id), message.id)  # 1 and "1" are different ids
        if key in seen:
            raise InvalidMessage(
                INVALID_REQUEST,
                f"Invalid Request: request id {preview(message.id)} is used more than once in this batch; "
                "give every request its own id (nothing in the batch was run)",
            )
        seen.add(key)


def bounded(value: Any, limit: int = PREVIEW_CHARS) -> Any:
    """A client's value as error ``data`` may carry it: itself when it is a short string or
    a scalar, else its :func:`preview`."""
    short_string = isinstance(value, str) and len(value) <= limit
    if value is None or isinstance(value, (bool, int, float)) or short_string:
        return value
    return preview(value, limit)


def preview(value: Any, limit: int = PREVIEW_CHARS) -> str:
    """A bounded description of a client's value, for error messages: short strings and
    numbers quoted as JSON, long ones cut, arrays and objects summarised (never serialized:
    they may be huge or deeply nested)."""
    if isinstance(value, str):
        if len(value) <= limit:
            return orjson.dumps(value).decode()
        return f'{orjson.dumps(value[:limit]).decode()[:-1]}..." ({len(value)} characters)'
    if isinstance(value, dict):
        return f"an object with {len(value)} member(s)"
    if isinstance(value, list):
        return f"an array of {len(value)} item(s)"
    if value is None or isinstance(value, bool):
        return orjson.dumps(value).decode()
    if isinstance(value, (int, float)):
        text = str(value)
        return text if len(text) <= limit else f"a {len(text)}-digit number"
    return type(value).__name__


def dump(message: Message) -> bytes:
    """Serialize one message as compact single-line JSON (no embedded newlines).

    A response that cannot be serialized (a handler returned something that is not JSON)
    becomes an internal error for the same id, so the peer still gets an answer; a request
    or notification that cannot be raises ``orjson.JSONEncodeError`` to its sender."""
    try:
        return orjson.dumps(message.to_dict())
    except orjson.JSONEncodeError:
        if not isinstance(message, (Result, ErrorResponse)):
            raise
        fallback = ErrorObject(INTERNAL_ERROR, "Internal error: the response could not be serialized as JSON")
        return orjson.dumps(ErrorResponse(message.id, fallback).to_dict())


def dump_many(messages: Sequence[Message]) -> bytes:
    """Serialize a batch reply (each member as :func:`dump` would)."""
    return b"[" + b",".join(dump(m) for m in messages) + b"]"
