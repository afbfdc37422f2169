"""The console examples of docs/guides/cli.md run as shown: each ``$`` line through bash
(``mcp-transport`` as this checkout's ``python -m mcp_transport``, ``python`` as the venv's
interpreter, the example server on a free port for http://127.0.0.1:8000/mcp), with the
exit status its ``# exit N`` comment gives (0 without one) and the output lines shown."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.interop_servers import REPO

GUIDE = (REPO / "docs" / "guides" / "cli.md").read_text()
BLOCKS = re.findall(r"```console\n(.*?)```", GUIDE, re.DOTALL)
MINIMAL_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}


def examples() -> list[tuple[str, int, str]]:
    """(command, exit status, the start of its output) for every ``$`` line."""
    found: list[tuple[str, int, str]] = []
    for block in BLOCKS:
        for chunk in re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]:
            command, *shown = chunk.rstrip("\n").split("\n")
            status = re.search(r"\s+# exit (\d+)$", command)
            found.append(
                (
                    command[: status.start()] if status else command,
                    int(status[1]) if status else 0,
                    "\n".join(shown),
                )
            )
    return found


EXAMPLES = examples()


@pytest.fixture(scope="module")
def server_url(everything_url: str) -> str:
    return everything_url


@pytest.mark.parametrize(("command", "status", "shown"), EXAMPLES, ids=[c for c, _, _ in EXAMPLES])
def test_cli_guide_example(command: str, status: int, shown: str, server_url: str) -> None:
    line = (
        command.replace("mcp-transport", f"{sys.executable} -m mcp_transport")
        .replace('"python ', f'"{sys.executable} ')
        .replace("http://127.0.0.1:8000/mcp", server_url)
    )
    done = subprocess.run(
        ["bash", "-c", line], cwd=REPO, env=MINIMAL_ENV, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == status, done.stderr
    assert done.stdout.startswith(shown), done.stdout
    if status:
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_the_guide_has_examples() -> None:
    assert len(EXAMPLES) >= 8
