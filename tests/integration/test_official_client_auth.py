"""The official conformance suite 0.2.0-alpha.12's client ``auth/*`` scenarios against
``clients.conformance_client`` (``mcp_transport.auth.OAuth``), at ``--spec-version 2026-07-28``
and at ``2025-11-25``: every auth scenario the suite lists, the back-compat (2025-03-26) and
extension ones included (``--force``: the suite skips those at a dated version otherwise). All
must pass: no expected-failure list. A scenario passes when the suite exits 0 and its
``checks.json`` has checks and no FAILURE or WARNING.

The scenarios run a few at a time (each is one suite process plus one client process); a failure
is re-run once on its own before it counts, as timing can flake on two shared cores.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.official_suite import suite

REPO = Path(__file__).resolve().parents[2]
VERSIONS = ("2026-07-28", "2025-11-25")
CONCURRENCY = 4

pytestmark = [pytest.mark.conformance, pytest.mark.timeout(600)]


def _auth_scenarios() -> list[str]:
    listing = subprocess.run(
        [*suite("v02"), "list", "--client"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    names = [line.split()[1] for line in listing.splitlines() if line.strip().startswith("- auth/")]
    assert len(names) >= 30, listing  # the suite lists 33; a parse that finds few is a broken test
    return names


def _run(scenario: str, version: str, out: Path) -> tuple[bool, str]:
    command = f"{sys.executable} -m clients.conformance_client"
    args = [
        "--scenario",
        scenario,
        "--spec-version",
        version,
        "--force",
        "--timeout",
        "30000",
        "-o",
        str(out),
    ]
    run = subprocess.run(
        [*suite("v02"), "client", "--command", command, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    checks = [c for f in out.rglob("checks.json") for c in json.loads(f.read_text())]
    bad = [c for c in checks if c.get("status") in ("FAILURE", "WARNING")]
    ok = run.returncode == 0 and not bad and bool(checks)
    return (
        ok,
        f"{scenario} @ {version}: exit {run.returncode}\n{run.stdout[-1500:]}\n{run.stderr[-2000:]}\n{bad}",
    )


def _leg(scenario: str, version: str, tmp: Path) -> tuple[bool, str]:
    base = tmp / version / scenario.replace("/", "_")
    ok, report = _run(scenario, version, base / "first")
    if not ok:
        ok, report = _run(scenario, version, base / "again")
    return ok, report


def test_official_client_auth_scenarios(tmp_path: Path) -> None:
    scenarios = _auth_scenarios()
    legs = [(scenario, version) for version in VERSIONS for scenario in scenarios]
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        results = list(pool.map(lambda leg: _leg(leg[0], leg[1], tmp_path), legs))
    for version in VERSIONS:
        passed = sum(ok for (_, v), (ok, _) in zip(legs, results, strict=True) if v == version)
        print(f"auth scenarios at {version}: {passed}/{len(scenarios)} passed")
    failures = [report for ok, report in results if not ok]
    assert not failures, "\n\n".join(failures)
