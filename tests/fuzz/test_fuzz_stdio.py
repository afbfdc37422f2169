"""Properties of the stdio loop: servers.everything as a real subprocess
(``python -m servers.everything --stdio``), started once and restarted only when it dies.

Whatever lines arrive (garbage, truncated JSON, deep nesting, messages of either era), the
process stays up, every line it writes is one JSON-RPC message, a valid ping is answered
afterwards (2025-11-25 basic/transports#stdio) and its RSS stays within a fixed budget.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcp_transport import jsonrpc
from tests.fuzz.fuzz_http import rss_bytes
from tests.fuzz.fuzz_strategies import MODERN_VERSION, bodies, budget, encode, messages

RSS_BUDGET_BYTES = 300 * 1024 * 1024
ANSWER_TIMEOUT = 10.0


class StdioServer:
    """One server subprocess, initialized once; its stdout read by a thread into a queue."""

    def __init__(self, command: list[str] | None = None) -> None:
        # Closed in close(); read back only to explain an exit.
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen(
            command or [sys.executable, "-m", "servers.everything", "--stdio"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.pings = 0
        init = {
            "jsonrpc": "2.0",
            "id": "init",
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "fuzz", "version": "1"},
            },
        }
        self.write(orjson.dumps(init) + b"\n")
        assert self.wait_for("init").get("result"), "initialize failed"
        self.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(b"")  # EOF

    def alive(self) -> bool:
        return self.proc.poll() is None

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise AssertionError(self.exit_note()) from None

    def exit_note(self) -> str:
        """Why the server is gone: its exit code and the end of its stderr."""
        code = self.proc.wait(5)
        self.stderr.seek(0)
        tail = self.stderr.read().decode(errors="replace").strip().splitlines()[-3:]
        return f"the server exited (code {code}): " + " | ".join(tail)

    def wait_for(self, *request_ids: Any) -> dict[str, Any]:
        """Read lines until a response to one of ``request_ids``; check every line on the way."""
        while True:
            line = self.lines.get(timeout=ANSWER_TIMEOUT)
            assert line, self.exit_note()
            message = check_line(line)
            if "method" in message and "id" in message:  # a server->client request: refuse it
                self.write(
                    orjson.dumps(
                        {"jsonrpc": "2.0", "id": message["id"], "error": {"code": -32601, "message": "no"}}
                    )
                    + b"\n"
                )
            elif "method" not in message and message.get("id") in request_ids:
                return message

    def ping(self) -> None:
        self.pings += 1
        request_id = f"ping-{self.pings}"
        self.write(orjson.dumps({"jsonrpc": "2.0", "id": request_id, "method": "ping"}) + b"\n")
        assert self.wait_for(request_id) == {"jsonrpc": "2.0", "id": request_id, "result": {}}

    def __enter__(self) -> StdioServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.stderr.close()
        if self.alive():
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def check_line(line: bytes) -> dict[str, Any]:
    """Every line the server writes is one JSON-RPC message (or a 2025-03-26 batch reply)."""
    assert line.endswith(b"\n") and b"\n" not in line[:-1], line[:200]
    value = orjson.loads(line)
    items = value if isinstance(value, list) else [value]
    for item in items:
        jsonrpc.parse_message(item)
    return items[-1]


class Harness:
    def __init__(self) -> None:
        self.server: StdioServer | None = None

    def get(self) -> StdioServer:
        """The running server; a fresh one only when the last one died."""
        if self.server is None or not self.server.alive():
            if self.server is not None:
                self.server.close()
            self.server = StdioServer()
        return self.server

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.fixture(scope="module")
def stdio() -> Iterator[Harness]:
    harness = Harness()
    yield harness
    harness.close()


def feed(harness: Harness, lines: list[bytes]) -> None:
    server = harness.get()
    for line in lines:
        server.write(line.replace(b"\n", b" ") + b"\n")
    server.ping()
    assert server.alive()
    assert rss_bytes(server.proc.pid) < RSS_BUDGET_BYTES


@budget(100)
@given(st.lists(bodies(), min_size=1, max_size=5))
def test_legacy_lines(stdio: Harness, lines: list[bytes]) -> None:
    feed(stdio, lines)


@budget(100)
@given(st.lists(messages(MODERN_VERSION).map(encode), min_size=1, max_size=5))
def test_modern_lines(stdio: Harness, lines: list[bytes]) -> None:
    feed(stdio, lines)


@budget(30)
@given(st.binary(max_size=300))
def test_unterminated_garbage_then_a_line(stdio: Harness, data: bytes) -> None:
    """Bytes with newlines anywhere (a line split across writes, empty lines, CRLF)."""
    server = stdio.get()
    server.write(data + b"\n")
    server.ping()
    assert server.alive()


# -- regressions: concrete inputs the properties found ----------------------------------------


def deep(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def test_deep_tool_name_does_not_end_the_server() -> None:
    """A tools/call name nested 300 levels (echoed in the unknown-tool error, which orjson
    cannot dump, on ea95b24): the request gets an error and the server goes on."""
    with StdioServer() as server:
        call = {"jsonrpc": "2.0", "id": "deep", "method": "tools/call", "params": {"name": deep(300)}}
        server.write(encode(call) + b"\n")
        # Refused unread (id null) at a nesting bound, or answered with an error.
        assert "error" in server.wait_for("deep", None)
        server.ping()


def test_deep_id_does_not_end_the_server() -> None:
    """An id nested 300 levels: a -32600 line with a null id, then the next request is answered."""
    with StdioServer() as server:
        server.write(encode({"jsonrpc": "2.0", "id": deep(300), "method": "ping"}) + b"\n")
        assert server.wait_for(None)["error"]["code"] == -32600
        server.ping()


RAISING_SERVER = """
from servers.everything import server

@server.on_notification("notifications/roots/list_changed")
async def boom(connection, params):
    raise RuntimeError("a user handler failed")

server.run_stdio()
"""


def test_raising_notification_handler_does_not_end_the_server() -> None:
    with StdioServer([sys.executable, "-c", RAISING_SERVER]) as server:
        server.write(b'{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}\n')
        server.ping()


def test_progress_with_an_unhashable_token_does_not_end_the_server() -> None:
    """Found by test_modern_lines: ``notifications/progress`` with ``progressToken: []``
    ended the process (TypeError: unhashable type: 'list' in the outbound-request table)."""
    with StdioServer() as server:
        note = {
            "jsonrpc": "2.0",
            "method": "notifications/progress",
            "params": {"progressToken": [], "progress": 1},
        }
        server.write(encode(note) + b"\n")
        server.ping()
        assert server.alive()
