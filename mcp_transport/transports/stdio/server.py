"""The stdio server loop: serve an application on stdin/stdout until input ends
(2025-11-25 basic/transports#stdio)."""

from __future__ import annotations

import contextlib
import functools
import sys

import anyio
from anyio.abc import ByteReceiveStream, ByteSendStream

from ... import jsonrpc
from ...connection import Application
from ...dispatcher import DEFAULT_MAX_INBOUND_REQUESTS
from ...errors import ConnectionClosed
from ...jsonrpc import InvalidMessage, Message, RequestId, Response
from ...protocol import allows_batch
from .framing import (
    MAX_LINE_BYTES,
    FdReceiveStream,
    FdSendStream,
    LineWriter,
    Oversized,
    oversized_error,
    pump_lines,
)

__all__ = ["EOF_GRACE_SECONDS", "run_stdio", "serve_stdio"]

# After stdin closes, requests already read get this long to finish before the server exits.
EOF_GRACE_SECONDS = 5.0


def run_stdio(app: Application, *, max_concurrent_requests: int = DEFAULT_MAX_INBOUND_REQUESTS) -> None:
    """:func:`serve_stdio` on this process's stdin/stdout, on a new uvloop event loop (as
    ``run_http`` serves HTTP): every message costs a few turns of the loop, and uvloop's
    turns cost a fraction of the pure-Python loop's."""
    serve = functools.partial(serve_stdio, app, max_concurrent_requests=max_concurrent_requests)
    anyio.run(serve, backend_options={"use_uvloop": True})


async def serve_stdio(
    app: Application,
    stdin: ByteReceiveStream | None = None,
    stdout: ByteSendStream | None = None,
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_concurrent_requests: int = DEFAULT_MAX_INBOUND_REQUESTS,
) -> None:
    """Serve ``app`` (an ``MCPServer``) on stdin/stdout (or the given streams) until input ends.

    A malformed line gets a -32700/-32600 error with a null id and the loop goes on; an
    oversized line gets a clear error; a request past ``max_concurrent_requests`` running at
    once gets -32010 (retry later). Nothing the client sends and no handler failure ends the
    server: only EOF on stdin (or a closed stdout) does. Both eras are served: a request with
    the 2026-07-28 envelope is answered statelessly (``server/discover`` included;
    ``subscriptions/listen`` notifications are tagged with their subscription id and
    ``notifications/cancelled`` ends a listen), anything else goes through initialize.
    """
    in_stream = stdin if stdin is not None else FdReceiveStream(sys.stdin.buffer.fileno())
    out_stream = stdout if stdout is not None else FdSendStream(sys.stdout.buffer.fileno())
    writer = LineWriter(out_stream)

    async def send(message: Message, related_to: RequestId | None) -> None:
        await writer.write(message)

    async def write_batch(responses: list[Response]) -> None:
        await writer.write_line(jsonrpc.dump_many(responses) + b"\n")

    async def on_oversized(item: Oversized) -> None:
        await writer.write(oversized_error(item, max_line_bytes))

    async with anyio.create_task_group() as tg:
        connection = app.connect(send, tg, send_unrelated=writer.write, max_inbound=max_concurrent_requests)
        connection.open()
        dispatcher = connection.dispatcher

        async def on_line(line: bytes) -> None:
            try:
                parsed = jsonrpc.parse(line, allow_batch=allows_batch(connection.protocol_version))
            except InvalidMessage as exc:
                await writer.write(exc.to_response())
                return
            if isinstance(parsed, list):
                await dispatcher.receive_batch(parsed, write_batch)
            else:
                await dispatcher.receive(parsed)

        with contextlib.suppress(ConnectionClosed):  # stdout closed: the client is gone too
            await pump_lines(in_stream, on_line, on_oversized, max_line_bytes)
        # stdin closed: the client is shutting us down (2025-11-25 basic/lifecycle#stdio).
        # Listen streams end with their result; requests already read still get their
        # answers, within a short grace period; then stop.
        connection.end_streams()
        with anyio.move_on_after(EOF_GRACE_SECONDS):
            while dispatcher.in_flight:  # noqa: ASYNC110 -- the dispatcher has no "idle" event
                await anyio.sleep(0.01)
        connection.close("stdin closed")
        tg.cancel_scope.cancel()
