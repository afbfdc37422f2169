"""Running the official MCP conformance suite's server mode against
``python -m servers.everything`` (the suite's README, §Server Testing, §Test Results): one
fresh server process per leg on a free loopback port, results read from the suite's
``checks.json`` files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.interop_servers import REPO, free_port, wait_listening

_STAMP = re.compile(r"-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$")

Checks = dict[str, list[dict[str, object]]]

__all__ = ["Checks", "run_against_everything", "run_suite", "scenario_results", "suite", "summary"]


def suite(line: str) -> list[str]:
    """The command that runs one installed suite line ("v01": 0.1.16, "v02": 0.2.0-alpha.12).

    A missing install fails the test rather than skipping it: `make test` installs both
    lines, so a skip would only hide a broken install step.
    """
    modules = REPO / "tests" / "conformance_official" / line / "node_modules"
    command = [
        str(modules / ".bin" / "node"),
        str(modules / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"),
    ]
    if not all(Path(part).exists() for part in command):
        raise RuntimeError(
            f"the official conformance suite {line} is not installed: run `make test`, which installs it"
        )
    return command


def scenario_results(out_dir: Path) -> dict[str, Checks]:
    """Scenario name -> checks by status, read from each ``checks.json`` (the suite's README,
    §Test Results)."""
    results: dict[str, Checks] = {}
    for path in out_dir.rglob("checks.json"):
        name = _STAMP.sub("", path.parent.relative_to(out_dir).as_posix()).removeprefix("server-")
        by_status: Checks = {}
        for check in json.loads(path.read_text()):
            by_status.setdefault(check["status"], []).append(check)
        results[name] = by_status
    return results


def summary(results: dict[str, Checks]) -> str:
    lines = []
    for name, checks in sorted(results.items()):
        counts = {s: len(checks.get(s, [])) for s in ("SUCCESS", "FAILURE", "WARNING")}
        lines.append(f"{'FAIL' if counts['FAILURE'] else 'ok  '} {name}: {counts}")
        for check in checks.get("FAILURE", []) + checks.get("WARNING", []):
            lines.append(f"       {check['status']} {check['id']}: {check.get('errorMessage', '')}")
    return "\n".join(lines)


def run_against_everything(
    line: str, tmp_path: Path, *suite_args: str
) -> tuple[dict[str, Checks], subprocess.CompletedProcess[bytes], str]:
    """Start a fresh ``servers.everything`` on HTTP, run ``server --url ... *suite_args``
    against it (URL host localhost: the suite's dns-rebinding-protection scenario fails for any
    other host), stop the server.
    Returns the results, the suite's process and the server's log."""
    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "servers.everything", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            wait_listening(server, port)
            results, run = run_suite(line, tmp_path, f"http://localhost:{port}/mcp", *suite_args)
        finally:
            server.terminate()
            server.wait(10)
    return results, run, log_path.read_text(errors="replace")


def run_suite(
    line: str, tmp_path: Path, url: str, *suite_args: str
) -> tuple[dict[str, Checks], subprocess.CompletedProcess[bytes]]:
    """Run ``server --url URL *suite_args`` of one suite line against a running server;
    the results and the suite's process."""
    out = tmp_path / "results"
    run = subprocess.run(
        [*suite(line), "server", "--url", url, *suite_args, "-o", str(out)],
        cwd=REPO,
        capture_output=True,
        timeout=300,
    )
    return scenario_results(out), run
