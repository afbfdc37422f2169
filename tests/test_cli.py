"""``mcp-transport`` against real servers: the example server over HTTP (a subprocess on a
free loopback port) and over stdio (started by the CLI), in the minimal environment an MCP
host gives a child process (PATH and HOME only)."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.interop_servers import REPO, ServerProcess, free_port, quiet_on_closed_stdout

PY = sys.executable
EVERYTHING_STDIO = f"{PY} -m servers.everything --stdio"
CANCEL_STDIO = f"{PY} -m tests.interop_servers.cancel_server --stdio"
MINIMAL_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}


def cli(*args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "mcp_transport", *args],
        cwd=REPO,
        env=MINIMAL_ENV,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def http_url(everything_url: str) -> str:
    return everything_url


@pytest.fixture(params=["http", "stdio"])
def target(request: pytest.FixtureRequest, http_url: str) -> list[str]:
    return [http_url] if request.param == "http" else ["--stdio", EVERYTHING_STDIO]


def test_help_for_every_command_names_every_option() -> None:
    for command in ("tools", "resources", "prompts", "call", "read", "prompt", "proxy", "serve"):
        shown = cli(command, "--help")
        assert shown.returncode == 0, shown.stderr
        if command not in ("proxy", "serve"):
            for option in ("--stdio", "--era", "--header", "--timeout", "--json", "--no-input"):
                assert option in shown.stdout, (command, option)
    version = cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("mcp-transport ")


def test_lists_human_and_json(target: list[str]) -> None:
    human = cli("tools", *target)
    assert human.returncode == 0, human.stderr
    assert any(line.startswith("add  Add two numbers.") for line in human.stdout.splitlines())
    listed = cli("tools", *target, "--json")
    names = [tool["name"] for tool in json.loads(listed.stdout)["tools"]]
    assert "add" in names and "sleep" in names
    resources = json.loads(cli("resources", *target, "--json").stdout)
    assert "test://static-text" in [r["uri"] for r in resources["resources"]]
    assert "test://template/{id}/data" in [t["uriTemplate"] for t in resources["resourceTemplates"]]
    prompts = cli("prompts", *target)
    assert "test_prompt_with_arguments(arg1, arg2)" in prompts.stdout


def test_call_read_prompt(target: list[str]) -> None:
    added = cli("call", *target, "add", "a=1", "--json", "b=2.5")  # pairs after options too
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["structuredContent"] == {"result": 3.5}
    whole = cli("call", *target, "echo", "--args", '{"text": "from --args"}')
    assert whole.stdout == "from --args\n"
    number = cli("call", *target, "echo", "text=42")  # JSON when it parses: a number, not a string
    assert number.returncode == 1 and "valid string" in number.stdout  # the tool's validation error
    read = cli("read", *target, "test://static-text")
    assert read.stdout == "This is the content of the static text resource.\n"
    prompt = cli("prompt", *target, "test_prompt_with_arguments", "arg1=1", "arg2=x")
    assert "arg1='1', arg2='x'" in prompt.stdout  # prompt arguments stay strings


def test_progress_is_plain_lines_when_piped(target: list[str]) -> None:
    called = cli("call", *target, "test_tool_with_progress")
    assert called.returncode == 0 and called.stdout == "Tool with progress executed successfully\n"
    lines = [line for line in called.stderr.splitlines() if line.startswith("progress ")]
    assert lines == [
        "progress 0/100 Completed step 1 of 3",
        "progress 50/100 Completed step 2 of 3",
        "progress 100/100 Completed step 3 of 3",
    ]
    assert "\r" not in called.stderr and "\x1b" not in called.stderr


def test_exit_statuses(target: list[str]) -> None:
    failed = cli("call", *target, "test_error_handling")
    assert failed.returncode == 1
    assert "intentionally returns an error" in failed.stdout
    assert failed.stderr.strip().splitlines()[-1].startswith("mcp-transport call: error:")
    unknown = cli("call", *target, "no_such_tool")
    assert unknown.returncode == 3 and "-32602" in unknown.stderr and "Traceback" not in unknown.stderr
    assert cli("call", *target).returncode == 2  # no tool name
    assert cli("call", *target, "add", "novalue").returncode == 2  # not key=value


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_eras_and_json_results_as_on_the_wire(http_url: str, era: str) -> None:
    called = cli("call", http_url, "test_error_handling", "--era", era, "--json")
    assert called.returncode == 1
    result = json.loads(called.stdout)
    assert result["isError"] is True and result["content"][0]["type"] == "text"
    assert ("resultType" in result) == (era == "modern")


def test_transport_and_usage_errors(http_url: str) -> None:
    refused = cli("tools", f"http://127.0.0.1:{free_port()}/mcp")
    assert refused.returncode == 3 and len(refused.stderr.strip().splitlines()) == 1
    not_found = cli("tools", http_url.replace("/mcp", "/elsewhere"))
    assert not_found.returncode == 3 and "Traceback" not in not_found.stderr
    for bad in ("htp:/x", "http://", "http://127.0.0.1:99999/mcp", "127.0.0.1:8000"):
        malformed = cli("tools", bad)
        assert malformed.returncode == 2 and "malformed URL" in malformed.stderr, bad
    assert cli("tools", "--stdio", "").returncode == 2
    missing = cli("tools", "--stdio", "/nonexistent/server --stdio")
    assert missing.returncode == 3 and len(missing.stderr.strip().splitlines()) == 1


def test_elicitation_on_the_terminal_or_declined(target: list[str]) -> None:
    asked = cli("call", *target, "test_elicitation", "message=Who?", input="ada\nada@example.org\n")
    assert asked.returncode == 0, asked.stderr
    assert '"username": "ada"' in asked.stdout and "Who?" in asked.stderr
    declined = cli("call", *target, "test_elicitation", "message=Who?", "--no-input")
    assert "action=decline" in declined.stdout


def test_closed_stdout_is_quiet(http_url: str) -> None:
    quiet_on_closed_stdout([PY, "-m", "mcp_transport", "tools", http_url], MINIMAL_ENV)
    quiet_on_closed_stdout(
        [PY, "-m", "mcp_transport", "call", http_url, "add", "a=1", "b=2", "--json"], MINIMAL_ENV
    )


def _interrupt_wait(target: list[str], marker: Path, *extra: str) -> tuple[int, str, float]:
    """Start ``call wait``, SIGINT the CLI once the server runs it; (status, stderr, seconds
    from SIGINT to exit)."""
    proc = subprocess.Popen(
        [PY, "-m", "mcp_transport", "call", *target, "wait", f"marker={json.dumps(str(marker))}", *extra],
        cwd=REPO,
        env=MINIMAL_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (marker.exists() and marker.read_text() == "started"):
            assert time.monotonic() < deadline and proc.poll() is None, "the tool never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, stderr = proc.communicate(timeout=30)
        return proc.returncode, stderr, time.monotonic() - sent
    finally:
        proc.kill()


def test_ctrl_c_cancels_over_stdio(tmp_path: Path) -> None:
    """The server sees the cancellation itself: the stdio server's EOF grace period is 5 s,
    so a tool cancelled well within it was cancelled by notifications/cancelled."""
    marker = tmp_path / "marker"
    code, stderr, took = _interrupt_wait(["--stdio", CANCEL_STDIO], marker)
    assert code == 130 and "interrupted" in stderr and "Traceback" not in stderr
    assert marker.read_text() == "cancelled" and took < 4, took


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_ctrl_c_cancels_over_http(tmp_path: Path, era: str) -> None:
    port = free_port()
    server = ServerProcess(
        [PY, "-m", "tests.interop_servers.cancel_server", "--port", str(port)], port
    ).start()
    try:
        marker = tmp_path / "marker"
        code, _, _ = _interrupt_wait([server.url, "--era", era], marker)
        deadline = time.monotonic() + 10
        while marker.read_text() != "cancelled" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert code == 130 and marker.read_text() == "cancelled"
    finally:
        server.stop()


def test_progress_is_a_live_bar_on_a_terminal(http_url: str) -> None:
    """stderr on a pseudo-terminal: the bar is redrawn in place (carriage return, erase line)
    and erased before the result; stdout, a pipe, carries only the result."""
    import pty

    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen(
            [PY, "-m", "mcp_transport", "call", http_url, "test_tool_with_progress"],
            cwd=REPO,
            env=MINIMAL_ENV,
            stdout=subprocess.PIPE,
            stderr=terminal,
        )
        os.close(terminal)
        out, _ = proc.communicate(timeout=60)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    assert proc.returncode == 0 and out == b"Tool with progress executed successfully\n"
    assert b"\r\x1b[2K[" in shown and b"100% Completed step 3 of 3" in shown
    assert b"progress 50/100" not in shown  # no plain lines on a terminal


class _Unauthorized(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Bearer realm="mcp"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_DELETE = do_POST

    def log_message(self, *args: object) -> None:
        pass


def test_http_401_is_exit_status_3() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unauthorized)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for era in ("auto", "legacy", "modern"):
            refused = cli("tools", f"http://127.0.0.1:{server.server_address[1]}/mcp", "--era", era)
            assert refused.returncode == 3 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
            assert "401" in refused.stderr
    finally:
        server.shutdown()
        server.server_close()
