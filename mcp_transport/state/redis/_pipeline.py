"""Automatic pipelining for the commands every request sends: all those issued in one
event-loop tick go out in one write on one connection, and the replies (parsed by hiredis)
are matched to their callers in order.

Why not redis-py for these: its per-command work (pool checkout, a timeout per read, command
packing, a socket write each) cost a worker more CPU than the rest of a ``tools/call``
(docs/performance.md, "Shared state on Redis"). Everything else still goes through redis-py.
A plain ``redis://`` or ``unix://`` URL only (TLS stays on redis-py: :func:`pipelined` says).

Failures surface as :class:`OSError` (ConnectionError, TimeoutError), which
``RedisConnection.unavailable`` maps to ``StateUnavailable``; the next command reconnects.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import hiredis
from redis.asyncio.connection import parse_url
from redis.exceptions import ResponseError

__all__ = ["Pipeline", "pipelined"]

# Commands waiting for their reply on the connection: at most this many (more wait their turn
# for room; each request has at most one in flight, so this is never reached in practice).
MAX_IN_FLIGHT = 10_000


def pipelined(url: str) -> bool:
    """Whether :class:`Pipeline` serves this URL (plain TCP or a Unix socket, no TLS)."""
    return url.startswith(("redis://", "unix://"))


class Pipeline:
    """One connection to the Redis at ``url``; commands answer within ``timeout`` seconds
    (else every waiting command fails with TimeoutError and the connection is dropped)."""

    def __init__(self, url: str, *, timeout: float) -> None:
        self._options = parse_url(url)
        self.timeout = timeout
        self._transport: asyncio.Transport | None = None
        self._connecting: asyncio.Future[None] | None = None
        self._reader = hiredis.Reader()
        self._waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._out: list[bytes] = []
        self._room = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._replies = 0  # replies so far: the watchdog's sign of progress
        self._watchdog: asyncio.TimerHandle | None = None

    async def call(self, *args: Any) -> Any:
        """Send one command (with the others of this tick); its reply. A Redis error reply
        raises redis-py's ResponseError."""
        async with self._room:
            if self._transport is None:
                await self._connect()
            reply = await self._send(_pack(args))
        if isinstance(reply, hiredis.ReplyError):
            raise ResponseError(str(reply))
        return reply

    async def evalsha(
        self, sha: str, source: str | bytes | memoryview, keys: list[Any], args: list[Any]
    ) -> Any:
        """EVALSHA, and EVAL once if Redis does not have the script (yet, or since a restart).
        Sent again once on a new connection if the connection was lost (Redis restarted, or
        closed it idle): for idempotent scripts only, as every pipelined one is."""
        try:
            try:
                return await self.call("EVALSHA", sha, len(keys), *keys, *args)
            except ConnectionError:
                return await self.call("EVALSHA", sha, len(keys), *keys, *args)
        except ResponseError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            return await self.call("EVAL", source, len(keys), *keys, *args)

    def close(self) -> None:
        """Drop the connection; whatever still waits fails (the next command reconnects)."""
        self._fail(ConnectionError("the connection to Redis was closed"))

    # -- the connection ------------------------------------------------------------------------

    async def _connect(self) -> None:
        if self._connecting is None:
            self._connecting = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(self._open(), self.timeout)
            except BaseException as exc:
                self.close()
                failed = exc if isinstance(exc, Exception) else ConnectionError("connecting was interrupted")
                self._connecting.set_exception(failed)
                self._connecting.exception()  # retrieved: the callers below get it
                raise
            else:
                self._connecting.set_result(None)
            finally:
                self._connecting = None
        else:
            await asyncio.shield(self._connecting)

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        options = self._options
        if "path" in options:
            transport, _ = await loop.create_unix_connection(lambda: _Protocol(self), options["path"])
        else:
            transport, _ = await loop.create_connection(
                lambda: _Protocol(self), options.get("host", "localhost"), options.get("port", 6379)
            )
        self._transport = transport
        if options.get("password") is not None:
            user = [options["username"]] if options.get("username") else []
            _refused(await self._send(_pack(["AUTH", *user, options["password"]])), "AUTH")
        if options.get("db"):
            _refused(await self._send(_pack(["SELECT", options["db"]])), "SELECT")

    def _send(self, packed: bytes) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        if self._transport is None:
            raise ConnectionError("the connection to Redis was lost")
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.append(future)
        if not self._out:
            loop.call_soon(self._flush)
        self._out.append(packed)
        return future

    def _flush(self) -> None:
        out, self._out = self._out, []
        if self._transport is None or not out:
            return  # lost meanwhile: its waiters have failed already
        self._transport.write(b"".join(out))
        if self._watchdog is None:
            self._watch(-1)

    def _watch(self, seen: int) -> None:
        """Drop the connection if something waits and no reply came for ``timeout`` s."""
        self._watchdog = None
        if not self._waiting or self._transport is None:
            return
        if self._replies == seen:
            self._fail(TimeoutError(f"Redis did not answer within {self.timeout:g} s"))
            return
        loop = asyncio.get_running_loop()
        self._watchdog = loop.call_later(self.timeout, self._watch, self._replies)

    def _received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            self._replies += 1
            future = self._waiting.popleft()
            if not future.done():  # its caller may have been cancelled
                future.set_result(reply)
        if not self._waiting and self._watchdog is not None:
            self._watchdog.cancel()  # nothing waits: the next command arms a fresh period
            self._watchdog = None

    def _fail(self, exc: Exception) -> None:
        transport, self._transport = self._transport, None
        self._reader = hiredis.Reader()
        self._out.clear()
        waiting, self._waiting = self._waiting, collections.deque()
        for future in waiting:
            if not future.done():
                future.set_exception(exc)
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if transport is not None:
            transport.abort()


class _Protocol(asyncio.Protocol):
    """Hands the owner what its current connection receives (a connection it already
    dropped and replaced is ignored)."""

    def __init__(self, owner: Pipeline) -> None:
        self.owner = owner
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.transport is not self.owner._transport:
            return
        try:
            self.owner._received(data)
        except Exception as exc:  # a reply hiredis cannot parse, or more replies than asked
            self.owner._fail(ConnectionError(f"unexpected data from Redis: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is self.owner._transport:
            self.owner._fail(ConnectionError(f"the connection to Redis was lost: {exc or 'closed by Redis'}"))


def _refused(reply: Any, command: str) -> None:
    if isinstance(reply, hiredis.ReplyError):
        raise ConnectionError(f"Redis refused {command}: {reply}")


def _pack(args: Any) -> bytes:
    """A command in RESP: ``*n`` then each argument as a bulk string."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, int | float):
            arg = repr(arg).encode()
        elif not isinstance(arg, bytes):
            arg = bytes(arg)
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)
