"""servers.everything as a real subprocess over stdio: the features end to end, with this
test acting as the client (answering sampling and elicitation requests)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest


class StdioPeer:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "servers.everything", "--stdio"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.next_id = 0
        self.notifications: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", **message}).encode() + b"\n")
        self.proc.stdin.flush()

    def request(
        self, method: str, params: dict[str, Any] | None = None, answers: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        self.next_id += 1
        rid = self.next_id
        self.send({"id": rid, "method": method, "params": params or {}})
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            assert line, self.proc.stderr.read().decode() if self.proc.stderr else "server exited"
            message = json.loads(line)
            if "method" in message and "id" in message:  # a server->client request
                self.send({"id": message["id"], "result": (answers or {})[message["method"]]})
            elif "method" in message:
                self.notifications.append(message)
            elif message["id"] == rid:
                return message

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


@pytest.fixture
def peer() -> Any:
    p = StdioPeer()
    init = p.request(
        "initialize",
        {
            "protocolVersion": "2025-11-25",
            "capabilities": {"sampling": {}, "elicitation": {}},
            "clientInfo": {"name": "t", "version": "0"},
        },
    )
    assert init["result"]["capabilities"]["resources"] == {"subscribe": True, "listChanged": True}
    p.send({"method": "notifications/initialized"})
    yield p
    p.close()


def test_features_over_stdio(peer: StdioPeer) -> None:
    assert peer.request("tools/call", {"name": "test_simple_text"})["result"]["content"][0][
        "text"
    ].startswith("This is")
    read = peer.request("resources/read", {"uri": "test://template/42/data"})["result"]
    assert "42" in read["contents"][0]["text"]
    missing = peer.request("resources/read", {"uri": "test://missing"})
    assert missing["error"]["code"] == -32002 and missing["error"]["data"] == {"uri": "test://missing"}
    prompt = peer.request(
        "prompts/get", {"name": "test_prompt_with_arguments", "arguments": {"arg1": "a", "arg2": "b"}}
    )
    assert "a" in prompt["result"]["messages"][0]["content"]["text"]
    assert peer.request("logging/setLevel", {"level": "debug"})["result"] == {}
    peer.request("tools/call", {"name": "test_tool_with_logging"})
    assert len([n for n in peer.notifications if n["method"] == "notifications/message"]) == 3


def test_client_requests_over_stdio(peer: StdioPeer) -> None:
    answers = {
        "sampling/createMessage": {
            "role": "assistant",
            "content": {"type": "text", "text": "hi"},
            "model": "m",
        },
        "elicitation/create": {"action": "accept", "content": {"username": "u", "email": "e@x.org"}},
    }
    sampled = peer.request("tools/call", {"name": "test_sampling", "arguments": {"prompt": "p"}}, answers)
    assert sampled["result"]["content"][0]["text"] == "LLM response: hi"
    elicited = peer.request(
        "tools/call", {"name": "test_elicitation", "arguments": {"message": "m"}}, answers
    )
    assert "accept" in elicited["result"]["content"][0]["text"]


def test_subscription_updates_over_stdio(peer: StdioPeer) -> None:
    assert peer.request("resources/subscribe", {"uri": "test://watched-resource"})["result"] == {}
    peer.request("tools/call", {"name": "touch_watched_resource"})
    updated = [n for n in peer.notifications if n["method"] == "notifications/resources/updated"]
    assert updated == [
        {
            "jsonrpc": "2.0",
            "method": "notifications/resources/updated",
            "params": {"uri": "test://watched-resource"},
        }
    ]
