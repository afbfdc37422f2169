"""The client side: ``Client`` and the parts it is composed of. Its transports live with the
other transports, in :mod:`mcp_transport.transports`."""

from ..skill_files import SkillVerificationError
from ..transports.contract import ChannelState, StreamLost
from ..transports.http_client.reconnect import ReconnectPolicy, StreamGap
from .answers import RequestHandler, apply_schema_defaults
from .client import DEFAULT_TIMEOUT, Client, ClientState, NotificationCallback
from .era import ERA_CACHE, EraCache
from .inputs import InputRequiredError
from .listen import Subscription
from .tasks import TaskCancelled, ToolTask
from .transport import Transport

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
    "SkillVerificationError",
    "StreamGap",
    "StreamLost",
    "Subscription",
    "TaskCancelled",
    "ToolTask",
    "Transport",
    "apply_schema_defaults",
]
