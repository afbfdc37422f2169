"""The official MCP conformance suite 0.2.0-alpha.12 (conformance.md §2.4, §9.2) against
``python -m servers.everything``: every server scenario of the 2026-07-28 leg (40, the
three pending ones included) and of the 2025-11-25 leg (33), no expected failures, one
fresh server process per leg, both eras on the same /mcp endpoint; and the whole suite with no
version filter (65 scenarios: the tasks and skills extension ones too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.official_suite import run_against_everything, summary

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.slow,
    pytest.mark.timeout(360),
]

PENDING = {"json-schema-2020-12", "http-header-validation", "http-custom-header-server-validation"}


@pytest.mark.parametrize(("spec_version", "scenarios"), [("2026-07-28", 40), ("2025-11-25", 33)])
def test_official_suite_leg_passes_everything(tmp_path: Path, spec_version: str, scenarios: int) -> None:
    results, run, server_log = run_against_everything(
        "v02", tmp_path, "--suite", "all", "--spec-version", spec_version, "--timeout", "30000"
    )
    print(summary(results))
    assert len(results) == scenarios, (
        f"{len(results)} scenarios ran\n{run.stdout.decode()[-3000:]}\n{run.stderr.decode()[-3000:]}"
    )
    failed = [name for name, checks in results.items() if checks.get("FAILURE")]
    assert not failed, f"failed: {failed}\n" + summary(results)
    if spec_version == "2026-07-28":
        assert PENDING <= set(results)
    assert run.returncode == 0, run.stdout.decode()[-3000:]
    assert "Traceback" not in server_log, server_log[-5000:]


def test_official_suite_without_a_version_filter_passes_everything(tmp_path: Path) -> None:
    """Every server scenario of 0.2.0-alpha.12, the extension ones included (tasks,
    SEP-2663; skills, SEP-2640): no --spec-version filter, no expected-failure list."""
    results, run, server_log = run_against_everything("v02", tmp_path, "--suite", "all", "--timeout", "30000")
    print(summary(results))
    assert len(results) == 65, f"{len(results)} scenarios ran\n{run.stdout.decode()[-3000:]}"
    extension = {name for name in results if name.startswith(("tasks-", "sep-2640-"))}
    assert len(extension) == 13, sorted(extension)
    failed = [name for name, checks in results.items() if checks.get("FAILURE")]
    assert not failed, f"failed: {failed}\n" + summary(results)
    for name in extension - {"tasks-status-notifications"}:  # that one is a placeholder upstream
        assert not results[name].get("SKIPPED"), f"{name} skipped: is the extension declared?\n" + summary(results)
    assert run.returncode == 0, run.stdout.decode()[-3000:]
    assert "Traceback" not in server_log, server_log[-5000:]
