"""The client transport seam: what ``Client`` needs from a transport, and how a ``Client``
target (URL, command list, transport object) becomes one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from anyio.abc import TaskGroup

from ..errors import ConnectionClosed
from ..jsonrpc import Message, RequestId

if TYPE_CHECKING:
    import httpx

    from .reconnect import ReconnectPolicy, StreamGapCallback

__all__ = ["HTTPOptions", "StreamLost", "Transport", "transport_for"]


class StreamLost(ConnectionClosed):
    """A 2026-07-28 request's response stream ended before its response. The request is
    lost (modern streams do not resume); ``Client`` sends it again once, with a new id."""


class Transport(Protocol):
    """A client transport (``StdioProcess``, ``HTTPTransport``, or your own).

    ``start`` begins delivering every message from the server to ``receive`` (running its
    readers in ``task_group``) and calls ``on_closed(reason)`` if the connection ends;
    ``send`` delivers one message (``related_to`` is the server request it answers, if
    any); ``close`` shuts down, bounded in time.
    """

    async def start(
        self,
        receive: Callable[[Message], Awaitable[None]],
        task_group: TaskGroup,
        on_closed: Callable[[str], None],
    ) -> None: ...

    async def send(self, message: Message, related_to: RequestId | None = None) -> None: ...

    async def close(self) -> None: ...


class HTTPOptions(TypedDict, total=False):
    """The ``Client`` options that go to an :class:`~mcp_transport.client.http.HTTPTransport`."""

    headers: Mapping[str, str] | None
    auth: httpx.Auth | None
    http_client: httpx.AsyncClient | None
    reconnect: ReconnectPolicy | None
    on_stream_gap: StreamGapCallback | None


def transport_for(
    target: Any, http: HTTPOptions, *, env: Mapping[str, str] | None = None, cwd: str | None = None
) -> Transport:
    """An http(s) URL -> HTTPTransport (with ``http``); a command list -> StdioProcess; a
    transport as is."""
    if isinstance(target, str):
        if not target.startswith(("http://", "https://")):
            raise ValueError(
                f"{target!r} is not an http(s) URL; pass a stdio command as a list, "
                "e.g. ['python', 'server.py']"
            )
        from .http import HTTPTransport  # httpx is imported only when HTTP is used

        return HTTPTransport(target, **http)
    if isinstance(target, Sequence):
        from ..transports.stdio import StdioProcess

        return StdioProcess(
            [str(part) for part in target], env=dict(env) if env is not None else None, cwd=cwd
        )
    if all(hasattr(target, name) for name in ("start", "send", "close")):
        return target  # type: ignore[no-any-return]
    raise TypeError(
        f"Client target must be a URL, a command list or a transport, not {type(target).__name__}"
    )
