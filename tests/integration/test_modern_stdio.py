"""2026-07-28 requests over stdio (2026-07-28 basic/transports/stdio) to
``python -m servers.everything --stdio``: ``server/discover`` (the era probe), version errors,
MRTR, ``subscriptions/listen`` with tagged notifications ended by ``notifications/cancelled``,
and a legacy initialize on the same process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from mcp_transport.protocol import (
    META_CLIENT_CAPABILITIES,
    META_PROTOCOL_VERSION,
    META_SERVER_INFO,
    META_SUBSCRIPTION_ID,
)
from tests.interop_servers import REPO

pytestmark = pytest.mark.timeout(60)


class Peer:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.next_id = 0
        self.seen: list[dict[str, Any]] = []  # lines read while waiting for something else

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", **message}).encode() + b"\n")
        self.proc.stdin.flush()

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "the server closed its output"
        return json.loads(line)

    def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        version: str = "2026-07-28",
        caps: dict[str, Any] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        self.next_id += 1
        meta = {META_PROTOCOL_VERSION: version, META_CLIENT_CAPABILITIES: caps or {}}
        self.send({"id": self.next_id, "method": method, "params": {**(params or {}), "_meta": meta}})
        return self.next_id, self.response(self.next_id)

    def response(self, request_id: int) -> dict[str, Any]:
        return self.wait_for(lambda m: m.get("id") == request_id and "method" not in m)

    def wait_for(self, wanted: Any) -> dict[str, Any]:
        for message in self.seen:
            if wanted(message):
                self.seen.remove(message)
                return message
        while True:
            message = self.read()
            if wanted(message):
                return message
            self.seen.append(message)


@pytest.fixture
def peer() -> Iterator[Peer]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "servers.everything", "--stdio"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield Peer(proc)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_discover_and_version_errors(peer: Peer) -> None:
    _, discover = peer.request("server/discover")
    result = discover["result"]
    assert result["supportedVersions"] == ["2026-07-28"] and result["resultType"] == "complete"
    assert (
        result["_meta"][META_SERVER_INFO]["name"] == "everything"
        and "ttlMs" in result
        and "cacheScope" in result
    )
    _, refused = peer.request("server/discover", version="2099-01-01")
    assert refused["error"]["code"] == -32022
    assert refused["error"]["data"] == {"supported": ["2026-07-28"], "requested": "2099-01-01"}
    _, gone = peer.request("ping")
    assert gone["error"]["code"] == -32601


def test_mrtr_over_stdio(peer: Peer) -> None:
    caps: dict[str, Any] = {"elicitation": {}}
    _, first = peer.request(
        "tools/call", {"name": "test_input_required_result_elicitation", "arguments": {}}, caps=caps
    )
    state = first["result"]["requestState"]
    assert first["result"]["inputRequests"]["user_name"]["method"] == "elicitation/create"
    answers = {"user_name": {"action": "accept", "content": {"name": "Ada"}}}
    _, done = peer.request(
        "tools/call",
        {
            "name": "test_input_required_result_elicitation",
            "arguments": {},
            "inputResponses": answers,
            "requestState": state,
        },
        caps=caps,
    )
    assert done["result"]["content"][0]["text"] == "Hello, Ada!"
    _, tampered = peer.request(
        "tools/call",
        {
            "name": "test_input_required_result_elicitation",
            "arguments": {},
            "inputResponses": answers,
            "requestState": state[:-2],
        },
        caps=caps,
    )
    assert tampered["error"]["code"] == -32602


def test_listen_tagged_notifications_and_cancel(peer: Peer) -> None:
    peer.next_id += 1
    listen_id = peer.next_id
    meta = {META_PROTOCOL_VERSION: "2026-07-28", META_CLIENT_CAPABILITIES: {}}
    peer.send(
        {
            "id": listen_id,
            "method": "subscriptions/listen",
            "params": {"notifications": {"toolsListChanged": True}, "_meta": meta},
        }
    )
    ack = peer.read()
    assert ack["method"] == "notifications/subscriptions/acknowledged"
    assert ack["params"]["_meta"] == {META_SUBSCRIPTION_ID: listen_id}
    peer.request("tools/call", {"name": "test_trigger_prompt_change", "arguments": {}})  # not opted in
    peer.request("tools/call", {"name": "test_trigger_tool_change", "arguments": {}})
    changed = peer.wait_for(lambda m: m.get("method") == "notifications/tools/list_changed")
    assert changed["params"]["_meta"] == {META_SUBSCRIPTION_ID: listen_id}
    peer.send({"method": "notifications/cancelled", "params": {"requestId": listen_id}})
    peer.request("tools/list")
    assert not [m for m in peer.seen if m.get("method") == "notifications/prompts/list_changed"]
    assert not [m for m in peer.seen if m.get("id") == listen_id]  # cancelled: no result
    # A legacy session on the same process still works (dual-era).
    peer.send(
        {
            "id": 999,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
    )
    assert peer.response(999)["result"]["protocolVersion"] == "2025-11-25"
