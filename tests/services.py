"""Real services for tests: redis-server, haproxy and nginx, from Debian's packages
(``scripts/ensure-system-packages`` installs them; ``make test`` runs it).

* ``redis_server`` (session): a redis-server on a free loopback port with its own temp dir and
  no persistence, stopped at the end. ``.url`` to connect; ``.stop()``/``.start()``/
  ``.stopped()`` for fault tests (same port and URL after a restart). Tests share it: each
  uses its own key prefix, and a test that stops it uses ``stopped()`` so it comes back.
* ``haproxy`` (factory): ``haproxy([port, ...]) -> Haproxy``, a plain round-robin HTTP load
  balancer in front of the given loopback ports, stopped at the end of the test.
* ``nginx`` (factory): ``nginx([port, ...]) -> Nginx``, the same in nginx (``nginx_config``),
  one foreground process with its pid, logs and temp files in a temp dir of its own.
* ``cluster`` (module): three ``servers.everything`` workers on ``redis_server`` (a key prefix
  of their own) behind haproxy: ``.url`` is the balancer's endpoint, ``.workers`` the
  processes (``.kill_worker(n)``, ``.restart_worker(n)`` for fault tests), ``.logs()`` theirs;
  ``.through("nginx")`` is the same cluster with ``.url`` on an nginx in front of the same
  workers (started at its first use).

Registered for the whole suite from ``tests/conftest.py``.
"""

from __future__ import annotations

import copy
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
from typing import Any, TypeVar

import pytest
import redis

from tests.interop_servers import ServerProcess, free_port, our_server

__all__ = [
    "CLUSTER_WORKERS",
    "REQUEST_STATE_KEY",
    "Cluster",
    "Haproxy",
    "Nginx",
    "RedisServer",
    "cluster",
    "haproxy",
    "haproxy_config",
    "nginx",
    "nginx_config",
    "redis_server",
    "worker_options",
]

# haproxy and nginx live in /usr/sbin, often missing from a non-root PATH.
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


_Balancer = TypeVar("_Balancer", bound=ServerProcess)


@contextmanager
def _started(tmp_path: Path, make: Callable[..., _Balancer]) -> Iterator[Callable[..., _Balancer]]:
    """A factory of started ``make(directory, *args, **options)``, each in a directory of its
    own under ``tmp_path``; all stopped when the block ends."""
    running: list[_Balancer] = []

    def start(*args: Any, **options: Any) -> _Balancer:
        directory = tmp_path / f"{make.__name__.lower()}{len(running)}"
        directory.mkdir()
        proxy = make(directory, *args, **options)
        proxy.start()
        running.append(proxy)
        return proxy

    try:
        yield start
    finally:
        for proxy in running:
            proxy.stop()


@pytest.fixture
def haproxy(tmp_path: Path) -> Iterator[Callable[..., Haproxy]]:
    """``haproxy(ports, health_path=None) -> Haproxy`` (started; ``.url`` is its root)."""
    with _started(tmp_path, Haproxy) as start:
        yield start


def nginx_config(port: int, backends: list[int]) -> str:
    """The nginx twin of ``haproxy_config`` (an ``http {}`` include, shown in
    docs/deployment.md): round robin with no affinity, keep-alive to the workers, SSE passed
    through unbuffered, the workers' own 413, no POST ever sent to a second worker."""
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in backends)
    return f"""\
upstream mcp_workers {{
    # Round robin (the default): no ip_hash, hash or sticky. Each request is balanced on
    # its own, also on a kept-alive client connection.
{servers}
    keepalive 32;
    # Below uvicorn's 5 s keep-alive: never reuse a connection the worker is closing.
    keepalive_timeout 4s;
}}

server {{
    listen 127.0.0.1:{port};

    location / {{
        proxy_pass http://mcp_workers;
        # Keep-alive to the workers (the default is HTTP/1.0 and "Connection: close").
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        # The Host the client sent: the workers check it (allowed_hosts).
        proxy_set_header Host $http_host;
        # Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID and Origin go to the worker
        # and Mcp-Worker comes back as they are: nginx passes every header it does not set.
        # SSE: each event at once, nothing stored (the workers also send X-Accel-Buffering: no).
        proxy_buffering off;
        proxy_cache off;
        # The whole body first, then the worker: one over its 4 MiB gets the worker's JSON-RPC
        # 413. Streamed (proxy_request_buffering off), the worker answers before nginx has read
        # the body, and nginx then closes the client's connection after the 413.
        proxy_request_buffering on;
        # Above the workers' 4 MiB, so the worker answers; over 5 MiB nginx answers, in JSON-RPC.
        client_max_body_size 5m;
        error_page 413 @body_too_large;
        # An SSE stream may be quiet between keepalives (15 s): this bounds silence, not length.
        proxy_read_timeout 1h;
        proxy_connect_timeout 2s;
        # A connect refused or timed out (a dead worker) goes to the next worker. A request a
        # worker received is never sent again: nginx retries no POST once sent (no
        # non_idempotent here), and a tools/call must not run twice.
        proxy_next_upstream error timeout;
        proxy_next_upstream_tries 3;
    }}

    location @body_too_large {{
        default_type application/json;
        return 413 '{{"jsonrpc":"2.0","id":null,"error":{{"code":-32012,"data":{{"limit":5242880}},
            "message":"Request body too large: over the 5242880-byte limit; send a smaller message"}}}}';
    }}
}}
"""


