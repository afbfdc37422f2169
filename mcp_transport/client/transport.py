"""How a ``Client`` target (URL, command list, transport object) becomes a transport that
keeps the contract of :mod:`mcp_transport.transports.contract`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from ..transports.contract import Adapted, ClientTransport, MessageTransport, StreamLost
from ..transports.stdio import StdioProcess

if TYPE_CHECKING:
    import httpx

    from ..transports.http_client.reconnect import ReconnectPolicy, StreamGapCallback

__all__ = ["HTTPOptions", "StreamLost", "Transport", "transport_for"]

Transport = ClientTransport
"""What ``Client`` needs of a transport (``StdioProcess``, ``HTTPTransport``, or your own)."""


class HTTPOptions(TypedDict, total=False):
    """The ``Client`` options that go to an
    :class:`~mcp_transport.transports.http_client.streamable.HTTPTransport`."""

    headers: Mapping[str, str] | None
    auth: httpx.Auth | None
    http_client: httpx.AsyncClient | None
    reconnect: ReconnectPolicy | None
    on_stream_gap: StreamGapCallback | None


def transport_for(
    target: Any, http: HTTPOptions, *, env: Mapping[str, str] | None = None, cwd: str | None = None
) -> ClientTransport:
    """An http(s) URL -> HTTPTransport (with ``http``); a command list -> StdioProcess; a
    transport as is (one with only start/send/close gets the contract's defaults)."""
    if isinstance(target, str):
        if not target.startswith(("http://", "https://")):
            raise ValueError(
                f"{target!r} is not an http(s) URL; pass a stdio command as a list, "
                "e.g. ['python', 'server.py']"
            )
        # httpx is imported only when HTTP is used: a stdio client starts faster without it.
        from ..transports.http_client.streamable import HTTPTransport

        return HTTPTransport(target, **http)
    if isinstance(target, Sequence):
        return StdioProcess(
            [str(part) for part in target], env=dict(env) if env is not None else None, cwd=cwd
        )
    if isinstance(target, ClientTransport):
        return target
    if isinstance(target, MessageTransport):
        return Adapted(target)
    raise TypeError(
        f"Client target must be a URL, a command list or a transport, not {type(target).__name__}"
    )
