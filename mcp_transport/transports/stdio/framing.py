"""stdio framing: newline-delimited JSON (2025-11-25 basic/transports#stdio), shared by the
server loop (:mod:`.server`) and the client's server process (:mod:`.process`).

:class:`LineBuffer` is sans-IO; :func:`pump_lines` and :class:`LineWriter` move its lines
between byte streams. Logs go to stderr, never stdout.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

import anyio
from anyio.abc import ByteReceiveStream, ByteSendStream

from ... import jsonrpc
from ...errors import ConnectionClosed
from ...jsonrpc import ErrorObject, ErrorResponse, Message

__all__ = [
    "MAX_LINE_BYTES",
    "FdReceiveStream",
    "FdSendStream",
    "LineBuffer",
    "LineWriter",
    "Oversized",
    "oversized_error",
    "pump_lines",
]

# One message per line, at most this long. Matches the default HTTP body limit, so a message
# that fits one transport fits the other.
MAX_LINE_BYTES = 4 * 1024 * 1024
_READ_CHUNK = 65536


class Oversized:
    """Marker yielded by LineBuffer in place of a line that exceeded the limit."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size


class LineBuffer:
    """Split a byte stream into lines, bounded: a line longer than ``max_bytes`` is dropped
    (reported as :class:`Oversized`) without ever being held in memory whole."""

    __slots__ = ("_buffer", "_discarding", "max_bytes")

    def __init__(self, max_bytes: int = MAX_LINE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._buffer = bytearray()
        self._discarding = 0  # bytes dropped so far of an oversized line, 0 when not dropping

    def feed(self, data: bytes) -> list[bytes | Oversized]:
        out: list[bytes | Oversized] = []
        start = 0
        while True:
            nl = data.find(b"\n", start)
            if nl < 0:
                self._append(data[start:])
                return out
            if self._discarding:
                out.append(Oversized(self._discarding + nl - start))
                self._discarding = 0
            elif len(self._buffer) + nl - start > self.max_bytes:
                out.append(Oversized(len(self._buffer) + nl - start))
                self._buffer.clear()
            else:
                self._buffer += data[start:nl]
                line = bytes(self._buffer).rstrip(b"\r")
                self._buffer.clear()
                if line.strip():
                    out.append(line)
            start = nl + 1

    def flush(self) -> bytes | Oversized | None:
        """At end of input: the last line if it had no newline (None when there is none).
        The spec delimits messages by newlines (2025-11-25 basic/transports#stdio), but a
        complete message cut only by EOF (``printf '{...}' | server``) is answered rather
        than dropped without a word."""
        if self._discarding:
            item: bytes | Oversized | None = Oversized(self._discarding)
        else:
            line = bytes(self._buffer).rstrip(b"\r")
            item = line if line.strip() else None
        self._buffer.clear()
        self._discarding = 0
        return item

    def _append(self, tail: bytes) -> None:
        if self._discarding:
            self._discarding += len(tail)
        elif len(self._buffer) + len(tail) > self.max_bytes:
            self._discarding = len(self._buffer) + len(tail)
            self._buffer.clear()
        else:
            self._buffer += tail


def oversized_error(item: Oversized, limit: int) -> ErrorResponse:
    return ErrorResponse(
        None,
        ErrorObject(
            jsonrpc.REQUEST_TOO_LARGE,
            f"Message too large: a line of {item.size} bytes exceeds the {limit}-byte limit; "
            "send smaller messages",
        ),
    )


class LineWriter:
    """Serialized writes of one message per line; a failed write closes the connection.

    A line the output takes whole at once (the usual case: a pipe with room) is written
    without awaiting anything, so an answer costs no extra turn of the event loop; only
    the rest of a line the pipe could not take is written under the lock, which later
    writers then queue behind, so lines never interleave."""

    __slots__ = ("_lock", "_stream", "broken")

    def __init__(self, stream: ByteSendStream) -> None:
        self._stream = stream
        self._lock = anyio.Lock(fast_acquire=True)
        self.broken = False

    async def write(self, message: Message) -> None:
        await self.write_line(jsonrpc.dump(message) + b"\n")

    async def write_line(self, data: bytes) -> None:
        if self.broken:
            raise ConnectionClosed("the output pipe is closed")
        stream = self._stream
        try:
            if isinstance(stream, FdSendStream) and not self._lock.locked():
                written = stream.send_nowait(data)
                if written == len(data):
                    return
                data = data[written:]  # no await since the write: nobody got in between
            async with self._lock:
                await stream.send(data)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            self.broken = True
            raise ConnectionClosed(f"the output pipe is closed: {exc}") from exc


async def pump_lines(
    stream: ByteReceiveStream,
    on_message: Callable[[bytes], Awaitable[None]],
    on_oversized: Callable[[Oversized], Awaitable[None]],
    max_bytes: int = MAX_LINE_BYTES,
) -> None:
    """Read ``stream`` to EOF, handing each line to ``on_message`` (the last one even
    without its newline)."""
    buffer = LineBuffer(max_bytes)

    async def deliver(items: list[bytes | Oversized]) -> None:
        for item in items:
            if isinstance(item, Oversized):
                await on_oversized(item)
            else:
                await on_message(item)

    try:
        async for chunk in stream:
            await deliver(buffer.feed(chunk))
    except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
        pass
    last = buffer.flush()
    if last is not None:
        await deliver([last])


class FdReceiveStream(ByteReceiveStream):
    """Non-blocking reads from a file descriptor without a thread per read.

    On asyncio the descriptor stays registered with the loop between reads, so a read that
    waits costs one wake-up, not a registration and a removal every message (anyio's
    ``wait_readable``); it unregisters only when input comes while nobody waits for it."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        os.set_blocking(fd, False)
        self._loop: asyncio.AbstractEventLoop | None = None  # set while registered
        self._readable: asyncio.Future[None] | None = None

    async def receive(self, max_bytes: int = _READ_CHUNK) -> bytes:
        while True:
            try:
                data = os.read(self._fd, max_bytes)
            except BlockingIOError:
                await self._wait_readable()
                continue
            if not data:
                raise anyio.EndOfStream
            return data

    async def _wait_readable(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # another anyio backend (trio)
            await anyio.wait_readable(self._fd)
            return
        if self._loop is not loop:
            self._unregister()
            loop.add_reader(self._fd, self._on_readable)
            self._loop = loop
        self._readable = loop.create_future()
        try:
            await self._readable
        finally:
            self._readable = None

    def _on_readable(self) -> None:
        waiter = self._readable
        if waiter is None or waiter.done():
            self._unregister()  # input while nobody waits: stop the loop from calling again
        else:
            waiter.set_result(None)

    def _unregister(self) -> None:
        if self._loop is not None:
            if not self._loop.is_closed():
                self._loop.remove_reader(self._fd)
            self._loop = None

    async def aclose(self) -> None:
        self._unregister()


class FdSendStream(ByteSendStream):
    def __init__(self, fd: int) -> None:
        self._fd = fd
        os.set_blocking(fd, False)

    def send_nowait(self, item: bytes) -> int:
        """Write what the descriptor takes now; the number of bytes written."""
        try:
            return os.write(self._fd, item)
        except BlockingIOError:
            return 0

    async def send(self, item: bytes) -> None:
        view = memoryview(item)
        while view:
            try:
                written = os.write(self._fd, view)
            except BlockingIOError:
                await anyio.wait_writable(self._fd)
                continue
            view = view[written:]

    async def aclose(self) -> None:
        pass