# Around nginx_config, for a test: one process in the foreground with everything under its
# prefix (-p); no master, so no switch to www-data, which could not write the temp dir.
_NGINX_MAIN = """\
daemon off;
master_process off;
pid nginx.pid;
error_log error.log info;
events {
    worker_connections 1024;
}
http {
    log_format upstream '$request $status upstream=$upstream_addr $upstream_status';
    access_log access.log upstream;
    client_body_temp_path client_body;
    proxy_temp_path proxy;
    fastcgi_temp_path fastcgi;
    uwsgi_temp_path uwsgi;
    scgi_temp_path scgi;
    include mcp.conf;
}
"""


class Nginx(ServerProcess):
    """nginx in the foreground with ``nginx_config``; ``access_log()`` names each request's worker."""

    def __init__(self, directory: Path, backends: list[int]) -> None:
        port = free_port()
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "mcp.conf").write_text(nginx_config(port, backends))
        config = directory / "nginx.conf"
        config.write_text(_NGINX_MAIN)
        binary = _command("nginx")
        # -p: every relative path is in the directory; -e: the log nginx opens before its config.
        argv = [binary, "-p", f"{directory}/", "-e", str(directory / "error.log"), "-c", str(config)]
        checked = subprocess.run([*argv, "-t", "-q"], capture_output=True, text=True, check=False)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx rejected {config}:\n{checked.stdout}{checked.stderr}")
        super().__init__(argv, port, log=directory / "stderr.log")
        self.url = f"http://127.0.0.1:{port}"

    def access_log(self) -> str:
        return (self.directory / "access.log").read_text(errors="replace")


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Callable[..., Nginx]]:
    """``nginx(ports) -> Nginx`` (started; ``.url`` is its root)."""
    with _started(tmp_path, Nginx) as start:
        yield start


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
        self.nginx: Nginx | None = None  # started by through("nginx")
        self.url = self.proxy.url + "/mcp"
        # The URL the official suite needs (its DNS-rebinding scenario wants the host localhost).
        self.localhost_url = f"http://localhost:{self.proxy.port}/mcp"

    def start(self) -> Cluster:
        for worker in self.workers:
            worker.start()
        self.proxy.start()
        self.proxy.wait_states({f"w{n}": "UP" for n in range(len(self.workers))})
        return self

    def through(self, balancer: str) -> Cluster:
        """This cluster with ``.url`` on ``balancer`` ("haproxy" or "nginx", both round robin
        in front of the same workers): a view sharing the workers, Redis and balancers."""
        view = copy.copy(self)
        if balancer == "nginx":
            if self.nginx is None:
                self.nginx = Nginx(self.directory / "nginx", [worker.port for worker in self.workers])
                self.nginx.start()
            view.url = self.nginx.url + "/mcp"
            view.localhost_url = f"http://localhost:{self.nginx.port}/mcp"
        elif balancer != "haproxy":
            raise ValueError(f"unknown balancer {balancer!r}: haproxy or nginx")
        return view

    def stop(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
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
        text = "\n".join(
            f"--- worker{n} ---\n" + (self.directory / f"worker{n}.log").read_text(errors="replace")[-4000:]
            for n in range(len(self.workers))
        )
        if self.nginx is not None:  # which worker each request went to, and nginx's errors
            text += "\n--- nginx ---\n" + self.nginx.access_log()[-2000:]
            text += (self.nginx.directory / "error.log").read_text(errors="replace")[-2000:]
        return text


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
