"""Real services for tests: redis-server and haproxy, from Debian's packages
(``scripts/ensure-system-packages`` installs them; ``make test`` runs it).

* ``redis_server`` (session): a redis-server on a free loopback port with its own temp dir and
  no persistence, stopped at the end. ``.url`` to connect; ``.stop()``/``.start()``/
  ``.stopped()`` for fault tests (same port and URL after a restart). Tests share it: each
  uses its own key prefix, and a test that stops it uses ``stopped()`` so it comes back.
* ``haproxy`` (factory): ``haproxy([port, ...]) -> Haproxy``, a plain round-robin HTTP load
  balancer in front of the given loopback ports, stopped at the end of the test.
* ``cluster`` (module): three ``servers.everything`` workers on ``redis_server`` (a key prefix
  of their own) behind haproxy: ``.url`` is the balancer's endpoint, ``.workers`` the
  processes (``.kill_worker(n)``, ``.restart_worker(n)`` for fault tests), ``.logs()`` theirs.

Registered for the whole suite from ``tests/conftest.py``.
"""

from __future__ import annotations

import csv
import io
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.interop_servers import ServerProcess, free_port, our_server

__all__ = [
    "CLUSTER_WORKERS",
    "REQUEST_STATE_KEY",
    "Cluster",
    "Haproxy",
    "RedisServer",
    "cluster",
    "haproxy",
    "haproxy_config",
    "redis_server",
    "worker_options",
]

# haproxy lives in /usr/sbin, often missing from a non-root PATH.
_SBIN = "/usr/local/sbin:/usr/sbin:/sbin"


def _command(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=_SBIN)
    if found is None:
        pytest.fail(f"{name} is not installed: run scripts/ensure-system-packages (make test does)")
    return found


class RedisServer(ServerProcess):
    """redis-server on 127.0.0.1:``port``, data and log in ``directory``, nothing persisted."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        port = port or free_port()
        argv = [_command("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
        # No RDB snapshots, no AOF: a test server keeps nothing after it stops.
        argv += ["--save", "", "--appendonly", "no", "--logfile", str(directory / "redis.log")]
        super().__init__(argv, port)
        self.url = f"redis://127.0.0.1:{port}/0"
        self.directory = directory

    @contextmanager
    def stopped(self, *, kill: bool = False, keep_data: bool = False) -> Iterator[None]:
        """Redis is down inside the block (SIGKILL with ``kill``), back on the same port after;
        with ``keep_data`` it comes back with its data (a snapshot taken just before it stops,
        as a Redis with persistence would), else empty."""
        snapshot = self.directory / "dump.rdb"
        if keep_data:
            with redis.Redis.from_url(self.url, socket_timeout=5) as client:
                client.save()
        if kill:
            self.kill()
        else:
            self.stop()
        try:
            yield
        finally:
            self.start()
            snapshot.unlink(missing_ok=True)  # loaded (or never taken): later restarts come back empty


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


def haproxy_config(port: int, backends: list[int], stats_socket: Path, health_path: str | None) -> str:
    """A plain round-robin HTTP balancer: no stickiness, keep-alive on both sides (each
    request of a client connection is balanced on its own), health checks, SSE timeouts."""
    check = "check inter 500ms fall 2 rise 2"
    servers = "\n".join(f"    server w{i} 127.0.0.1:{p} {check}" for i, p in enumerate(backends))
    http_check = (
        f"    option httpchk GET {health_path}\n    http-check expect status 200\n" if health_path else ""
    )
    return f"""\
global
    nbthread 1
    maxconn 1024
    stats socket {stats_socket} mode 600 level admin

defaults
    mode http
    # Keep-alive, never http-server-close (it resets the client after a 413 from uvicorn).
    option http-keep-alive
    timeout connect 2s
    timeout http-request 10s
    timeout http-keep-alive 60s
    # An SSE stream may be quiet between keepalives: these bound inactivity, not length.
    timeout client 1h
    timeout server 1h
    timeout check 2s
    # A connect refused by a dead worker is retried on another one.
    retries 2
    option redispatch 1

frontend mcp
    bind 127.0.0.1:{port}
    default_backend workers

