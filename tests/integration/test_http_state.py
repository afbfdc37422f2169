"""The HTTP server's building blocks without sockets: the in-memory event log's own bounds
(the EventLog contract every backend shares is in test_event_log_contract.py), event ids,
the Host/Origin policy and the body limit."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from mcp_transport.errors import RequestTooLarge, ResumeGap
from mcp_transport.state import MemoryEventLog, format_event_id, parse_event_id
from mcp_transport.transports.http.security import OriginPolicy, read_body

pytestmark = pytest.mark.anyio


async def test_total_bytes_and_age_bounds() -> None:
    log = MemoryEventLog(max_total_bytes=10, max_age=0.05)
    for name in ("a", "b"):
        await log.create(name, "session")
    await log.append("a", b"12345")
    await log.append("a", b"12345")
    await log.append("b", b"12345")  # over the total: the session holding the most (a) pays
    with pytest.raises(ResumeGap):
        await log.read("a", 0)
    assert log.total_bytes == 10
    await anyio.sleep(0.06)
    await log.sweep()
    assert log.total_bytes == 0
    await log.append("a", b"y", last=True)
    await anyio.sleep(0.06)
    await log.sweep()
    assert await log.owner("a") is None  # a closed, fully evicted stream is forgotten
    await log.append("b", b"12345")
    await log.drop_session("session")
    assert log.total_bytes == 0 and len(log) == 0


def test_event_ids() -> None:
    assert parse_event_id(format_event_id("abc_-9", 42)) == ("abc_-9", 42)
    for bad in ("", "abc", "abc:", ":3", "abc:x", "abc:-1"):
        assert parse_event_id(bad) is None


@pytest.mark.parametrize(
    ("server", "host", "origin", "ok"),
    [
        ("127.0.0.1", "localhost:8000", None, True),
        ("127.0.0.1", "127.0.0.1:8000", "http://localhost:3000", True),
        ("127.0.0.1", "[::1]:8000", "http://[::1]:3000", True),
        ("127.0.0.1", "evil.example", None, False),  # DNS rebinding to a local server
        ("127.0.0.1", "localhost", "https://evil.example", False),
        ("127.0.0.1", "localhost", "null", False),
        ("10.0.0.5", "mcp.example.com", "https://app.example.com", True),  # deployed: allowed by default
    ],
)
def test_origin_policy_default(server: str, host: str, origin: str | None, ok: bool) -> None:
    problem = OriginPolicy().check({"server": (server, 8000)}, host, origin)
    assert (problem is None) is ok, problem


def test_origin_policy_explicit_lists() -> None:
    policy = OriginPolicy(
        allowed_hosts=["mcp.example.com", "localhost:*"], allowed_origins=["https://app.example.com"]
    )
    scope = {"server": ("10.0.0.5", 443)}
    assert policy.check(scope, "mcp.example.com", "https://app.example.com") is None
    assert policy.check(scope, "localhost:9999", None) is None
    assert "allowed_hosts" in (policy.check(scope, "other.example.com", None) or "")
    assert "allowed_origins" in (policy.check(scope, "mcp.example.com", "https://evil.example") or "")


async def test_read_body_limit() -> None:
    def receiver(*chunks: bytes) -> Any:
        messages = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
            for i, c in enumerate(chunks)
        ]

        async def receive() -> dict[str, Any]:
            return messages.pop(0)

        return receive

    assert await read_body(receiver(b"ab", b"cd"), 4, None) == b"abcd"
    with pytest.raises(RequestTooLarge):
        await read_body(receiver(b"ab", b"cde"), 4, None)
    with pytest.raises(RequestTooLarge):
        await read_body(receiver(b""), 4, "5")
