"""The client side of stdio: a server subprocess speaking newline-delimited JSON on its
stdin/stdout (2025-11-25 basic/transports#stdio)."""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import subprocess
from collections.abc import Awaitable, Callable, Sequence

import anyio
from anyio.abc import Process, TaskGroup

from ... import jsonrpc
from ...errors import ConnectError, ConnectionClosed
from ...jsonrpc import InvalidMessage, Message, RequestId
from ..contract import TransportDefaults
from .framing import MAX_LINE_BYTES, LineWriter, Oversized, pump_lines

__all__ = ["StdioProcess"]

log = logging.getLogger("mcp_transport.stdio")


class StdioProcess(TransportDefaults):
    """The client side: a server subprocess speaking NDJSON on its stdin/stdout. One pipe
    carries everything: no session, version header or second channel (the contract's
    defaults, :class:`~mcp_transport.transports.contract.TransportDefaults`).

    ``close()`` follows 2025-11-25 basic/lifecycle#stdio: close the server's stdin, wait,
    SIGTERM, wait, SIGKILL, each step bounded. The server's stderr is forwarded to our logger (or a callback).
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
        self._writer: LineWriter | None = None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode if self._process else None

    async def start(
        self,
        receive: Callable[[Message], Awaitable[None]],
        task_group: TaskGroup,
        on_closed: Callable[[str], None],
    ) -> None:
        """Spawn the process and start reading its output into ``receive``."""
        env = {**os.environ, **self.env} if self.env is not None else None
        try:
            self._process = await anyio.open_process(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=self.cwd,
            )
        except OSError as exc:
            raise ConnectError(f"could not start {self.command[0]!r}: {exc}") from exc
        process = self._process
        stdin, stdout, stderr = process.stdin, process.stdout, process.stderr
        assert stdin and stdout and stderr  # all three were opened as pipes
        self._writer = LineWriter(stdin)

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

        tail = StderrTail()
        stderr_ended = anyio.Event()

        async def read_stdout() -> None:
            await pump_lines(stdout, on_line, on_oversized, self.max_line_bytes)
            # A server that dies on start says why on stderr: wait (briefly) for its last words
            # and its exit code, so the error names the real cause.
            with anyio.move_on_after(_LAST_WORDS_WAIT):
                await stderr_ended.wait()
                await process.wait()
            on_closed("the server closed its output" + _exit_note(process) + tail.note())

        async def read_stderr() -> None:
            try:
                async for chunk in stderr:
                    tail.feed(chunk)
                    if self.on_stderr is not None:
                        self.on_stderr(chunk)
                    else:
                        log.info("server stderr: %s", chunk.decode("utf-8", "replace").rstrip())
            finally:
                stderr_ended.set()

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
            if process.stdin is not None:
                with contextlib.suppress(OSError, anyio.BrokenResourceError):
                    await process.stdin.aclose()
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


_LAST_WORDS_WAIT = 0.5  # seconds to wait for stderr's end and the exit code once stdout closes


class StderrTail:
    """The last lines a server wrote on stderr, bounded (:attr:`MAX_LINES` lines of at most
    :attr:`MAX_LINE_CHARS` characters), for the error that reports its exit."""

    MAX_LINES = 10
    MAX_LINE_CHARS = 300

    def __init__(self) -> None:
        self._lines: collections.deque[str] = collections.deque(maxlen=self.MAX_LINES)
        self._partial = ""

    def feed(self, chunk: bytes) -> None:
        text = self._partial + chunk.decode("utf-8", "replace")
        *complete, self._partial = text.split("\n")
        self._partial = self._partial[-self.MAX_LINE_CHARS :]
        for line in complete:
            if line.strip():
                self._lines.append(line.rstrip()[: self.MAX_LINE_CHARS])

    def note(self) -> str:
        lines = [*self._lines, self._partial.rstrip()] if self._partial.strip() else list(self._lines)
        # One line (a CLI prints the reason on one line): the stderr lines joined with " | ".
        return "; its stderr ended with: " + " | ".join(lines[-self.MAX_LINES :]) if lines else ""


def _exit_note(process: Process) -> str:
    return f" (exit code {process.returncode})" if process.returncode is not None else ""
