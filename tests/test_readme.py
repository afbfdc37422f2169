"""Every Python snippet of the README runs as pasted into a file, from another directory,
with the project's interpreter (the HTTP one against the example server, which ``make run``
serves on port 8000 and this test on a free port)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.interop_servers import REPO

SNIPPETS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.DOTALL)


@pytest.fixture(scope="module")
def example_server(everything_url: str) -> str:
    return everything_url


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_readme_snippet_runs(index: int, tmp_path: Path, example_server: str) -> None:
    code = SNIPPETS[index].replace("http://127.0.0.1:8000/mcp", example_server)
    script = tmp_path / f"snippet_{index}.py"
    script.write_text(code)
    # PYTHONPATH: this checkout's package rather than the one the venv has installed.
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_readme_has_the_snippets() -> None:
    assert len(SNIPPETS) >= 3 and any("sys.executable" in s and "anyio.run" in s for s in SNIPPETS)
