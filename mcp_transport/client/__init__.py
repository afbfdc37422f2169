"""The client side: ``Client`` and its transports' policies."""

from .client import DEFAULT_TIMEOUT, Client, ClientState, Transport, apply_schema_defaults
from .reconnect import ChannelState, ReconnectPolicy

__all__ = [
    "DEFAULT_TIMEOUT",
    "ChannelState",
    "Client",
    "ClientState",
    "ReconnectPolicy",
    "Transport",
    "apply_schema_defaults",
]
