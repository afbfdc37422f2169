"""``mcp_transport.testing`` is a public testing API that sits above the library: it imports
the server, and nothing in the library imports it (like ``starlette.testclient``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mcp_transport.testing

ROOT = Path(__file__).resolve().parent.parent


def test_it_is_public() -> None:
    assert mcp_transport.testing.__all__ == ["MemoryClient"]
    assert "docs/guides/testing.md" in (mcp_transport.testing.__doc__ or "")
    assert (ROOT / "docs" / "guides" / "testing.md").is_file()


def test_importing_the_library_does_not_load_it() -> None:
    code = (
        "import sys, mcp_transport, mcp_transport.server, mcp_transport.client, mcp_transport.cli\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('mcp_transport.testing'))\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_no_library_module_imports_it() -> None:
    importers = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "mcp_transport").rglob("*.py")
        if path.name != "testing.py" and "testing import" in path.read_text()
    ]
    assert not importers
