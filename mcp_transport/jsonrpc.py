"""JSON-RPC 2.0 as MCP restricts it: message types, parsing, validation, serialization.

Sans-IO: bytes in, typed messages out, and back. No sockets, no event loop.

MCP's restrictions (digest §4.1): ``"jsonrpc": "2.0"`` on every message; a request id is a
string or an integer, never null; params and results are objects; batches exist only in
protocol version 2025-03-26, and the caller decides whether they are allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

import orjson

__all__ = [
    "HEADER_MISMATCH",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "MISSING_CLIENT_CAPABILITY",
    "PARSE_ERROR",
    "REQUEST_TOO_LARGE",
    "RESOURCE_NOT_FOUND",
    "RESUME_GAP",
    "SERVER_OVERLOADED",
    "SESSION_NOT_FOUND",
    "UNSUPPORTED_PROTOCOL_VERSION",
    "URL_ELICITATION_REQUIRED",
    "ErrorObject",
    "ErrorResponse",
    "InvalidMessage",
    "Message",
    "Notification",
    "Request",
    "RequestId",
    "Response",
    "Result",
    "dump",
    "dump_many",
    "parse",
    "parse_message",
]

RequestId = Union[str, int]

# Standard JSON-RPC 2.0 codes.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# MCP codes (digest §4.2).
RESOURCE_NOT_FOUND = -32002  # legacy only; 2026-07-28 uses -32602 with data.uri
URL_ELICITATION_REQUIRED = -32042  # 2025-11-25 only
HEADER_MISMATCH = -32020  # 2026-07-28
MISSING_CLIENT_CAPABILITY = -32021  # 2026-07-28
UNSUPPORTED_PROTOCOL_VERSION = -32022  # 2026-07-28
# Implementation-defined codes for transport conditions (the -32000..-32019 range is ours to
# use on the legacy leg). Each is distinct so a client can tell "re-initialize" (session not
# found) from "back off" (overloaded) without reading prose; anchors §7 item 13.
SESSION_NOT_FOUND = -32001
SERVER_OVERLOADED = -32010
RESUME_GAP = -32011
REQUEST_TOO_LARGE = -32012


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


Response = Union[Result, ErrorResponse]
Message = Union[Request, Notification, Result, ErrorResponse]


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
    if type(rid) not in (str, int):
        raise InvalidMessage(
            INVALID_REQUEST, f'Invalid Request: "id" must be a string or an integer, not {orjson.dumps(rid).decode()}'
        )
    return Request(rid, method, params)


def _parse_response(obj: dict[str, Any]) -> Result | ErrorResponse:
    rid = obj.get("id")
    if "error" in obj:
        err = obj["error"]
        if not isinstance(err, dict) or type(err.get("code")) is not int or not isinstance(err.get("message"), str):
            raise InvalidMessage(INVALID_REQUEST, 'Invalid Request: "error" must be {code: int, message: str}')
        if rid is not None and type(rid) not in (str, int):
            raise InvalidMessage(INVALID_REQUEST, 'Invalid Request: a response "id" must be a string or an integer')
        return ErrorResponse(rid, ErrorObject(err["code"], err["message"], err.get("data")))
    if type(rid) not in (str, int):
        raise InvalidMessage(INVALID_REQUEST, 'Invalid Request: a result needs a string or integer "id"')
    result = obj["result"]
    if not isinstance(result, dict):
        raise InvalidMessage(INVALID_REQUEST, 'Invalid Request: "result" must be a JSON object in MCP')
    return Result(rid, result)


def parse(data: bytes | str, *, allow_batch: bool = False) -> Message | list[Message]:
    """Decode and validate one message, or a batch when ``allow_batch`` (2025-03-26 only).

    Raises :class:`InvalidMessage` with -32700 for bad JSON and -32600 for a bad shape. In a
    batch, the first invalid member fails the whole batch: partial execution of a batch is
    harder to reason about than a clear rejection.
    """
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidMessage(PARSE_ERROR, f"Parse error: the body is not valid JSON ({exc})") from None
    if isinstance(obj, list):
        if not allow_batch:
            raise InvalidMessage(
                INVALID_REQUEST,
                "Invalid Request: JSON-RPC batches are only allowed with protocol version 2025-03-26; "
                "send one message at a time",
            )
        if not obj:
            raise InvalidMessage(INVALID_REQUEST, "Invalid Request: an empty batch")
        return [parse_message(item) for item in obj]
    return parse_message(obj)


def dump(message: Message) -> bytes:
    """Serialize one message as compact single-line JSON (no embedded newlines)."""
    return orjson.dumps(message.to_dict())


def dump_many(messages: list[Message]) -> bytes:
    """Serialize a batch reply."""
    return orjson.dumps([m.to_dict() for m in messages])
