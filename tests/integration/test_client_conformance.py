"""The official conformance suite's client scenarios against clients.conformance_client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUITES = REPO / "tests" / "conformance_official"

SCENARIOS = ["initialize", "tools_call", "elicitation-sep1034-client-defaults", "sse-retry"]
# (suite, scenario, extra CLI arguments): every scenario on both suite lines, plus the
# 2026-07-28 (stateless) wire of tools_call on 0.2.
LEGS = [("v01", s, ()) for s in SCENARIOS] + [("v02", s, ()) for s in SCENARIOS] + [
    ("v02", "tools_call", ("--spec-version", "2026-07-28"))
]

pytestmark = pytest.mark.conformance


def _suite(version: str) -> tuple[Path, Path]:
    root = SUITES / version / "node_modules"
    node, cli = root / ".bin" / "node", root / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
    if not (node.exists() and cli.exists()):
        pytest.skip(f"conformance suite {version} not installed (run `make test`)")
    return node, cli


@pytest.mark.parametrize(("suite", "scenario", "extra"), LEGS, ids=[f"{v}-{s}{'-2026' if e else ''}" for v, s, e in LEGS])
def test_official_client_scenario(suite: str, scenario: str, extra: tuple[str, ...], tmp_path: Path) -> None:
    node, cli = _suite(suite)
    command = f"{sys.executable} -m clients.conformance_client"
    run = subprocess.run(
        [str(node), str(cli), "client", "--command", command, "--scenario", scenario, *extra, "--timeout", "30000", "-o", str(tmp_path)],
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
