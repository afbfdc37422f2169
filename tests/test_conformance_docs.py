"""docs/conformance-suite.md agrees with docs/conformance-results.md, and the results carry no
machine-specific paths (they are committed, and the report strips this checkout's paths)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.report import ROOT, portable

DOCS = Path(__file__).resolve().parent.parent / "docs"
RESULTS = (DOCS / "conformance-results.md").read_text()
SUITE = (DOCS / "conformance-suite.md").read_text()

# a results section's title -> the start of the suite's row about the same server
ROWS = {
    "mcp_transport servers.everything (HTTP)": "| our `servers.everything` over HTTP",
    "mcp_transport servers.everything (stdio)": "| our `servers.everything` over stdio",
    "official Python SDK (mcp), MCPServer.streamable_http_app": "| official Python SDK",
    "independent reference server (tests/broken_servers/server.py)": "| `tests/broken_servers/server.py`",
    "official TypeScript SDK (@modelcontextprotocol/sdk 1.x), simpleStreamableHttp wiring": (
        "| official TypeScript SDK"
    ),
}


def results_counts(title: str) -> tuple[int, int]:
    section = RESULTS.split(f"## {title}\n", 1)[1]
    found = re.search(r"(\d+) failed \(MUST\), (\d+) warnings", section)
    assert found, title
    return int(found[1]), int(found[2])


@pytest.mark.parametrize("title", ROWS)
def test_the_suite_doc_reports_what_the_results_say(title: str) -> None:
    row = next(line for line in SUITE.splitlines() if line.startswith(ROWS[title]))
    failed, warnings = (cell.strip() for cell in row.split("|")[2:4])
    assert (int(failed), int(warnings)) == results_counts(title), row[:120]


def test_results_carry_no_machine_paths() -> None:
    assert not re.search(r"(?<![\w.])/(work|home|root|tmp|Users)/", RESULTS)


def test_the_report_strips_this_checkouts_paths() -> None:
    quoted = f"at parse ({ROOT}/tests/conformance_official/v01/node_modules/body-parser/index.js)"
    assert portable(quoted) == "at parse (tests/conformance_official/v01/node_modules/body-parser/index.js)"
    assert str(Path.home()) not in portable(f"{Path.home()}/x.js")
