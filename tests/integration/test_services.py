"""The real-service fixtures themselves: redis-server, haproxy and nginx as the tests will use them."""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis

from mcp_transport.jsonrpc import REQUEST_TOO_LARGE
from tests.interop_servers import ServerProcess
from tests.services import Haproxy, Nginx, RedisServer, haproxy_config, nginx_config


def test_redis_server_is_private_unpersisted_and_restartable(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url, socket_timeout=2)
    assert client.ping()
    assert client.config_get("save") == {"save": ""} and client.config_get("appendonly") == {
        "appendonly": "no"
    }
    assert client.config_get("bind")["bind"] == "127.0.0.1"
    with redis_server.stopped(), pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(redis_server.url, socket_timeout=2).ping()
    assert redis.Redis.from_url(redis_server.url, socket_timeout=2).ping()  # same URL after restart


class _Named(BaseHTTPRequestHandler):
    """Answers every GET with the server's name, keeping the connection alive; ``/sse`` is
    an event stream of two events 0.5 s apart."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == "/sse":
            self._sse()
            return
        body = self.server.name.encode()  # type: ignore[attr-defined]  # the test sets a name attribute on its server
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for i in range(2):
            self.wfile.write(b"data: %d\n\n" % i)
            self.wfile.flush()
            time.sleep(0.5)
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def backends() -> Iterator[list[ThreadingHTTPServer]]:
    """Two tiny HTTP/1.1 servers on loopback, named "a" and "b"."""
    servers = []
    for name in ("a", "b"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Named)
        server.daemon_threads = True
        server.name = name  # type: ignore[attr-defined]  # the test sets a name attribute on its server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(params=["haproxy", "nginx"])
def balancer(
    request: pytest.FixtureRequest, haproxy: Callable[..., Haproxy], nginx: Callable[..., Nginx]
) -> Callable[[list[int]], ServerProcess]:
    """Each balancer's factory in turn: both are round robin with the same promises."""
    return haproxy if request.param == "haproxy" else nginx


def _get_all(proxy: ServerProcess, count: int) -> list[str]:
    """``count`` GETs on ONE client connection; asserts the connection was never reopened."""
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
    served: list[str] = []
    sock = None
    try:
        for _ in range(count):
            conn.request("GET", "/health")
            response = conn.getresponse()
            served.append(response.read().decode())
            assert response.status == 200 and not response.will_close
            sock = sock or conn.sock
            assert conn.sock is sock, "the client connection was reopened"
    finally:
        conn.close()
    return served


def test_the_balancer_balances_each_request_of_a_keepalive_connection(
    balancer: Callable[[list[int]], ServerProcess], backends: list[ThreadingHTTPServer]
) -> None:
    """Round robin per request, not per connection (nginx over its upstream keepalive pool)."""
    proxy = balancer([server.server_address[1] for server in backends])
    served = _get_all(proxy, 6)
    assert sorted(served) == ["a", "a", "a", "b", "b", "b"]
    assert all(x != y for x, y in itertools.pairwise(served)), served  # strict alternation


def test_haproxy_health_check_takes_a_dead_backend_out(
    haproxy: Callable[..., Haproxy], backends: list[ThreadingHTTPServer]
) -> None:
    proxy = haproxy([server.server_address[1] for server in backends], health_path="/health")
    proxy.wait_states({"w0": "UP", "w1": "UP"})
    backends[1].shutdown()
    backends[1].server_close()
    proxy.wait_states({"w0": "UP", "w1": "DOWN"})
    assert _get_all(proxy, 4) == ["a"] * 4


def test_nginx_sends_a_refused_request_to_the_next_backend(
    nginx: Callable[..., Nginx], backends: list[ThreadingHTTPServer]
) -> None:
    """No health check in open-source nginx: a refused connect (a dead worker; the request
    never reached it) goes to the next server (``proxy_next_upstream error``), and the dead
    one is skipped for ``fail_timeout``."""
    proxy = nginx([server.server_address[1] for server in backends])
    backends[1].shutdown()
    backends[1].server_close()
    assert _get_all(proxy, 4) == ["a"] * 4
    assert "connect() failed (111: Connection refused)" in (proxy.directory / "error.log").read_text()


def test_nginx_answers_a_body_over_its_own_limit_in_json_rpc(
    nginx: Callable[..., Nginx], backends: list[ThreadingHTTPServer]
) -> None:
    """Over ``client_max_body_size`` no worker sees the request: nginx's 413 carries the same
    JSON-RPC error as a worker's (-32012, what to fix), not an HTML page."""
    proxy = nginx([backends[0].server_address[1]])
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    try:
        conn.request(
            "POST", "/mcp", body=b"x" * (5 * 1024 * 1024 + 1), headers={"content-type": "application/json"}
        )
        response = conn.getresponse()
        assert response.status == 413 and response.getheader("content-type") == "application/json"
        body = json.loads(response.read())
    finally:
        conn.close()
    assert body["jsonrpc"] == "2.0" and body["id"] is None
    assert body["error"]["code"] == REQUEST_TOO_LARGE and "send a smaller message" in body["error"]["message"]


def test_the_balancer_passes_an_event_stream_through_unbuffered(
    balancer: Callable[[list[int]], ServerProcess], backends: list[ThreadingHTTPServer]
) -> None:
    """The backend sends no X-Accel-Buffering here: the balancer's own setting is tested."""
    proxy = balancer([backends[0].server_address[1]])
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
    try:
        conn.request("GET", "/sse")
        response = conn.getresponse()
        started = time.monotonic()
        assert response.read1(64) == b"data: 0\n\n"
        assert time.monotonic() - started < 0.3  # the first event came before the second was sent
        assert response.read() == b"data: 1\n\n"
    finally:
        conn.close()


def test_the_documented_haproxy_configuration_is_the_tested_one() -> None:
    """docs/deployment.md shows the configuration the cluster tests run, byte for byte (three
    workers on 8001-8003, the balancer on 8000): an operator copies what is tested."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "deployment.md").read_text()
    expected = haproxy_config(8000, [8001, 8002, 8003], Path("/run/haproxy/admin.sock"), None)
    assert f"```\n{expected}```" in docs


def test_the_documented_nginx_configuration_is_the_tested_one() -> None:
    """The same for nginx: the server block the cluster tests run through, byte for byte."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "deployment.md").read_text()
    assert f"```\n{nginx_config(8000, [8001, 8002, 8003])}```" in docs
