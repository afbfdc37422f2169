"""httpx's exceptions and HTTP error statuses, as mcp_transport errors: the one mapping."""

from __future__ import annotations

import httpx

from ... import jsonrpc
from ...errors import (
    ConnectError,
    ConnectionClosed,
    MCPError,
    RemoteError,
    RequestTimeout,
    ResumeGap,
    SessionNotFound,
    TransportError,
)
from ...jsonrpc import ErrorResponse, InvalidMessage

__all__ = ["map_httpx_error", "status_error"]


def map_httpx_error(exc: httpx.HTTPError, what: str = "") -> MCPError:
    """The one place an httpx exception becomes ours (most specific match wins)."""
    prefix = f"{what}: " if what else ""
    text = f"{prefix}{type(exc).__name__}: {exc}" if str(exc) else f"{prefix}{type(exc).__name__}"
    for httpx_type, ours in _HTTPX_ERRORS:
        if isinstance(exc, httpx_type):
            return ours(text)
    return TransportError(text)


_HTTPX_ERRORS: tuple[tuple[type[httpx.HTTPError], type[MCPError]], ...] = (
    (httpx.ConnectTimeout, ConnectError),
    (httpx.PoolTimeout, ConnectError),
    (httpx.TimeoutException, RequestTimeout),  # read/write: no answer in time
    (httpx.ConnectError, ConnectError),
    (httpx.ProxyError, ConnectError),
    (httpx.UnsupportedProtocol, ConnectError),
    (httpx.ReadError, ConnectionClosed),
    (httpx.WriteError, ConnectionClosed),
    (httpx.CloseError, ConnectionClosed),
    (httpx.RemoteProtocolError, ConnectionClosed),  # e.g. the server died mid-response
)


def status_error(response: httpx.Response, what: str, url: str, session_id: str | None) -> MCPError:
    """An HTTP error status as our error: the JSON-RPC error in the body when there is
    one (the server's own words), else a TransportError naming the status. The error's
    ``status`` attribute is the HTTP status (era detection reads it)."""
    error = _status_error(response, what, url, session_id)
    error.status = response.status_code
    return error


def _status_error(response: httpx.Response, what: str, url: str, session_id: str | None) -> MCPError:
    status = response.status_code
    try:
        parsed = jsonrpc.parse(response.content)
    except (InvalidMessage, httpx.ResponseNotRead):
        parsed = None
    if isinstance(parsed, ErrorResponse):
        if status == 404 and session_id is not None:
            return SessionNotFound(f"{what}: {parsed.error.message}", parsed.error.data)
        if parsed.error.code == ResumeGap.code:  # the resume cursor's events were evicted
            return ResumeGap(f"{what}: {parsed.error.message}", parsed.error.data)
        return RemoteError(parsed.error.code, parsed.error.message, parsed.error.data)
    if status == 404 and session_id is not None:
        return SessionNotFound(f"{what}: HTTP 404: the server does not know session {session_id!r}")
    if status == 202:
        return TransportError(f"{what}: the server answered 202 Accepted to a request; no response will come")
    snippet = response.content[:200].decode("utf-8", "replace") if response.content else ""
    hint = ""
    if status == 401:
        hint = (
            f" (authentication required: {response.headers.get('www-authenticate', 'no WWW-Authenticate')})"
        )
    return TransportError(
        f"{what}: HTTP {status} {response.reason_phrase} from {url}{hint} {snippet}".rstrip()
    )
