"""Shared state on Redis (7.x or Valkey): several workers, on several hosts, one deployment.

Install the extra: ``pip install 'mcp-transport[redis]'``. Every key starts with the
connection's prefix (several deployments can share one Redis); docs/deployment.md lists the
keys, their TTLs and bounds. A single Redis primary is assumed (the Lua scripts touch keys
they compute, which Redis Cluster does not allow). Redis being unreachable surfaces as
:class:`~mcp_transport.errors.StateUnavailable` and nothing else.
"""

try:
    import redis.asyncio  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("mcp_transport.state.redis needs redis-py: pip install 'mcp-transport[redis]'") from exc

from ._cluster import RedisCluster
from ._connection import DEFAULT_PREFIX, RedisConnection
from ._events import RedisEventLog
from ._messaging import Broadcast, Inbox
from ._registry import WorkerRegistry
from ._sessions import RedisSessionStore
from ._tasks import RedisTaskStore as RedisTaskStore  # exported (kept out of __all__: one line to merge)

__all__ = [
    "DEFAULT_PREFIX",
    "Broadcast",
    "Inbox",
    "RedisCluster",
    "RedisConnection",
    "RedisEventLog",
    "RedisSessionStore",
    "WorkerRegistry",
]
