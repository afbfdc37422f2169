"""Messages between workers: a per-worker inbox (a Redis Stream, so nothing sent while the
worker is busy is lost) and one broadcast channel (pub/sub: every worker listening at that
moment gets it, fire and forget)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from redis.asyncio.client import PubSub

from ..workers import worker_id
from ._connection import RedisConnection

__all__ = ["DEFAULT_INBOX_MAXLEN", "DEFAULT_INBOX_TTL", "Broadcast", "Inbox", "Subscription"]

# An inbox holds at most this many unread messages (the oldest are dropped: a worker that far
# behind is overloaded or dead) ...
DEFAULT_INBOX_MAXLEN = 10_000
# ... and disappears this many seconds after its last message (a dead worker's inbox).
DEFAULT_INBOX_TTL = 600.0


class Inbox:
    """Worker ``worker``'s inbox ``{prefix}inbox:{worker}``: ``send(to, data)`` writes to any
    worker's inbox, ``receive(timeout)`` reads this one's, in order, each message once."""

    def __init__(
        self,
        conn: RedisConnection,
        worker: str | None = None,
        *,
        maxlen: int = DEFAULT_INBOX_MAXLEN,
        ttl: float = DEFAULT_INBOX_TTL,
    ) -> None:
        self.conn = conn
        self.id = worker or worker_id()
        self.maxlen = maxlen
        self.ttl = ttl
        self._key = conn.key("inbox", self.id)
        self._cursor = b"0-0"  # a worker id is new with its process: its inbox starts empty

    async def send(self, to: str, data: bytes) -> None:
        """Append ``data`` to worker ``to``'s inbox (whether or not that worker is alive)."""
        key = self.conn.key("inbox", to)
        with self.conn.unavailable(f"sending to worker {to}"):
            async with self.conn.client.pipeline(transaction=False) as pipe:
                pipe.xadd(key, {"d": data}, maxlen=self.maxlen, approximate=False)
                pipe.pexpire(key, int(self.ttl * 1000))
                await pipe.execute()

    async def receive(self, timeout: float) -> list[bytes]:
        """The messages sent since the last call; waits up to ``timeout`` seconds (at most
        the connection's ``max_block``) for the first one. ``[]`` when none came."""
        block = int(min(timeout, self.conn.max_block) * 1000)
        with self.conn.unavailable("reading this worker's inbox"):
            async with self.conn.client.pipeline(transaction=False) as pipe:
                # Drop what the previous call returned, in the same round trip.
                pipe.xtrim(self._key, minid=self._cursor, approximate=False)
                pipe.xread({self._key: self._cursor}, block=block if block > 0 else None)
                _, read = await pipe.execute()
        if not read:
            return []
        entries = read[0][1]
        self._cursor = entries[-1][0]
        return [fields[b"d"] for _, fields in entries]


class Broadcast:
    """The cluster-wide channel ``{prefix}broadcast``: ``publish`` reaches every worker that
    listens (``async with broadcast.listen() as sub``) at that moment; nothing is kept.

    A listener also subscribes to ``{prefix}listening:{worker}``, where nothing is published:
    its subscriber count (``PUBSUB NUMSUB``) says, inside a script, whether worker ``worker``
    hears the broadcast at that moment. Redis drops the subscription as soon as the worker's
    connection closes (a killed process), long before its lease lapses.
    """

    def __init__(self, conn: RedisConnection, worker: str | None = None) -> None:
        self.conn = conn
        self.worker = worker or worker_id()
        self.channel = conn.key("broadcast")
        self._listening = conn.key("listening", self.worker)

    async def publish(self, data: bytes) -> int:
        """Send ``data`` to every listener; the number of Redis connections that got it."""
        with self.conn.unavailable("broadcasting"):
            return int(await self.conn.client.publish(self.channel, data))

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[Subscription]:
        pubsub = self.conn.client.pubsub(ignore_subscribe_messages=True)
        try:
            with self.conn.unavailable("subscribing to the broadcast channel"):
                await pubsub.subscribe(self.channel, self._listening)
            yield Subscription(self.conn, pubsub)
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped


class Subscription:
    """One listener on the broadcast channel. After a Redis outage (``receive`` raised
    StateUnavailable) the next ``receive`` reconnects and subscribes again; what was
    published meanwhile is not delivered."""

    def __init__(self, conn: RedisConnection, pubsub: PubSub) -> None:
        self.conn = conn
        self._pubsub = pubsub

    async def receive(self, timeout: float) -> bytes | None:
        """The next message, or None after ``timeout`` seconds (at most ``max_block``)."""
        deadline = anyio.current_time() + min(timeout, self.conn.max_block)
        while True:
            left = max(0.0, deadline - anyio.current_time())
            with self.conn.unavailable("listening on the broadcast channel"):
                message = await self._pubsub.get_message(timeout=left)
            if message is not None:
                data: bytes = message["data"]
                return data
            if left == 0.0:  # else it was a (re)subscribe confirmation, skipped: wait on
                return None
