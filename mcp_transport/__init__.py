"""mcp_transport: the Model Context Protocol over Streamable HTTP and stdio.

async with Client("http://127.0.0.1:8000/mcp") as client:
    result = await client.call_tool("add", {"a": 1, "b": 2})
"""

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
)
from .server import Context, MCPServer

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
]