backend workers
    balance roundrobin
{http_check}{servers}
"""


class Haproxy(ServerProcess):
    """haproxy in the foreground with ``haproxy_config``; ``states()`` reads its stats socket."""

    def __init__(self, directory: Path, backends: list[int], health_path: str | None = None) -> None:
        port = free_port()
        self.stats_socket = directory / "admin.sock"
        config = directory / "haproxy.cfg"
        config.write_text(haproxy_config(port, backends, self.stats_socket, health_path))
        binary = _command("haproxy")
        checked = subprocess.run(
            [binary, "-c", "-q", "-f", str(config)], capture_output=True, text=True, check=False
        )
        if checked.returncode != 0:
            raise RuntimeError(f"haproxy rejected {config}:\n{checked.stdout}{checked.stderr}")
        super().__init__([binary, "-db", "-f", str(config)], port)
        self.url = f"http://127.0.0.1:{port}"

    def states(self) -> dict[str, str]:
        """``{"w0": "UP", "w1": "DOWN", ...}`` for the backend's servers."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.stats_socket))
            sock.sendall(b"show stat\n")
            raw = b"".join(iter(lambda: sock.recv(65536), b""))
        rows = csv.DictReader(io.StringIO(raw.decode().lstrip("# ")))
        return {
            row["svname"]: row["status"]
            for row in rows
            if row["pxname"] == "workers" and row["svname"].startswith("w")
        }

    def wait_states(self, expected: dict[str, str], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while (states := self.states()) != expected:
            if time.monotonic() > deadline:
                raise AssertionError(f"haproxy servers {states}, expected {expected}")
            time.sleep(0.05)


@pytest.fixture
def haproxy(tmp_path: Path) -> Iterator[Callable[..., Haproxy]]:
    """``haproxy(ports, health_path=None) -> Haproxy`` (started; ``.url`` is its root)."""
    running: list[Haproxy] = []

    def start(backends: list[int], health_path: str | None = None) -> Haproxy:
        directory = tmp_path / f"haproxy{len(running)}"
        directory.mkdir()
        proxy = Haproxy(directory, backends, health_path)
        proxy.start()
        running.append(proxy)
        return proxy

    yield start
    for proxy in running:
        proxy.stop()


# The MRTR requestState key every test worker shares (a retried round may land on any worker).
REQUEST_STATE_KEY = "6d63702d7472616e73706f72742074657374206b6579206f6e6c792121212121"
CLUSTER_WORKERS = 3
# Short, so that a killed worker is noticed within a test's patience (lease + lease/3).
CLUSTER_LEASE = 3.0


def worker_options(redis_url: str, prefix: str, lease: float = CLUSTER_LEASE) -> list[str]:
    """The command-line options of one worker of a test deployment."""
    return [
        "--redis-url",
        redis_url,
        "--redis-prefix",
        prefix,
        "--worker-lease",
        str(lease),
        "--request-state-key",
        REQUEST_STATE_KEY,
    ]


class Cluster:
    """``count`` workers of ``servers.everything`` sharing ``redis`` under ``prefix``, behind
    one haproxy (``haproxy_config``: round robin, keep-alive, no stickiness)."""

    def __init__(self, directory: Path, redis: RedisServer, count: int = CLUSTER_WORKERS) -> None:
        self.directory = directory
        self.redis = redis
        self.prefix = f"cluster-{uuid.uuid4().hex[:8]}:"
        self.options = worker_options(redis.url, self.prefix)
        self.workers = [
            our_server(None, *self.options).with_log(directory / f"worker{n}.log") for n in range(count)
        ]
        self.proxy = Haproxy(directory, [worker.port for worker in self.workers])
        self.url = self.proxy.url + "/mcp"
        # The URL the official suite needs (its DNS-rebinding scenario wants the host localhost).
        self.localhost_url = f"http://localhost:{self.proxy.port}/mcp"

    def start(self) -> Cluster:
        for worker in self.workers:
            worker.start()
        self.proxy.start()
        self.proxy.wait_states({f"w{n}": "UP" for n in range(len(self.workers))})
        return self

    def stop(self) -> None:
        self.proxy.stop()
        for worker in self.workers:
            worker.stop()

    def kill_worker(self, n: int) -> None:
        """SIGKILL worker ``n``: it dies holding whatever it was doing."""
        self.workers[n].kill()

    def restart_worker(self, n: int) -> None:
        """Worker ``n`` again (a new process, so a new worker id), up in the balancer."""
        self.workers[n].start()
        self.proxy.wait_states({f"w{i}": "UP" for i in range(len(self.workers))})

    def alive(self) -> list[bool]:
        return [w.process is not None and w.process.poll() is None for w in self.workers]

    def logs(self) -> str:
        return "\n".join(
            f"--- worker{n} ---\n" + (self.directory / f"worker{n}.log").read_text(errors="replace")[-4000:]
            for n in range(len(self.workers))
        )


@pytest.fixture(scope="module")
def cluster(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Three workers on Redis behind haproxy, started once per test module."""
    running = Cluster(tmp_path_factory.mktemp("cluster"), redis_server).start()
    try:
        yield running
    finally:
        running.stop()
        for n in range(len(running.workers)):  # a worker that crashed leaves a traceback
            text = (running.directory / f"worker{n}.log").read_text(errors="replace")
            if "Traceback" in text:
                print(f"worker{n} log:\n{text[-6000:]}", file=sys.stderr)
