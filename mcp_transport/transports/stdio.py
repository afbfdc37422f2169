"""stdio transport: newline-delimited JSON on stdin/stdout (digest §3), both sides.

Framing is a sans-IO :class:`LineBuffer`; the server loop and the client process adapter
only move bytes between pipes and the dispatcher. Logs go to stderr, never stdout.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import anyio
from anyio.abc import ByteReceiveStream, ByteSendStream, Process, TaskGroup

from .. import jsonrpc
from ..dispatcher import DEFAULT_MAX_INBOUND_REQUESTS
from ..errors import ConnectError, ConnectionClosed
from ..jsonrpc import ErrorObject, ErrorResponse, InvalidMessage, Message, RequestId, Response
from ..protocol import allows_batch
from .contract import TransportDefaults

if TYPE_CHECKING:
    from ..server.mcpserver import MCPServer

__all__ = ["MAX_LINE_BYTES", "LineBuffer", "StdioProcess", "serve_stdio"]

log = logging.getLogger("mcp_transport.stdio")

# One message per line, at most this long. Matches the default HTTP body limit, so a message
# that fits one transport fits the other.
MAX_LINE_BYTES = 4 * 1024 * 1024
_READ_CHUNK = 65536
# After stdin closes, requests already read get this long to finish before the server exits.
EOF_GRACE_SECONDS = 5.0


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
            f"Message too large: a line of {item.size} bytes exceeds the {limit}-byte limit; send smaller messages",
        ),
    )


class _LineWriter:
    """Serialized writes of one message per line; a failed write closes the connection."""

    __slots__ = ("_lock", "_stream", "broken")

    def __init__(self, stream: ByteSendStream) -> None:
        self._stream = stream
        self._lock = anyio.Lock()
        self.broken = False

    async def write(self, message: Message) -> None:
        await self.write_line(jsonrpc.dump(message) + b"\n")

    async def write_line(self, data: bytes) -> None:
        if self.broken:
            raise ConnectionClosed("the output pipe is closed")
        async with self._lock:
            try:
                await self._stream.send(data)
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


async def serve_stdio(
    server: MCPServer,
    stdin: ByteReceiveStream | None = None,
    stdout: ByteSendStream | None = None,
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_concurrent_requests: int = DEFAULT_MAX_INBOUND_REQUESTS,
) -> None:
    """Serve ``server`` on stdin/stdout (or the given streams) until input ends.

    A malformed line gets a -32700/-32600 error with a null id and the loop goes on; an
    oversized line gets a clear error; a request past ``max_concurrent_requests`` running at
    once gets -32010 (retry later). Nothing the client sends and no handler failure ends the
    server: only EOF on stdin (or a closed stdout) does. Both eras are served: a request with
    the 2026-07-28 envelope is answered statelessly (``server/discover`` included;
    ``subscriptions/listen`` notifications are tagged with their subscription id and
    ``notifications/cancelled`` ends a listen), anything else goes through initialize.
    """
    from ..server.context import ServerConnection

    in_stream = stdin if stdin is not None else _FdReceiveStream(sys.stdin.buffer.fileno())
    out_stream = stdout if stdout is not None else _FdSendStream(sys.stdout.buffer.fileno())
    writer = _LineWriter(out_stream)
    connection = ServerConnection()
    connection.send_unrelated = writer.write
    server.attach(connection)

    async def send(message: Message, related_to: RequestId | None) -> None:
        await writer.write(message)

    async with anyio.create_task_group() as tg:
        dispatcher = server.dispatcher(send, tg, connection, max_inbound=max_concurrent_requests)

        async def write_batch(responses: list[Response]) -> None:
            await writer.write_line(jsonrpc.dump_many(responses) + b"\n")

        async def on_line(line: bytes) -> None:
            version = connection.state.protocol_version if connection.state else None
            try:
                parsed = jsonrpc.parse(line, allow_batch=allows_batch(version))
            except InvalidMessage as exc:
                await writer.write(exc.to_response())
                return
            if isinstance(parsed, list):
                await dispatcher.receive_batch(parsed, write_batch)
            else:
                await dispatcher.receive(parsed)

        async def on_oversized(item: Oversized) -> None:
            await writer.write(oversized_error(item, max_line_bytes))

        try:
            await pump_lines(in_stream, on_line, on_oversized, max_line_bytes)
        except ConnectionClosed:
            pass
        # stdin closed: the client is done with us (digest §3.2). Listen streams end with
        # their result; requests already read still get their answers, within a short grace
        # period; then stop.
        server.close_subscriptions(connection)
        with anyio.move_on_after(EOF_GRACE_SECONDS):
            while dispatcher.in_flight:
                await anyio.sleep(0.01)
        dispatcher.close("stdin closed")
        server.detach(connection)
        tg.cancel_scope.cancel()


class StdioProcess(TransportDefaults):
    """The client side: a server subprocess speaking NDJSON on its stdin/stdout. One pipe
    carries everything: no session, version header or second channel (the contract's
    defaults, :class:`~mcp_transport.transports.contract.TransportDefaults`).

    ``close()`` follows digest §3.2: close the server's stdin, wait, SIGTERM, wait, SIGKILL,
    each step bounded. The server's stderr is forwarded to our logger (or a callback).
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        on_stderr: Callable[[bytes], None] | None = None,
        exit_timeout: float = 2.0,
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> None:
        if not command:
            raise ValueError("command must name the server program")
        self.command = list(command)
        self.env = env
        self.cwd = cwd
        self.on_stderr = on_stderr
        self.exit_timeout = exit_timeout
        self.max_line_bytes = max_line_bytes
        self._process: Process | None = None
        self._writer: _LineWriter | None = None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode if self._process else None

    async def start(self, receive: Callable[[Message], Awaitable[None]], task_group: TaskGroup, on_closed: Callable[[str], None]) -> None:
        """Spawn the process and start reading its output into ``receive``."""
        env = {**os.environ, **self.env} if self.env is not None else None
        try:
            self._process = await anyio.open_process(
                self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=self.cwd
            )
        except OSError as exc:
            raise ConnectError(f"could not start {self.command[0]!r}: {exc}") from exc
        process = self._process
        assert process.stdin and process.stdout and process.stderr
        self._writer = _LineWriter(process.stdin)

        async def on_line(line: bytes) -> None:
            try:
                parsed = jsonrpc.parse(line, allow_batch=True)
            except InvalidMessage as exc:
                log.warning("ignoring invalid line from the server: %s", exc.message)
                return
            for message in parsed if isinstance(parsed, list) else [parsed]:
                await receive(message)

        async def on_oversized(item: Oversized) -> None:
            log.warning("ignoring a %d-byte line from the server (limit %d)", item.size, self.max_line_bytes)

        async def read_stdout() -> None:
            await pump_lines(process.stdout, on_line, on_oversized, self.max_line_bytes)  # type: ignore[arg-type]
            on_closed("the server closed its output" + _exit_note(process))

        async def read_stderr() -> None:
            async for chunk in process.stderr:  # type: ignore[union-attr]
                if self.on_stderr is not None:
                    self.on_stderr(chunk)
                else:
                    log.info("server stderr: %s", chunk.decode("utf-8", "replace").rstrip())

        task_group.start_soon(read_stdout)
        task_group.start_soon(read_stderr)

    async def send(self, message: Message, related_to: RequestId | None = None) -> None:
        if self._writer is None:
            raise ConnectionClosed("the server process is not running")
        await self._writer.write(message)

    async def close(self) -> None:
        process = self._process
        if process is None:
            return
        with anyio.CancelScope(shield=True):
            try:
                await process.stdin.aclose()  # type: ignore[union-attr]
            except (OSError, anyio.BrokenResourceError):
                pass
            for sig in (None, signal.SIGTERM, signal.SIGKILL):
                if sig is not None and process.returncode is None:
                    try:
                        process.send_signal(sig)
                    except ProcessLookupError:
                        break
                with anyio.move_on_after(self.exit_timeout):
                    await process.wait()
                if process.returncode is not None:
                    break
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    await stream.aclose()


def _exit_note(process: Process) -> str:
    return f" (exit code {process.returncode})" if process.returncode is not None else ""


class _FdReceiveStream(ByteReceiveStream):
    """Non-blocking reads from a file descriptor without a thread per read."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        os.set_blocking(fd, False)

    async def receive(self, max_bytes: int = _READ_CHUNK) -> bytes:
        while True:
            try:
                data = os.read(self._fd, max_bytes)
            except BlockingIOError:
                await anyio.wait_readable(self._fd)
                continue
            if not data:
                raise anyio.EndOfStream
            return data

    async def aclose(self) -> None:
        pass


class _FdSendStream(ByteSendStream):
    def __init__(self, fd: int) -> None:
        self._fd = fd
        os.set_blocking(fd, False)

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
