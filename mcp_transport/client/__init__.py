"""The client side: ``Client``, its transports and their policies."""

from .client import DEFAULT_TIMEOUT, Client, ClientState, NotificationCallback
from .handlers import RequestHandler, apply_schema_defaults
from .reconnect import ChannelState, ReconnectPolicy
from .transport import StreamLost, Transport

__all__ = [
    "DEFAULT_TIMEOUT",
    "ChannelState",
    "Client",
    "ClientState",
    "NotificationCallback",
    "ReconnectPolicy",
    "RequestHandler",
    "StreamLost",
    "Transport",
    "apply_schema_defaults",
]
