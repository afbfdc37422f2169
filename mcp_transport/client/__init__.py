"""The client side: ``Client``, its transports and their policies."""

from .client import DEFAULT_TIMEOUT, Client, ClientState, InputRequiredError, NotificationCallback
from .era import ERA_CACHE, EraCache
from .handlers import RequestHandler, apply_schema_defaults
from .reconnect import ChannelState, ReconnectPolicy, StreamGap
from .subscriptions import Subscription
from .transport import StreamLost, Transport

__all__ = [
    "DEFAULT_TIMEOUT",
    "ERA_CACHE",
    "ChannelState",
    "Client",
    "ClientState",
    "EraCache",
    "InputRequiredError",
    "NotificationCallback",
    "ReconnectPolicy",
    "RequestHandler",
    "StreamGap",
    "StreamLost",
    "Subscription",
    "Transport",
    "apply_schema_defaults",
]
