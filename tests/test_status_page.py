"""The status page (docs/guides/status-page.md): off by default, behind the endpoint's
Host/Origin rules, its JSON fed by real traffic, and the page itself rendered by headless
Chromium (Debian's package, installed by scripts/ensure-system-packages) against a running
server: the test asserts what the browser shows and leaves a phone-sized screenshot in its
temporary directory for the failure report."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.interop_servers import ServerProcess, free_port

PY = sys.executable
JSON_SSE = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
CLIENT_NAME = "status-page-test-client"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    port = free_port()
    process = ServerProcess(
        [PY, "-m", "servers.everything", "--port", str(port), "--status-page"], port
    ).start()
    yield process
    process.stop()


def open_session(url: str) -> str:
    """A legacy session that stays open, with two tool calls (one failing)."""
    client_info = {"name": CLIENT_NAME, "version": "1.2.3"}
    params = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": client_info}
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
    answer = httpx.post(url, headers=JSON_SSE, json=init)
    session = answer.headers["mcp-session-id"]
    headers = {**JSON_SSE, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
    httpx.post(url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    for id, name in ((2, "add"), (3, "test_error_handling"), (4, "test_tool_with_progress")):
        call = {
            "jsonrpc": "2.0",
            "id": id,
            "method": "tools/call",
            "params": {"name": name, "arguments": {"a": 1, "b": 2}},
        }
        assert httpx.post(url, headers=headers, json=call).status_code == 200
    return session


def test_status_json_shows_sessions_requests_and_tools(server: ServerProcess) -> None:
    session = open_session(server.url)
    data = httpx.get(server.url + "/status.json").json()
    row = next(s for s in data["sessions"] if s["id"] == session)
    assert row["era"] == "legacy" and row["version"] == "2025-11-25"
    assert row["client"] == {"name": CLIENT_NAME, "version": "1.2.3"}
    assert row["inFlight"] == 0 and row["age"] >= 0
    tools = {t["tool"]: t for t in data["tools"]}
    assert tools["add"]["calls"] >= 1 and tools["add"]["failures"] == 0
    assert tools["test_error_handling"]["failures"] >= 1
    outcomes = {(r["tool"], r["outcome"]) for r in data["recent"] if r["session"] == session}
    assert ("add", "ok") in outcomes and ("test_error_handling", "tool error") in outcomes
    progress = next(r for r in data["recent"] if r["tool"] == "test_tool_with_progress")  # an SSE answer
    assert progress["outcome"] == "ok" and progress["ms"] >= 100  # three steps ~50 ms apart
    assert data["eventLog"]["maxBytes"] > 0


def test_status_page_keeps_the_endpoint_rules(server: ServerProcess) -> None:
    for path in ("/status", "/status.json"):
        assert httpx.get(server.url + path, headers={"origin": "http://evil.example"}).status_code == 403
        assert httpx.get(server.url + path, headers={"host": "evil.example"}).status_code == 403
        assert httpx.post(server.url + path, json={}).status_code == 405
    page = httpx.get(server.url + "/status")
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'sha256-" in page.headers["content-security-policy"]  # no other script runs


def test_status_page_is_off_by_default(everything_url: str) -> None:
    assert httpx.get(everything_url + "/status").status_code == 404


def chromium(*args: str, tmp: Path) -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "headless Chromium is missing: run scripts/ensure-system-packages (Debian's 'chromium')"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp / 'profile'}"]
    # virtual time: the page's first poll and render complete before the DOM is read
    done = subprocess.run(
        [binary, *flags, "--virtual-time-budget=5000", *args],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_browser_shows_the_session_and_the_tool_latency(server: ServerProcess, tmp_path: Path) -> None:
    session = open_session(server.url)
    page = server.url + "/status"
    screenshot = tmp_path / "status-page.png"
    # a phone-sized screenshot for the failure report (written first: it exists when an assert fails)
    chromium("--hide-scrollbars", "--window-size=390,900", f"--screenshot={screenshot}", page, tmp=tmp_path)
    assert screenshot.stat().st_size > 1000, f"no screenshot at {screenshot}"
    dom = chromium("--dump-dom", page, tmp=tmp_path)
    (tmp_path / "status-page.html").write_text(dom)
    sessions = dom.split('id="sessions"', 1)[1].split("</table>", 1)[0]
    assert f"<td>{session[:12]}</td>" in sessions, f"session row missing; screenshot: {screenshot}"
    assert f"{CLIENT_NAME} 1.2.3" in sessions
    tools = dom.split('id="tools"', 1)[1].split("</table>", 1)[0]
    assert "<td>add</td>" in tools and 'class="bar"' in tools, (
        f"no latency entry for add; screenshot: {screenshot}"
    )
    assert '<span id="status" class="ok">live</span>' in dom


def test_collector_is_bounded() -> None:
    from mcp_transport.jsonrpc import Request
    from mcp_transport.transports.http import status

    collector = status.StatusCollector()

    async def send(message: object) -> None:
        pass

    for n in range(status.MAX_TOOLS + 50):
        request = Request(n, "tools/call", {"name": f"tool-{n}", "arguments": {}})
        collector.watch(send, request, "legacy", "s").finish()
    assert len(collector.recent) == status.MAX_RECENT
    assert len(collector.tools) == status.MAX_TOOLS
    for _ in range(status.MAX_SAMPLES + 10):
        collector.watch(send, Request(1, "tools/call", {"name": "tool-0"}), "modern", None).finish()
    assert len(collector.tools["tool-0"]) == status.MAX_SAMPLES
    assert collector.tool_counts["tool-0"][0] == status.MAX_SAMPLES + 11
    assert collector.in_flight_modern == 0
