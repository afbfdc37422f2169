"""The official MCP conformance suite (0.1.16, all 32 server scenarios, no expected
failures) against ``python -m servers.everything`` over real HTTP on loopback."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.conformance, pytest.mark.slow, pytest.mark.timeout(360)]

REPO = Path(__file__).resolve().parents[2]
V01 = REPO / "tests" / "conformance_official" / "v01" / "node_modules"
SUITE = [str(V01 / ".bin" / "node"), str(V01 / "@modelcontextprotocol" / "conformance" / "dist" / "index.js")]
SCENARIOS = 32
_STAMP = re.compile(r"-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not listen on port {port} within {timeout} s")


def scenario_results(out_dir: Path) -> dict[str, dict[str, list[dict[str, object]]]]:
    """Scenario name -> checks by status (conformance.md §3.1, §3.5)."""
    results: dict[str, dict[str, list[dict[str, object]]]] = {}
    for path in out_dir.rglob("checks.json"):
        name = _STAMP.sub("", path.parent.relative_to(out_dir).as_posix()).removeprefix("server-")
        by_status: dict[str, list[dict[str, object]]] = {}
        for check in json.loads(path.read_text()):
            by_status.setdefault(check["status"], []).append(check)
        results[name] = by_status
    return results


@pytest.mark.skipif(not (V01 / ".bin" / "node").exists(), reason="conformance suite not installed (make test installs it)")
def test_official_server_suite_passes_everything(tmp_path: Path) -> None:
    port = _free_port()
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "servers.everything", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_listening(port, server)
        out = tmp_path / "results"
        run = subprocess.run(
            [*SUITE, "server", "--url", f"http://localhost:{port}/mcp", "--suite", "all", "-o", str(out)],
            cwd=REPO,
            capture_output=True,
            timeout=300,
        )
    finally:
        server.terminate()
        server.wait(10)
        log.close()

    results = scenario_results(out)
    summary = []
    for name, checks in sorted(results.items()):
        counts = {s: len(checks.get(s, [])) for s in ("SUCCESS", "FAILURE", "WARNING")}
        summary.append(f"{'FAIL' if counts['FAILURE'] else 'ok  '} {name}: {counts}")
        for check in checks.get("FAILURE", []) + checks.get("WARNING", []):
            summary.append(f"       {check['status']} {check['id']}: {check.get('errorMessage', '')}")
    print("\n".join(summary))
    server_log = (tmp_path / "server.log").read_text(errors="replace")
    failed = [name for name, checks in results.items() if checks.get("FAILURE")]
    assert len(results) == SCENARIOS, (
        f"{len(results)} scenarios ran\n{run.stdout.decode()[-3000:]}\n{run.stderr.decode()[-3000:]}"
    )
    assert not failed, f"failed: {failed}\n" + "\n".join(summary)
    assert "Traceback" not in server_log, server_log[-5000:]
