"""Which worker writes which POST stream, so that a survivor can end the streams of a
worker that died: a hash ``{prefix}writing:{worker}``, stream id -> the JSON-RPC id of the
request whose answer that stream carries."""

from __future__ import annotations

from typing import Any

import orjson

from ..workers import worker_id
from ._connection import RedisConnection

__all__ = ["StreamWriters"]


class StreamWriters:
    """This worker's entries (``start`` / ``stop``) and a dead worker's (``orphans``). The
    hash has no TTL: it holds one field per POST stream being answered on the worker (the
    worker's ``max_inbound`` times its sessions at most) and goes with ``orphans``."""

    def __init__(self, conn: RedisConnection, worker: str | None = None) -> None:
        self.conn = conn
        self.id = worker or worker_id()
        self._key = conn.key("writing", self.id)

    async def start(self, stream_id: str, request_id: Any) -> None:
        """This worker now answers ``request_id`` on ``stream_id``."""
        with self.conn.unavailable(f"registering the writer of stream {stream_id}"):
            await self.conn.client.hset(self._key, stream_id, orjson.dumps(request_id))

    async def stop(self, stream_id: str) -> None:
        """The stream got its final event (or was closed): nothing to end if we die."""
        with self.conn.unavailable(f"unregistering the writer of stream {stream_id}"):
            await self.conn.client.hdel(self._key, stream_id)

    async def orphans(self, dead: str) -> list[tuple[str, Any]]:
        """The streams worker ``dead`` was answering, with their request ids; the entries
        are removed in the same step (one survivor ends each stream)."""
        key = self.conn.key("writing", dead)
        with self.conn.unavailable(f"collecting the streams of dead worker {dead}"):
            async with self.conn.client.pipeline(transaction=True) as pipe:
                pipe.hgetall(key)
                pipe.delete(key)
                found, _ = await pipe.execute()
        return [(stream.decode(), orjson.loads(request_id)) for stream, request_id in found.items()]
