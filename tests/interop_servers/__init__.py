"""Servers for interop and fault tests, and a helper to run one on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

__all__ = [
    "HERE",
    "REPO",
    "ServerProcess",
    "everything_url",
    "free_port",
    "our_server",
    "quiet_on_closed_stdout",
    "sdk_server",
    "wait_listening",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(process: subprocess.Popen[bytes], port: int, timeout: float = 20.0) -> None:
    """Return once something listens on 127.0.0.1:``port``; raise if ``process`` exits first
    or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{process.args!r} did not listen on port {port} within {timeout} s")


class ServerProcess:
    """A server subprocess listening on 127.0.0.1:port; ``stop()`` kills it for good."""

    def __init__(self, argv: list[str], port: int, log: Path | None = None) -> None:
        self.argv = argv
        self.port = port
        self.url = f"http://127.0.0.1:{port}/mcp"
        self.log = log  # where its stdout and stderr go (appended; None: nowhere)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> ServerProcess:
        env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        out = self.log.open("ab") if self.log is not None else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(self.argv, cwd=str(REPO), env=env, stdout=out, stderr=out)
        finally:
            if not isinstance(out, int):
                out.close()  # the child holds its own descriptor
        try:
            wait_listening(self.process, self.port, timeout)
        except RuntimeError:
            self.stop()
            raise
        return self

    def with_log(self, path: Path) -> ServerProcess:
        """Send its output to ``path`` (appended over restarts)."""
        self.log = path
        return self

    def kill(self) -> None:
        """SIGKILL: the server dies without closing anything gracefully."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()


def sdk_server(port: int | None = None, *extra: str) -> ServerProcess:
    port = port or free_port()
    return ServerProcess([sys.executable, str(HERE / "sdk_server.py"), "--port", str(port), *extra], port)


def our_server(port: int | None = None, *extra: str) -> ServerProcess:
    port = port or free_port()
    return ServerProcess([sys.executable, "-m", "servers.everything", "--port", str(port), *extra], port)


@pytest.fixture(scope="module")
def everything_url() -> Iterator[str]:
    """servers.everything over HTTP on a free port, for one test module (import the fixture)."""
    server = our_server().start()
    try:
        yield server.url
    finally:
        server.stop()


def quiet_on_closed_stdout(argv: list[str], env: dict[str, str] | None = None) -> None:
    """Run ``argv`` with its stdout closed before the first line is written (``... | head``):
    it must exit 0 or 141 without a traceback."""
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # every write hits a closed pipe
    try:
        stderr = proc.stderr.read().decode()
        code = proc.wait(60)
    finally:
        proc.kill()
    assert code in (0, 141) and "Traceback" not in stderr and "BrokenPipe" not in stderr, (code, stderr)
