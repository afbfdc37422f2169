"""The official conformance suite's client scenarios against ``clients.conformance_client``
(the suite's README, §Client Testing): one scenario per process, the exit code is the verdict
(no expected failures), a failure is re-run once on its own before it counts. Not ``--suite``:
it starts every scenario at once, and the CPU contention breaks the timing checks; and in
suite mode the verdict comes from the checks only, so a client that crashed after its last
check would pass.

* 0.1.16: the 2025 handshake scenarios;
* 0.2.0-alpha.12 with ``--spec-version 2026-07-28``: every non-auth client scenario, on the
  stateless wire;
* 0.2.0-alpha.12 with ``--spec-version 2025-11-25``: the handshake scenarios and
  json-schema-2020-12-preservation (it spans both eras);
* 0.2.0-alpha.12, no spec version: the skills extension's ``sep-2640-client-*`` scenarios,
  with the handshake, the stateless wire and the auto probe.

The 0.1.16 and 2026-07-28 legs run twice: with the era the suite names, and with
``Client(era="auto")`` probing for it (``MCP_TRANSPORT_CLIENT_ERA=auto``). The ``auth/*``
scenarios are in ``test_official_client_auth.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.official_suite import suite

REPO = Path(__file__).resolve().parents[2]

LEGACY_SCENARIOS = ["initialize", "tools_call", "elicitation-sep1034-client-defaults", "sse-retry"]
MODERN_SCENARIOS = [
    "tools_call",
    "request-metadata",
    "sep-2322-client-request-state",
    "http-standard-headers",
    "http-custom-headers",
    "http-invalid-tool-headers",
    "json-schema-ref-no-deref",
    "json-schema-2020-12-preservation",
]
# The skills extension's client scenarios (SEP-2640; the suite runs extension scenarios
# without a spec version): no prefetch, and verification of digest, size and front matter.
SKILLS_SCENARIOS = [
    "sep-2640-client-no-prefetch",
    "sep-2640-client-verify-digest",
    "sep-2640-client-verify-size",
    "sep-2640-client-verify-frontmatter",
]
# (suite, scenario, extra CLI arguments, client era): the era the suite names, and again
# with Client(era="auto") finding it by itself.
LEGS = [
    *[("v01", s, (), era) for era in ("", "auto") for s in LEGACY_SCENARIOS],
    *[("v02", s, ("--spec-version", "2026-07-28"), era) for era in ("", "auto") for s in MODERN_SCENARIOS],
    *[
        ("v02", s, ("--spec-version", "2025-11-25"), "")
        for s in [*LEGACY_SCENARIOS, "json-schema-2020-12-preservation"]
    ],
    *[("v02", s, (), era) for era in ("", "modern", "auto") for s in SKILLS_SCENARIOS],
]

pytestmark = [pytest.mark.conformance, pytest.mark.timeout(200)]


def _suite(version: str) -> tuple[Path, Path]:
    node, cli = suite(version)
    return Path(node), Path(cli)


def _run(suite: str, scenario: str, extra: tuple[str, ...], era: str, out: Path) -> tuple[bool, str]:
    node, cli = _suite(suite)
    command = f"{sys.executable} -m clients.conformance_client"
    if era:
        command = f"MCP_TRANSPORT_CLIENT_ERA={era} {command}"
    run = subprocess.run(
        [
            str(node),
            str(cli),
            "client",
            "--command",
            command,
            "--scenario",
            scenario,
            *extra,
            "--timeout",
            "30000",
            "-o",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    checks = [c for f in out.rglob("checks.json") for c in json.loads(f.read_text())]
    bad = [c for c in checks if c.get("status") in ("FAILURE", "WARNING")]
    ok = run.returncode == 0 and not bad and bool(checks)
    return ok, f"exit {run.returncode}\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}\n{bad}"


def _leg_id(suite: str, scenario: str, extra: tuple[str, ...], era: str) -> str:
    return f"{suite}-{scenario}" + (f"-{extra[-1]}" if extra else "") + (f"-{era}" if era else "")


@pytest.mark.parametrize(("suite", "scenario", "extra", "era"), LEGS, ids=[_leg_id(*leg) for leg in LEGS])
def test_official_client_scenario(
    suite: str, scenario: str, extra: tuple[str, ...], era: str, tmp_path: Path
) -> None:
    ok, report = _run(suite, scenario, extra, era, tmp_path / "first")
    if not ok:  # timing-sensitive checks can flake on 2 shared cores: one re-run on its own
        ok, report = _run(suite, scenario, extra, era, tmp_path / "again")
    assert ok, report


def test_every_non_auth_client_scenario_of_the_suite_is_run() -> None:
    """No scenario is left out quietly: the suite's own list, minus auth/* (their own test
    file), is exactly what LEGS runs on 0.2.0-alpha.12."""
    node, cli = _suite("v02")
    listing = subprocess.run(
        [str(node), str(cli), "list"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    client_part = listing.split("Client scenarios", 1)[1].split("\n\n", 1)[0]
    offered = {line.split()[1] for line in client_part.splitlines() if line.strip().startswith("- ")}
    run = {scenario for suite, scenario, _, _ in LEGS if suite == "v02"}
    assert {s for s in offered if not s.startswith("auth/")} == run


def test_unknown_scenario_exits_non_zero() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "clients.conformance_client", "http://127.0.0.1:1/mcp"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"MCP_CONFORMANCE_SCENARIO": "no-such-scenario", "PATH": ""},
    )
    assert run.returncode != 0
    assert "unknown scenario" in run.stderr
