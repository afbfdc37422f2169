"""One Redis client per worker, the deployment's key prefix, and the single place where
redis-py's failures become :class:`~mcp_transport.errors.StateUnavailable`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
import redis.exceptions as rex
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.commands.core import AsyncScript

from ...errors import StateUnavailable
from ._pipeline import Pipeline, pipelined

__all__ = ["DEFAULT_PREFIX", "DEFAULT_SOCKET_TIMEOUT", "RedisConnection"]

DEFAULT_PREFIX = "mcp:"
# A command that gets no answer within this many seconds fails (StateUnavailable). Blocking
# reads block for less (see MAX_BLOCK), so a silent network loss is noticed as fast.
DEFAULT_SOCKET_TIMEOUT = 5.0
MAX_BLOCK = 4.0
# Seconds a client is told to wait before retrying after StateUnavailable (Retry-After).
DEFAULT_RETRY_AFTER = 1.0

# "Redis cannot serve us right now", as opposed to a bug in our commands (a ResponseError
# such as WRONGTYPE, which stays an error). Order does not matter: all map to one error.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    rex.ConnectionError,  # refused, reset, DNS, also BusyLoadingError and MaxConnectionsError
    rex.TimeoutError,
    rex.ReadOnlyError,  # we reached a replica (failover in progress)
    rex.MasterDownError,
    rex.TryAgainError,
    rex.ClusterDownError,
    rex.OutOfMemoryError,  # maxmemory reached with noeviction: refuse, never lose silently
    OSError,
)


class RedisConnection:
    """A redis-py asyncio client (its own connection pool) and the key prefix.

    ``url`` is ``redis://[user:password@]host:port/db`` (``rediss://`` for TLS). ``prefix``
    starts every key, so several servers can share one Redis. Commands go through
    ``unavailable()`` so that an unreachable Redis raises ``StateUnavailable``.

    :meth:`run` is for the scripts every request runs: pipelined on a connection of their
    own (``_pipeline.py``) unless the URL is TLS.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        socket_timeout: float = DEFAULT_SOCKET_TIMEOUT,
        retry_after: float = DEFAULT_RETRY_AFTER,
    ) -> None:
        if not prefix:
            raise ValueError("the key prefix must not be empty (it keeps deployments apart)")
        parts = urlsplit(url)
        self.where = f"{parts.hostname}:{parts.port or 6379}{parts.path}"  # no credentials
        self.prefix = prefix
        self.retry_after = retry_after
        self.max_block = min(MAX_BLOCK, socket_timeout * 0.8)
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            # One quick retry on a fresh connection: a pooled connection that Redis closed
            # (restart, idle timeout) must not cost a request; a down Redis fails fast.
            retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 1),
            health_check_interval=30,
        )
        self.pipeline = Pipeline(url, timeout=socket_timeout) if pipelined(url) else None

    async def run(self, script: AsyncScript, keys: list[Any], args: list[Any]) -> Any:
        """Run a registered script (the caller maps failures with ``unavailable()``)."""
        if self.pipeline is None:
            return await script(keys=keys, args=args)
        return await self.pipeline.evalsha(script.sha, script.script, keys, args)

    def key(self, *parts: str) -> str:
        """``prefix + "part:part"``."""
        return self.prefix + ":".join(parts)

    @contextmanager
    def unavailable(self, doing: str) -> Iterator[None]:
        """Map "Redis cannot answer" to StateUnavailable, naming what we were ``doing``."""
        try:
            yield
        except _UNAVAILABLE as exc:
            raise StateUnavailable(
                f"The shared state store (Redis at {self.where}) is unavailable while {doing}: "
                f"{exc.__class__.__name__}: {exc}; retry in {self.retry_after:g} s",
                {"retryAfter": self.retry_after},
                retry_after=self.retry_after,
            ) from exc

    async def aclose(self) -> None:
        if self.pipeline is not None:
            self.pipeline.close()
        await self.client.aclose()
