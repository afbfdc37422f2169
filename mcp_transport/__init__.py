"""mcp_transport: the Model Context Protocol over Streamable HTTP and stdio.

async with Client("http://127.0.0.1:8000/mcp") as client:
    result = await client.call_tool("add", {"a": 1, "b": 2})
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Names resolve on first use (PEP 562): ``mcp-transport --help`` must start in well under
# 300 ms, and the client and server stacks (httpx, pydantic, jsonrpcserver) cost more than
# that to import. ``from mcp_transport import Client`` works exactly as an eager import would.
if TYPE_CHECKING:
    from .client import ChannelState, Client, ReconnectPolicy, StreamGap
    from .errors import (
        ConnectError,
        ConnectionClosed,
        HeaderMismatch,
        InternalError,
        InvalidParams,
        InvalidRequest,
        MCPError,
        MethodNotFound,
        MissingClientCapability,
        ParseError,
        RemoteError,
        RequestTimeout,
        RequestTooLarge,
        ResumeGap,
        RPCError,
        ServerOverloaded,
        SessionNotFound,
        StateUnavailable,
        TransportError,
        UnsupportedProtocolVersion,
        UsageError,
        WorkerStopped,
    )
    from .server import Context, MCPServer

__version__ = "0.1.0"

_HOME = {
    **dict.fromkeys(("ChannelState", "Client", "ReconnectPolicy", "StreamGap"), ".client"),
    **dict.fromkeys(("Context", "MCPServer"), ".server"),
}

__all__ = [
    "ChannelState",
    "Client",
    "ConnectError",
    "ConnectionClosed",
    "Context",
    "HeaderMismatch",
    "InternalError",
    "InvalidParams",
    "InvalidRequest",
    "MCPError",
    "MCPServer",
    "MethodNotFound",
    "MissingClientCapability",
    "ParseError",
    "RPCError",
    "ReconnectPolicy",
    "RemoteError",
    "RequestTimeout",
    "RequestTooLarge",
    "ResumeGap",
    "ServerOverloaded",
    "SessionNotFound",
    "StateUnavailable",
    "StreamGap",
    "TransportError",
    "UnsupportedProtocolVersion",
    "UsageError",
    "WorkerStopped",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'mcp_transport' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME.get(name, ".errors"), __name__), name)
    globals()[name] = value  # once resolved, a plain module attribute
    return value


def __dir__() -> list[str]:
    # The public names and the module's dunders; not the helpers this file imports.
    return sorted([*(name for name in globals() if name.startswith("__")), *__all__])
