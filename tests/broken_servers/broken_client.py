"""A small independent MCP client (raw httpx, not mcp_transport) running the client-scenario flow:
initialize, tools/list, tools/call conformance_tool, DELETE. Correct with no bug; one defect per
``BROKEN_CLIENT_BUG`` environment value. The URL is the last argument.

    BROKEN_CLIENT_BUG=no_reinit python tests/broken_servers/broken_client.py URL
"""

from __future__ import annotations

import json
import os
import sys
import time

import httpx

BUGS = {
    "no_reinit": "gives up on a 404 instead of re-initializing",
    "no_version_header": "never sends MCP-Protocol-Version",
    "ignores_retry": "reconnects at once, ignoring retry:",
    "no_ping_answer": "ignores server→client requests",
    "no_delete": "does not DELETE its session",
    "no_budget": "retries a failing resume forever, without waiting",
}
BUG = os.environ.get("BROKEN_CLIENT_BUG")
ACCEPT = "application/json, text/event-stream"


class Flow:
    def __init__(self, url: str) -> None:
        self.url, self.http = url, httpx.Client(timeout=10)
        self.session: str | None = None
        self.version: str | None = None
        self.next_id = 0

    def headers(self, **extra: str) -> dict[str, str]:
        h = {"Accept": ACCEPT, "Content-Type": "application/json", **extra}
        if self.session:
            h["Mcp-Session-Id"] = self.session
        if self.version and BUG != "no_version_header":
            h["MCP-Protocol-Version"] = self.version
        return h

    def initialize(self) -> None:
        self.session = self.version = None
        params = {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "broken", "version": "0"},
        }
        reply = self.request("initialize", params, retry_404=False)
        self.version = reply["result"]["protocolVersion"]
        self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def post(self, message: dict) -> httpx.Response:
        return self.http.post(self.url, headers=self.headers(), content=json.dumps(message))

    def request(self, method: str, params: dict, retry_404: bool = True) -> dict:
        self.next_id += 1
        rid = self.next_id
        message = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
        with self.http.stream(
            "POST", self.url, headers=self.headers(), content=json.dumps(message)
        ) as response:
            if response.status_code == 404 and retry_404 and BUG != "no_reinit":
                response.read()
                self.initialize()
                return self.request(method, params, retry_404=False)
            response.raise_for_status()
            if method == "initialize":
                self.session = response.headers.get("mcp-session-id")
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                return json.loads(response.read())
            found, last_id, retry = self.read_events(response.iter_lines(), rid)
        attempts = 0
        while found is None:  # the stream ended without the response: resume
            if BUG not in ("ignores_retry", "no_budget") and retry:
                time.sleep(retry / 1000)
            attempts += 1
            headers = self.headers(Accept="text/event-stream", **{"Last-Event-ID": last_id or ""})
            del headers["Content-Type"]
            with self.http.stream("GET", self.url, headers=headers) as response:
                if response.status_code >= 500 and (attempts < 3 or BUG == "no_budget"):
                    continue
                response.raise_for_status()
                found, last_id, retry = self.read_events(response.iter_lines(), rid, last_id, retry)
        return found

    def read_events(self, lines, rid, last_id=None, retry=None):
        data: list[str] = []
        for line in lines:
            if line.startswith("id:"):
                last_id = line[3:].strip()
            elif line.startswith("retry:"):
                retry = int(line[6:].strip())
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
            elif line == "" and data:
                message = json.loads("\n".join(data)) if "".join(data) else None
                data = []
                if not isinstance(message, dict):
                    continue
                if message.get("id") == rid and ("result" in message or "error" in message):
                    return message, last_id, retry
                if "method" in message and "id" in message and BUG != "no_ping_answer":
                    self.post({"jsonrpc": "2.0", "id": message["id"], "result": {}})
        return None, last_id, retry


def main() -> int:
    flow = Flow(sys.argv[-1])
    flow.initialize()
    flow.request("tools/list", {})
    reply = flow.request("tools/call", {"name": "conformance_tool", "arguments": {}})
    if BUG != "no_delete":
        flow.http.delete(flow.url, headers=flow.headers())
    return 0 if "result" in reply else 1


if __name__ == "__main__":
    raise SystemExit(main())
