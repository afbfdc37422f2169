"""stdio hardening against a real subprocess server (tests/integration/hardening_server.py):
a failing user callback, hostile nesting, batches (tracked: cancellable, answered before
exit, duplicate ids refused), an unterminated last line, and the concurrent-request cap.
Nothing the client sends may end the server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_transport.jsonrpc import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    MAX_JSON_DEPTH,
    SERVER_OVERLOADED,
)

pytestmark = pytest.mark.timeout(60)

SCRIPT = Path(__file__).with_name("hardening_server.py")


class Peer:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message: Any) -> None:
        self.write(json.dumps(message).encode() + b"\n")

    def read(self) -> Any:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"the server exited (code {self.proc.poll()}): {self.stderr()}"
        return json.loads(line)

    def stderr(self) -> str:
        self.proc.kill()
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode(errors="replace")[-3000:]

    def call(self, rid: Any, method: str, params: dict[str, Any] | None = None) -> Any:
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.read()

    def initialize(self, version: str = "2025-11-25") -> None:
        init = self.call(
            0,
            "initialize",
            {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
        )
        assert init["result"]["protocolVersion"] == version
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def alive(self) -> None:
        """The server still answers."""
        assert self.call("alive", "ping") == {"jsonrpc": "2.0", "id": "alive", "result": {}}

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def peer() -> Iterator[Peer]:
    p = Peer()
    yield p
    p.close()


def nested(depth: int, leaf: Any = "x") -> Any:
    value = leaf
    for _ in range(depth - 1):
        value = [value]
    return value


# -- item 1: a failing user callback ------------------------------------------------------------


def test_failing_notification_handler_does_not_kill_the_server(peer: Peer) -> None:
    peer.initialize()
    peer.send({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"})
    peer.alive()


# -- item 2: deep nesting and unbounded echoes --------------------------------------------------


def nested_text(depth: int) -> str:
    """An array nested ``depth`` levels, as JSON text (too deep for json.dumps)."""
    return "[" * depth + '"x"' + "]" * depth


@pytest.mark.parametrize("depth", [300, 1000])
def test_deeply_nested_id_or_name_is_refused_and_the_server_lives(peer: Peer, depth: int) -> None:
    peer.initialize()
    peer.write(b'{"jsonrpc": "2.0", "method": "ping", "id": %s}\n' % nested_text(depth).encode())
    answer = peer.read()
    assert answer["id"] is None and answer["error"]["code"] == INVALID_REQUEST
    assert str(MAX_JSON_DEPTH) in answer["error"]["message"]
    name = nested_text(depth).encode()
    peer.write(
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": %s, "arguments": {}}}\n'
        % name
    )
    answer = peer.read()
    assert answer["id"] is None and answer["error"]["code"] == INVALID_REQUEST
    peer.alive()


def test_unknown_tool_error_quotes_the_name_bounded(peer: Peer) -> None:
    peer.initialize()
    # Within the depth bound, but the echo in error.data used to be unbounded.
    answer = peer.call(1, "tools/call", {"name": nested(MAX_JSON_DEPTH - 3), "arguments": {}})
    assert answer["error"]["code"] == INVALID_PARAMS
    assert answer["error"]["data"] == {"name": "an array of 1 item(s)"}
    answer = peer.call(2, "tools/call", {"name": "n" * 100_000, "arguments": {}})
    assert answer["error"]["code"] == INVALID_PARAMS and len(json.dumps(answer)) < 1000
    peer.alive()


# -- item 4: batches -----------------------------------------------------------------------------


def batch_call(rid: Any, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": rid,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }


def test_batch_running_at_eof_is_answered_within_the_grace_period(peer: Peer) -> None:
    peer.initialize("2025-03-26")
    peer.send([batch_call(1, "slow", {"seconds": 0.5}), {"jsonrpc": "2.0", "id": 2, "method": "ping"}])
    assert peer.proc.stdin is not None
    peer.proc.stdin.close()
    answer = peer.read()
    assert sorted(r["id"] for r in answer) == [1, 2]
    assert peer.proc.wait(10) == 0


def test_notifications_cancelled_cancels_a_batch_member(peer: Peer) -> None:
    peer.initialize("2025-03-26")
    started = time.monotonic()
    peer.send([batch_call(7, "slow", {"seconds": 5}), {"jsonrpc": "2.0", "id": 8, "method": "ping"}])
    time.sleep(0.2)
    peer.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}})
    answer = peer.read()
    assert [r["id"] for r in answer] == [8]  # a cancelled request gets no response
    assert time.monotonic() - started < 4


def test_duplicate_ids_in_one_batch_are_refused_whole(peer: Peer) -> None:
    peer.initialize("2025-03-26")
    peer.send([batch_call(1, "slow", {"seconds": 0}), batch_call(1, "slow", {"seconds": 0})])
    answer = peer.read()
    assert isinstance(answer, dict) and answer["id"] is None
    assert answer["error"]["code"] == INVALID_REQUEST and "more than once" in answer["error"]["message"]
    peer.alive()


def test_a_batch_id_in_use_by_a_running_request_is_refused(peer: Peer) -> None:
    peer.initialize("2025-03-26")
    peer.send(batch_call(5, "slow", {"seconds": 0.5}))
    peer.send([batch_call(5, "slow", {"seconds": 0})])
    answer = peer.read()
    assert answer == [{"jsonrpc": "2.0", "id": 5, "error": answer[0]["error"]}]
    assert answer[0]["error"]["code"] == INVALID_REQUEST and "already in use" in answer[0]["error"]["message"]
    assert peer.read()["result"]["content"][0]["text"] == "slept 0.5"


# -- item 10: the last line and the concurrency cap ----------------------------------------------


def test_unterminated_last_line_is_answered(peer: Peer) -> None:
    peer.initialize()
    peer.write(b'{"jsonrpc": "2.0", "id": 9, "method": "ping"}')  # no newline, then EOF
    assert peer.proc.stdin is not None
    peer.proc.stdin.close()
    assert peer.read() == {"jsonrpc": "2.0", "id": 9, "result": {}}
    assert peer.proc.wait(10) == 0


def test_concurrent_requests_past_the_cap_get_server_overloaded() -> None:
    peer = Peer("--max-concurrent", "2")
    try:
        peer.initialize()
        for rid in (1, 2, 3):
            peer.send(batch_call(rid, "slow", {"seconds": 1}))
        refused = peer.read()
        assert refused["id"] == 3 and refused["error"]["code"] == SERVER_OVERLOADED
        assert "Too many concurrent requests" in refused["error"]["message"]
        assert sorted(peer.read()["id"] for _ in range(2)) == [1, 2]
        peer.alive()  # room again once they finished
    finally:
        peer.close()
