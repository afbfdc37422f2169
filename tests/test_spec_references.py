"""Every reference in the repository can be followed by a reader of the repository.

Code, tests and docs cite the MCP specification itself (revision, page and heading, e.g.
``2025-11-25 basic/transports#resumability-and-redelivery``), a public repository
(``owner/repo#123``) or a file that is in the repository, never a private document: a
"digest", "DESIGN", "anchors", a bare "issue N" or a section of a guide that is not here.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Names of documents that are not in the repository, as the code used to cite them.
UNFOLLOWABLE = re.compile(
    r"digest §"  # the private spec digest, by section
    r"|\[digest\b"
    r"|mcp-digest"
    r"|\bDESIGN\b"  # the private design notes
    r"|\banchors(?:\.md| §)"
    r"|\bconformance\.md\b"  # the private guide to the official suite
    r"|notes-production"
    r"|(?<![\w/-])[Ii]ssue #?\d"  # an issue without its repository
)

# Not ours (the official suite's npm packages), or being restructured right now: these are
# excluded until the restructuring lands, then the scope widens to the whole repository.
EXCLUDED = (
    "tests/conformance_official/",
    "tests/test_spec_references.py",  # this file names the patterns it looks for
)


def tracked_files() -> list[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    return [name for name in out.decode().split("\0") if name]


def unfollowable_references(names: list[str]) -> list[str]:
    """``path:line: text`` for every line citing a document that is not in the repository."""
    found = []
    for name in names:
        if name.startswith(EXCLUDED):
            continue
        path = ROOT / name
        if not path.is_file():  # deleted in the work tree, or a symlink to a directory
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if UNFOLLOWABLE.search(line):
                found.append(f"{name}:{number}: {line.strip()[:100]}")
    return found


def test_no_reference_to_a_document_outside_the_repository() -> None:
    found = unfollowable_references(tracked_files())
    assert not found, "cite the spec (revision page#heading) or a file in the repository:\n" + "\n".join(
        found
    )


@pytest.mark.parametrize(
    "line",
    [
        "# Progress extends the deadline (digest §4.7).",
        "| MUST | basic/transports [digest §2.A.5] |",
        "see DESIGN for why",
        "a distinct code; anchors §7 item 13.",
        '"""The benchmark harness (issue 6)."""',
        "fixed in Issue #12",
        "(conformance.md §8 pitfall 6)",
    ],
)
def test_the_pattern_catches_each_old_form(line: str) -> None:
    assert UNFOLLOWABLE.search(line)


@pytest.mark.parametrize(
    "line",
    [
        "# (2025-11-25 basic/transports#resumability-and-redelivery)",
        "python-sdk#1821 answers 404 with -32600",
        "modelcontextprotocol/modelcontextprotocol#3348",
        "return hashlib.sha256(data).hexdigest()[:32]",
        "hmac.compare_digest(a, b)",
        "What each check means: docs/conformance-suite.md.",
        "the suite's README, §Client Testing",
    ],
)
def test_the_pattern_leaves_followable_references_alone(line: str) -> None:
    assert not UNFOLLOWABLE.search(line)
