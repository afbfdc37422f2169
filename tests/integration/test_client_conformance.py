"""The official conformance suite's client scenarios against clients.conformance_client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "tests" / "conformance_official" / "v01"
NODE = SUITE / "node_modules" / ".bin" / "node"
CLI = SUITE / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"

SCENARIOS = ["initialize", "tools_call", "elicitation-sep1034-client-defaults", "sse-retry"]

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(not (NODE.exists() and CLI.exists()), reason="run `make test` to install the conformance suite"),
]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_official_client_scenario(scenario: str, tmp_path: Path) -> None:
    command = f"{sys.executable} -m clients.conformance_client"
    run = subprocess.run(
        [str(NODE), str(CLI), "client", "--command", command, "--scenario", scenario, "--timeout", "30000", "-o", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=90, check=False,
    )
    checks = [c for f in tmp_path.rglob("checks.json") for c in json.loads(f.read_text())]
    failed = [c for c in checks if c.get("status") in ("FAILURE", "WARNING")]
    assert run.returncode == 0 and not failed, f"{run.stdout[-2000:]}\n{run.stderr[-2000:]}\n{failed}"


def test_unknown_scenario_exits_non_zero() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "clients.conformance_client", "http://127.0.0.1:1/mcp"],
        cwd=REPO, capture_output=True, text=True, timeout=30, check=False, env={"MCP_CONFORMANCE_SCENARIO": "no-such-scenario", "PATH": ""},
    )
    assert run.returncode != 0
    assert "unknown scenario" in run.stderr
