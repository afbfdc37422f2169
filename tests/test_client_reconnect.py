"""The reconnect policy: exact server retry first, then jittered capped backoff, a budget."""

from __future__ import annotations

import pytest

from mcp_transport.transports.http_client.reconnect import (
    MAX_SERVER_RETRY,
    MIN_SERVER_RETRY,
    Backoff,
    ReconnectPolicy,
)


def test_server_retry_is_honoured_exactly_on_the_first_attempt() -> None:
    backoff = Backoff(ReconnectPolicy(), rng=lambda: 0.99)
    assert backoff.next_delay(500) == 0.5


def test_exponential_backoff_with_jitter_and_cap() -> None:
    policy = ReconnectPolicy(max_attempts=10, initial_delay=1.0, max_delay=30.0, jitter=0.5)
    no_jitter = Backoff(policy, rng=lambda: 0.0)
    assert [no_jitter.next_delay() for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    full_jitter = Backoff(policy, rng=lambda: 1.0)
    assert [full_jitter.next_delay() for _ in range(3)] == [0.5, 1.0, 2.0]


def test_budget_and_reset() -> None:
    backoff = Backoff(ReconnectPolicy(max_attempts=2), rng=lambda: 0.0)
    assert backoff.next_delay() is not None and backoff.next_delay() is not None
    assert backoff.next_delay() is None and backoff.exhausted
    backoff.reset()
    assert backoff.next_delay(250) == 0.25


def test_later_attempts_never_undercut_the_server_retry() -> None:
    backoff = Backoff(ReconnectPolicy(initial_delay=0.1), rng=lambda: 1.0)
    backoff.next_delay(2000)
    assert backoff.next_delay(2000) == 2.0


def test_invalid_policy() -> None:
    with pytest.raises(ValueError):
        ReconnectPolicy(jitter=2)


def test_server_retry_is_clamped() -> None:
    """``retry: 0`` would reconnect in a tight loop, ``retry: 10000000000`` sleep 10^7 s."""
    assert Backoff(ReconnectPolicy()).next_delay(0) == MIN_SERVER_RETRY
    assert Backoff(ReconnectPolicy()).next_delay(10_000_000_000) == MAX_SERVER_RETRY
    later = Backoff(ReconnectPolicy(max_delay=1), rng=lambda: 0.0)
    later.next_delay(10_000_000_000)
    assert later.next_delay(10_000_000_000) == MAX_SERVER_RETRY
