"""``mcp-transport record``: a stdio pass-through or an HTTP proxy that writes every JSON-RPC
message it carries to a recording (docs/recording.md).

Bounded: the stdio recorder forwards bytes as they come and keeps at most one line of each
direction (``MAX_LINE_BYTES``) to parse for the file; the HTTP proxy reads a request body up to
``MAX_BODY_BYTES`` (then 413), forwards responses chunk by chunk as they arrive and keeps at
most ``MAX_BODY_BYTES`` of a JSON answer or one SSE event (the SSE parser's bound) to record.
Anything larger is forwarded untouched and recorded as ``{"truncated": <bytes>}``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
from typing import IO, Any

from ._target import Usage, parse_url, split_command

__all__ = ["MAX_BODY_BYTES", "MAX_LINE_BYTES", "add_record"]

MAX_LINE_BYTES = 4 * 1024 * 1024  # one stdio message kept for the file
MAX_BODY_BYTES = 4 * 1024 * 1024  # one HTTP body (the endpoint's own default limit)
_HOP_BY_HOP = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "upgrade",
        "accept-encoding",
    }
)


def add_record(commands: Any) -> None:
    record = commands.add_parser(
        "record",
        help="record the JSON-RPC traffic to a server (stdio pass-through or HTTP proxy) as NDJSON",
        description="As a stdio server running CMD (--stdio) or an HTTP proxy in front of URL, "
        "write every JSON-RPC message in both directions to FILE (docs/recording.md).",
    )
    record.add_argument("url", nargs="?", help="the upstream MCP endpoint (HTTP proxy mode)")
    record.add_argument("--stdio", metavar="CMD", help="run CMD and record its stdin/stdout")
    record.add_argument("-o", "--output", required=True, metavar="FILE", help="the recording to write")
    record.add_argument("--host", default="127.0.0.1", help="proxy bind address (default 127.0.0.1)")
    record.add_argument("--port", type=int, default=8001, help="proxy port (default 8001)")
    record.add_argument("--path", default="/mcp", help="proxy endpoint path (default /mcp)")
    record.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from ..recording import Recorder

    try:
        if (args.url is None) == (args.stdio is None):
            raise Usage('give either an upstream URL or --stdio "CMD", not both')
        command = split_command(args.stdio) if args.stdio else None
        url = parse_url(args.url) if args.url else None
        recorder = Recorder(
            args.output, transport="stdio" if command else "http", target=args.stdio or url or ""
        )
    except (Usage, OSError) as exc:
        print(f"mcp-transport record: error: {exc}", file=sys.stderr)
        return 2
    try:
        if command is not None:
            return _record_stdio(command, recorder)
        assert url is not None
        return _record_http(url, recorder, args.host, args.port, args.path)
    finally:
        recorder.close()


# -- stdio ------------------------------------------------------------------------------------


class _Lines:
    """Parses forwarded bytes into messages for the file, keeping at most one bounded line."""

    def __init__(self, direction: str, record: Any) -> None:
        self.direction = direction
        self._record = record
        self._pending = bytearray()
        self._dropped = 0

    def feed(self, chunk: bytes) -> None:
        while chunk:
            line, newline, chunk = chunk.partition(b"\n")
            if self._dropped or len(self._pending) + len(line) > MAX_LINE_BYTES:
                self._dropped += len(self._pending) + len(line)
                self._pending.clear()
            else:
                self._pending += line
            if newline:
                self._end_line()

    def _end_line(self) -> None:
        import orjson

        if self._dropped:
            self._record(self.direction, {"truncated": self._dropped})
        elif self._pending.strip():
            try:
                message = orjson.loads(self._pending)
            except orjson.JSONDecodeError:
                message = {"unparsed": self._pending[:200].decode("utf-8", "replace")}
            self._record(self.direction, message)
        self._pending.clear()
        self._dropped = 0


def _pump(source: IO[bytes], sink: IO[bytes], lines: _Lines, on_eof: Any) -> None:
    try:
        while chunk := source.readline(65536):  # a line, or 64 KiB of a longer one
            lines.feed(chunk)
            sink.write(chunk)
            sink.flush()
    except (BrokenPipeError, ValueError, OSError):
        pass  # the other side went away: stop forwarding
    finally:
        on_eof()


def _record_stdio(command: list[str], recorder: Any) -> int:
    try:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    except OSError as exc:
        print(f"mcp-transport record: error: cannot run {command[0]!r}: {exc.strerror}", file=sys.stderr)
        return 3
    assert process.stdin is not None and process.stdout is not None
    lock = threading.Lock()

    def record(direction: str, message: Any) -> None:
        with lock:  # two pumps share the file
            recorder.record(direction, message)

    child_in, child_out = process.stdin, process.stdout
    inbound = threading.Thread(
        target=_pump, args=(sys.stdin.buffer, child_in, _Lines("c2s", record), child_in.close), daemon=True
    )
    inbound.start()  # daemon: a stdin that never ends must not keep us alive after the child exits
    _pump(child_out, sys.stdout.buffer, _Lines("s2c", record), lambda: None)
    return process.wait()


# -- HTTP -------------------------------------------------------------------------------------


def _record_http(url: str, recorder: Any, host: str, port: int, path: str) -> int:
    import uvicorn

    from ._recording_proxy import RecordingProxy

    proxy = RecordingProxy(url, recorder, path=path, max_body=MAX_BODY_BYTES, hop_by_hop=_HOP_BY_HOP)
    print(f"mcp-transport record: proxy at http://{host}:{port}{path} -> {url}", file=sys.stderr)
    uvicorn.run(proxy, host=host, port=port, log_level="warning", access_log=False, lifespan="on")
    return 0
