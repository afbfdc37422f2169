"""The official MCP conformance suite (0.1.16, all 32 server scenarios, no expected
failures) against ``python -m servers.everything`` over real HTTP on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.official_suite import run_against_everything, summary

pytestmark = [pytest.mark.conformance, pytest.mark.slow, pytest.mark.timeout(360)]

SCENARIOS = 32


def test_official_server_suite_passes_everything(tmp_path: Path) -> None:
    results, run, server_log = run_against_everything("v01", tmp_path, "--suite", "all")
    print(summary(results))
    failed = [name for name, checks in results.items() if checks.get("FAILURE")]
    assert len(results) == SCENARIOS, (
        f"{len(results)} scenarios ran\n{run.stdout.decode()[-3000:]}\n{run.stderr.decode()[-3000:]}"
    )
    assert not failed, f"failed: {failed}\n" + summary(results)
    assert "Traceback" not in server_log, server_log[-5000:]
