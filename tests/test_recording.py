"""Record and replay (docs/recording.md): ``mcp-transport record`` as a stdio pass-through and
as an HTTP proxy, ``Client(record=...)``, and ``mcp-transport replay`` against the same server
(no difference, exit 0), a server whose ``add`` answers differently (exactly that message,
exit 1), bad usage (2) and an unreachable target (3). Real subprocesses and real HTTP."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest

from mcp_transport import Client
from mcp_transport.recording import FORMAT, REDACTED, read_recording
from tests.interop_servers import ServerProcess, free_port, wait_listening

PY = sys.executable
EVERYTHING = [PY, "-m", "servers.everything"]
CHANGED = [PY, "-m", "tests.interop_servers.changed_add"]


def cli(*args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "mcp_transport", *args], input=input, capture_output=True, text=True, timeout=timeout
    )


def stdio(argv: list[str]) -> str:
    return shlex.join([*argv, "--stdio"])


@pytest.fixture(scope="module")
def servers() -> object:
    """The everything server and the changed one, over HTTP."""
    started = [
        ServerProcess([*argv, "--port", str(port)], port).start()
        for argv, port in ((EVERYTHING, free_port()), (CHANGED, free_port()))
    ]
    yield started
    for server in started:
        server.stop()


def call_add_through(target: list[str], era: str) -> None:
    done = cli("call", *target, "add", "a=1", "b=2", "--era", era)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3.0"


def replay(path: Path, *target: str) -> subprocess.CompletedProcess[str]:
    return cli("replay", str(path), *target, "--timeout", "5")


def only_add_differs(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    differing = [line for line in done.stdout.splitlines() if line.startswith(("line ", "extra"))]
    assert len({line.partition(":")[0] for line in differing}) == 1, done.stdout  # one message
    assert '.result.content[0].text: expected "3.0", got "4.0"' in differing[0]
    assert "1 of " in done.stdout


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_stdio_record_then_replay(tmp_path: Path, era: str) -> None:
    path = tmp_path / "run.ndjson"
    recorder = shlex.join(
        [PY, "-m", "mcp_transport", "record", "--stdio", stdio(EVERYTHING), "-o", str(path)]
    )
    call_add_through(["--stdio", recorder], era)
    header, lines = read_recording(path)
    assert header["format"] == FORMAT and header["version"] == 1 and header["transport"] == "stdio"
    assert {line["dir"] for line in lines} == {"c2s", "s2c"}
    calls = [line for line in lines if (line["message"] or {}).get("method") == "tools/call"]
    assert calls and calls[0]["era"] == era and calls[0]["t"] >= 0

    same = replay(path, "--against-stdio", stdio(EVERYTHING))
    assert same.returncode == 0, same.stdout + same.stderr
    assert "no difference" in same.stdout
    only_add_differs(replay(path, "--against-stdio", stdio(CHANGED)))


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_http_proxy_record_then_replay(tmp_path: Path, servers: list[ServerProcess], era: str) -> None:
    everything, changed = servers
    path, port = tmp_path / "run.ndjson", free_port()
    proxy = subprocess.Popen(
        [PY, "-m", "mcp_transport", "record", everything.url, "-o", str(path), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(proxy, port)
        url = f"http://127.0.0.1:{port}/mcp"
        call_add_through([url, "--header", "Authorization=Bearer sekrit"], era)
        # an SSE answer with notifications, and a server request answered by the client
        for tool in (["test_tool_with_progress"], ["test_elicitation", "message=hi", "--no-input"]):
            done = cli("call", url, *tool, "--era", era)
            assert done.returncode == 0, done.stderr
    finally:
        proxy.terminate()
        proxy.wait(10)
    text = path.read_text()
    assert "sekrit" not in text  # secrets in headers are redacted
    header, lines = read_recording(path)
    assert header["transport"] == "http"
    posts = [line for line in lines if line["dir"] == "c2s" and line.get("http") == "POST"]
    assert posts[0]["headers"]["authorization"] == REDACTED
    answers = [line for line in lines if line["dir"] == "s2c" and line.get("http") == "POST"]
    assert all(line["status"] in (200, 202) for line in answers)
    if era == "legacy":
        assert all(line.get("session") for line in answers)  # the session id, on every answer
        assert any(line.get("stream") for line in answers)  # SSE answers name their stream
        asked = [line for line in lines if (line["message"] or {}).get("method") == "elicitation/create"]
        assert asked and asked[0]["dir"] == "s2c"  # (2026-07-28 asks with an MRTR result instead)

    same = replay(path, "--against", everything.url)
    assert same.returncode == 0, same.stdout + same.stderr
    only_add_differs(replay(path, "--against", changed.url))

    # The same HTTP recording against a stdio server: three clients, each numbering its ids from 1.
    on_a_pipe = replay(path, "--against-stdio", stdio(EVERYTHING))
    if era == "modern":  # stateless: the three clients' requests replay on one pipe
        assert on_a_pipe.returncode == 0, on_a_pipe.stdout + on_a_pipe.stderr
        only_add_differs(replay(path, "--against-stdio", stdio(CHANGED)))
    else:  # three sessions, and a pipe is one: refused, not reported as differences
        assert on_a_pipe.returncode == 2, on_a_pipe.stdout + on_a_pipe.stderr
        assert "3 HTTP sessions" in on_a_pipe.stderr and "--against URL" in on_a_pipe.stderr


@pytest.mark.anyio
async def test_client_records_the_same_format(tmp_path: Path, servers: list[ServerProcess]) -> None:
    everything, changed = servers
    for name, target in (("stdio", [*EVERYTHING, "--stdio"]), ("http", everything.url)):
        path = tmp_path / f"{name}.ndjson"
        async with Client(target, record=path) as client:
            result = await client.call_tool("add", {"a": 1, "b": 2})
            assert result["structuredContent"] == {"result": 3.0}
        header, lines = read_recording(path)
        assert header["transport"] == name
        assert [line["dir"] for line in lines].count("c2s") >= 2  # the handshake and the call
        against = ["--against-stdio", stdio(EVERYTHING)] if name == "stdio" else ["--against", everything.url]
        same = replay(path, *against)
        assert same.returncode == 0, same.stdout + same.stderr
        other = ["--against-stdio", stdio(CHANGED)] if name == "stdio" else ["--against", changed.url]
        only_add_differs(replay(path, *other))


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    good = tmp_path / "good.ndjson"
    good.write_bytes(orjson.dumps({"format": FORMAT, "version": 1}) + b"\n")
    future = tmp_path / "future.ndjson"
    future.write_bytes(orjson.dumps({"format": FORMAT, "version": 99}) + b"\n")
    for args in (
        [str(good)],  # no target
        [str(tmp_path / "missing.ndjson"), "--against", "http://127.0.0.1:9/mcp"],
        [str(future), "--against", "http://127.0.0.1:9/mcp"],
        [str(good), "--against", "not a url"],
    ):
        done = cli("replay", *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "mcp-transport replay: error:" in done.stderr
    assert cli("record", "-o", str(tmp_path / "x.ndjson")).returncode == 2  # neither URL nor --stdio


def test_unreachable_target_exits_3(tmp_path: Path) -> None:
    path = tmp_path / "run.ndjson"
    line = {"dir": "c2s", "t": 0, "message": {"jsonrpc": "2.0", "id": 1, "method": "ping"}}
    path.write_bytes(b"\n".join(orjson.dumps(x) for x in ({"format": FORMAT, "version": 1}, line)) + b"\n")
    done = cli("replay", str(path), "--against", f"http://127.0.0.1:{free_port()}/mcp")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "cannot connect" in done.stderr
    done = cli("replay", str(path), "--against-stdio", "/nonexistent/server --stdio")
    assert done.returncode == 3, done.stdout + done.stderr


def test_proxy_bounds_and_unreachable_upstream(tmp_path: Path) -> None:
    """The proxy refuses a body over 4 MiB (413, nothing forwarded or held) and answers 502
    with a JSON-RPC error when the upstream is down; both are recorded."""
    path, port = tmp_path / "run.ndjson", free_port()
    upstream = f"http://127.0.0.1:{free_port()}/mcp"  # nothing listens there
    proxy = subprocess.Popen(
        [PY, "-m", "mcp_transport", "record", upstream, "-o", str(path), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(proxy, port)
        url = f"http://127.0.0.1:{port}/mcp"
        headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        big = httpx.post(url, content=b" " * (4 * 1024 * 1024 + 1), headers=headers)
        assert big.status_code == 413 and "4194304 bytes" in big.json()["error"]["message"]
        down = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=headers)
        assert down.status_code == 502 and "unreachable" in down.json()["error"]["message"]
    finally:
        proxy.terminate()
        proxy.wait(10)
    _, lines = read_recording(path)
    assert [(line["dir"], line.get("status")) for line in lines] == [("c2s", None), ("s2c", 502)]


def test_help_names_every_option() -> None:
    for command, options in (
        ("record", ("--stdio", "-o", "--port", "--host", "--path")),
        ("replay", ("--against", "--against-stdio", "--speed", "--timeout", "--ignore")),
    ):
        shown = cli(command, "--help")
        assert shown.returncode == 0, shown.stderr
        for option in options:
            assert option in shown.stdout, (command, option)
