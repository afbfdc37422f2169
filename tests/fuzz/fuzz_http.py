"""The checks every HTTP fuzz property makes, against a real uvicorn (see conftest.py).

Invariants (2025-11-25 basic/transports#streamable-http and 2026-07-28
basic/transports#streamable-http): never a 5xx (but the documented 503 + Retry-After of a
full session table); every 4xx carries a JSON-RPC error body; the server answers a valid
request afterwards; every internal structure stays within its configured bound; RSS stays
within a fixed budget.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from servers_for_tests import JSON_AND_SSE, parse_sse

from mcp_transport.protocol import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION

# Small bounds, so the properties reach them.
BOUNDS: dict[str, Any] = {
    "max_sessions": 64,
    "session_idle_timeout": 5.0,
    "init_timeout": 2.0,
    "max_body_bytes": 256 * 1024,
    "max_stream_events": 32,
    "max_stream_bytes": 4 * 1024,
    "max_total_bytes": 8 * 1024,  # two streams' worth: the fair total bound engages
}
RSS_BUDGET_BYTES = 200 * 1024 * 1024  # growth allowed over the module's run (server + client)
SERVER_OVERLOADED = -32010


def rss_bytes(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def modern_meta(**extra: Any) -> dict[str, Any]:
    return {META_PROTOCOL_VERSION: "2026-07-28", META_CLIENT_CAPABILITIES: {}, **extra}


class FuzzEndpoint:
    """A synchronous raw client for one fuzzed endpoint, with the shared checks."""

    def __init__(self, url: str, endpoint: Any) -> None:
        self.url = url
        self.endpoint = endpoint  # StreamableHTTP: its session store and event log
        self.client = httpx.Client(timeout=httpx.Timeout(15.0, read=10.0))
        self.rss_start = rss_bytes()

    def close(self) -> None:
        self.client.close()

    # -- requests -----------------------------------------------------------------------------

    def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        response = self.client.send(self.build("POST", headers, body))
        check_reply(response)
        return response

    def build(self, method: str, headers: dict[str, str], body: bytes = b"") -> httpx.Request:
        """A request with exactly these headers: httpx's default ``Accept: */*`` is dropped
        when the fuzzed set has none, so a missing Accept is tested too."""
        request = self.client.build_request(method, self.url, content=body, headers=wire(headers))
        if not any(name.lower() == "accept" for name in headers):
            del request.headers["accept"]
        return request

    def initialize(self, version: str = "2025-11-25") -> str:
        message = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": version,
                "capabilities": {},
                "clientInfo": {"name": "fuzz", "version": "1"},
            },
        }
        response = self.post(orjson.dumps(message), JSON_AND_SSE)
        assert response.status_code == 200, response.text
        session = response.headers["mcp-session-id"]
        ack = self.post(
            orjson.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            self.session_headers(session, version),
        )
        assert ack.status_code == 202, ack.text
        return session

    def session_headers(self, session: str, version: str) -> dict[str, str]:
        return {**JSON_AND_SSE, "mcp-session-id": session, "mcp-protocol-version": version}

    def delete(self, session: str) -> None:
        check_reply(self.client.send(self.build("DELETE", {"mcp-session-id": session})))

    # -- invariants ----------------------------------------------------------------------------

    def assert_healthy(self) -> None:
        """A valid request on either era is answered after whatever came before."""
        session = self.initialize()
        try:
            ping = self.post(
                orjson.dumps({"jsonrpc": "2.0", "id": "h", "method": "ping"}),
                self.session_headers(session, "2025-11-25"),
            )
            assert ping.status_code == 200 and messages_of(ping)[-1] == {
                "jsonrpc": "2.0",
                "id": "h",
                "result": {},
            }, ping.text
        finally:
            self.delete(session)
        discover = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "server/discover",
            "params": {"_meta": modern_meta()},
        }
        headers = {**JSON_AND_SSE, "mcp-protocol-version": "2026-07-28", "mcp-method": "server/discover"}
        answer = self.post(orjson.dumps(discover), headers)
        assert answer.status_code == 200 and "result" in messages_of(answer)[-1], answer.text
        grown = rss_bytes() - self.rss_start
        assert grown < RSS_BUDGET_BYTES, f"RSS grew by {grown >> 20} MiB"

    def assert_bounded(self) -> None:
        """Every structure of the session store and the event log within its configured bound."""
        assert_bounded(self.endpoint)


def wire(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """Header values as latin-1 bytes (obs-text included): what arrives, whatever the text."""
    return [(name.encode(), _octets(value)) for name, value in headers.items()]


def _octets(value: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:  # beyond latin-1 a client can only send UTF-8 octets
        return value.encode()


def check_reply(response: httpx.Response) -> None:
    """Never a 5xx; every 4xx (and the one documented 503) with a JSON-RPC error body."""
    status = response.status_code
    if status == 503:
        body = error_body(response)
        assert body["error"]["code"] == SERVER_OVERLOADED and "retry-after" in response.headers, response.text
        return
    assert status < 500, f"{status}: {response.text[:300]}"
    if status >= 400:
        error_body(response)
    elif status == 200:
        messages_of(response)  # a well-formed JSON or SSE answer


def error_body(response: httpx.Response) -> dict[str, Any]:
    assert response.headers.get("content-type", "").startswith("application/json"), (
        response.status_code,
        response.headers,
    )
    body = response.json()
    assert isinstance(body, dict) and body.get("jsonrpc") == "2.0", body
    error = body.get("error")
    assert isinstance(error, dict) and type(error.get("code")) is int, body
    assert isinstance(error.get("message"), str) and error["message"], body
    assert body.get("id") is None or type(body["id"]) in (str, int), body
    return body


def messages_of(response: httpx.Response) -> list[Any]:
    """The JSON-RPC messages of a 200 answer, JSON or SSE."""
    kind = response.headers.get("content-type", "")
    if kind.startswith("application/json"):
        body = response.json()
        return body if isinstance(body, list) else [body]
    assert kind.startswith("text/event-stream"), kind
    return [event["data"] for event in parse_sse(response.text) if event.get("data")]


def assert_bounded(endpoint: Any) -> None:
    """The session table and the event log (MemoryEventLog's documented bounds): per stream
    and in total, the size bounds hold but for a newest event no reader has yet; every
    stream and owner entry belongs to a live session; no closed, empty, unread stream is kept;
    the byte counts agree with what is held."""
    sessions = endpoint.sessions
    log = endpoint.log
    live = set(sessions._records)
    assert len(live) <= endpoint.max_sessions
    assert set(endpoint.legacy.live) <= live, "a live session part outlives its record"
    streams = list(log._streams.values())
    newest_bytes = 0
    for stream in streams:
        # Only a newest event no reader has had yet may stand beyond the size bounds.
        held = stream.held
        undelivered = held.count and stream.delivered < stream.last
        newest = len(held.newest(1, stream.last)[0][1]) if undelivered else 0
        newest_bytes += newest
        assert held.count <= log.max_stream_events + (1 if newest else 0), (stream.id, held.count)
        assert stream.nbytes - newest <= log.max_stream_bytes, (stream.id, stream.nbytes)
        everything = held.newest(held.count, stream.first) if held.count else []
        assert stream.nbytes == sum(len(data) for _, data in everything), stream.id
        assert stream.session in live, f"stream {stream.id} outlives its session {stream.session}"
        assert held.count or not stream.closed or stream.reader, f"a finished stream is kept: {stream.id}"
    owners = dict(log._owners)
    assert set(owners) <= live, "the log holds owners of ended sessions"
    for session_id, owner in owners.items():
        assert owner.nbytes == sum(s.nbytes for s in owner.streams.values()), session_id
    assert log.total_bytes == sum(owner.nbytes for owner in owners.values())
    assert log.total_bytes <= log.max_total_bytes + newest_bytes, log.total_bytes
    assert len(endpoint.streams._readers) <= len(streams), (len(endpoint.streams._readers), len(streams))
