"""Every exception mcp_transport raises, in one tree.

    MCPError
    ├── RPCError(code, message, data)      an error that travels as a JSON-RPC error object
    │   ├── ParseError, InvalidRequest, MethodNotFound, InvalidParams, InternalError
    │   ├── HeaderMismatch, MissingClientCapability, UnsupportedProtocolVersion   (2026-07-28)
    │   ├── SessionNotFound, ServerOverloaded, ResumeGap, RequestTooLarge         (transport)
    │   ├── StateUnavailable               the shared state store (Redis) is unreachable
    │   ├── WorkerStopped                  the worker running a request died
    │   └── RemoteError                    the peer answered our request with an error
    ├── TransportError
    │   ├── ConnectError                   could not reach the peer
    │   ├── ConnectionClosed               the connection ended while a request was pending
    │   └── RequestTimeout                 no response within the timeout
    └── UsageError                         a programming mistake (also a RuntimeError)

An ``RPCError`` carries its wire form: a JSON-RPC ``code`` and an ``http_status`` hint. The
dispatcher is the only place that turns exceptions into JSON-RPC errors, and the HTTP adapter
is the only place that turns the hint into a status code. Errors raised locally (timeouts,
closed connections) are never RPCErrors, so they cannot be mistaken for the peer's answer.
"""

from __future__ import annotations

from typing import Any

from . import jsonrpc

__all__ = [
    "ConnectError",
    "ConnectionClosed",
    "HeaderMismatch",
    "InsufficientScope",
    "InternalError",
    "InvalidParams",
    "InvalidRequest",
    "MCPError",
    "MethodNotFound",
    "MissingClientCapability",
    "ParseError",
    "RPCError",
    "RemoteError",
    "RequestTimeout",
    "RequestTooLarge",
    "ResumeGap",
    "ServerOverloaded",
    "SessionNotFound",
    "StateUnavailable",
    "TransportError",
    "Unauthorized",
    "UnsupportedProtocolVersion",
    "UsageError",
    "WorkerStopped",
    "error_for_code",
    "http_status_for",
]


class MCPError(Exception):
    """Root of every mcp_transport exception. ``status`` is the HTTP status of the response
    that carried the error to a client, if one did (era detection reads it)."""

    status: int | None = None


class RPCError(MCPError):
    """An error with a JSON-RPC wire form. Raise a subclass from a handler to answer with it."""

    code: int = jsonrpc.INTERNAL_ERROR
    http_status: int = 500

    def __init__(self, message: str, data: Any = None, *, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data
        if code is not None:
            self.code = code

    def to_error(self) -> jsonrpc.ErrorObject:
        return jsonrpc.ErrorObject(self.code, self.message, self.data)


class ParseError(RPCError):
    code, http_status = jsonrpc.PARSE_ERROR, 400


class InvalidRequest(RPCError):
    code, http_status = jsonrpc.INVALID_REQUEST, 400


class MethodNotFound(RPCError):
    code, http_status = jsonrpc.METHOD_NOT_FOUND, 404


class InvalidParams(RPCError):
    code, http_status = jsonrpc.INVALID_PARAMS, 400


class InternalError(RPCError):
    code, http_status = jsonrpc.INTERNAL_ERROR, 500


class HeaderMismatch(RPCError):
    code, http_status = jsonrpc.HEADER_MISMATCH, 400


class MissingClientCapability(RPCError):
    code, http_status = jsonrpc.MISSING_CLIENT_CAPABILITY, 400


class UnsupportedProtocolVersion(RPCError):
    code, http_status = jsonrpc.UNSUPPORTED_PROTOCOL_VERSION, 400


class SessionNotFound(RPCError):
    """The session id is unknown, expired or deleted: the client must re-initialize."""

    code, http_status = jsonrpc.SESSION_NOT_FOUND, 404


class ServerOverloaded(RPCError):
    """A bounded resource (the session cap) is full: retry after a while."""

    code, http_status = jsonrpc.SERVER_OVERLOADED, 503


class ResumeGap(RPCError):
    """A resume asked for events the bounded event log has already evicted."""

    code, http_status = jsonrpc.RESUME_GAP, 409


class RequestTooLarge(RPCError):
    code, http_status = jsonrpc.REQUEST_TOO_LARGE, 413


class StateUnavailable(RPCError):
    """The shared state store (Redis) did not answer: nothing was done, retry after
    ``retry_after`` seconds. Every Redis failure that means "unreachable" (refused, reset,
    timed out, loading, read-only replica, out of memory) surfaces as this one error."""

    code, http_status = jsonrpc.STATE_UNAVAILABLE, 503

    def __init__(self, message: str, data: Any = None, *, retry_after: float = 1.0) -> None:
        super().__init__(message, data)
        self.retry_after = retry_after


class WorkerStopped(RPCError):
    """The worker process running this request stopped (it was killed or lost its lease)
    before answering: the request's result will never come. Sent by a surviving worker as
    the final event of the request's stream; the session lives on, re-send the request."""

    code, http_status = jsonrpc.WORKER_STOPPED, 503
    MESSAGE = "the worker running this request stopped"


class Unauthorized(RPCError):
    """No valid access token: 401 with a ``WWW-Authenticate`` challenge (2026-07-28
    basic/authorization#error-handling)."""

    code, http_status = jsonrpc.UNAUTHORIZED, 401


class InsufficientScope(RPCError):
    """The token lacks scopes this request needs: 403 ``insufficient_scope`` (step-up, 2026-07-28
    basic/authorization#scope-challenge-handling). ``data.requiredScopes`` names them."""

    code, http_status = jsonrpc.INSUFFICIENT_SCOPE, 403


class RemoteError(RPCError):
    """The peer answered our request with a JSON-RPC error."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message, data, code=code)

    def __str__(self) -> str:
        return f"{self.message} (JSON-RPC error {self.code})"


class TransportError(MCPError):
    """The connection failed; no answer from the peer is available."""


class ConnectError(TransportError):
    """The peer could not be reached."""


class ConnectionClosed(TransportError):
    """The connection ended while the request was pending."""


class RequestTimeout(TransportError):
    """The peer did not answer within the timeout (the request was cancelled)."""


class UsageError(MCPError, RuntimeError):
    """The API was used wrongly (for example, a client used after close)."""


_BY_CODE: dict[int, type[RPCError]] = {
    cls.code: cls
    for cls in (
        ParseError,
        InvalidRequest,
        MethodNotFound,
        InvalidParams,
        InternalError,
        HeaderMismatch,
        MissingClientCapability,
        UnsupportedProtocolVersion,
        SessionNotFound,
        Unauthorized,
        InsufficientScope,
        ServerOverloaded,
        ResumeGap,
        RequestTooLarge,
        StateUnavailable,
        WorkerStopped,
    )
}


def error_for_code(code: int) -> type[RPCError]:
    """The RPCError class for a JSON-RPC code (InternalError's status for unknown codes)."""
    return _BY_CODE.get(code, RPCError)


def http_status_for(code: int) -> int:
    """The HTTP status of a 2026-07-28 response carrying JSON-RPC error ``code``
    (2026-07-28 basic/transports/streamable-http#protocol-version-header, #server-validation):
    the error class's 4xx (400 for -32700/-32600/-32602/-32020/-32021/-32022, 404 for -32601);
    200 for everything else (an internal error is still a JSON-RPC answer)."""
    status = _BY_CODE.get(code, RPCError).http_status
    return status if 400 <= status < 500 else 200
