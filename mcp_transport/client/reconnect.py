"""When to reconnect a broken SSE stream: the policy, the per-stream backoff state, and the
observable channel state. Sans-IO: the delays are computed here, slept elsewhere.

Rules (digest §2.A.2, §2.A.5; anchors §7 item 7):

* a server-given ``retry:`` is honoured **exactly** on the first reconnect after it (the
  spec says the client MUST wait that long; the conformance ``sse-retry`` check allows
  450–700 ms for a 500 ms retry, so no jitter there);
* otherwise, and for consecutive failures, jittered exponential backoff, capped;
* a bounded budget of consecutive attempts; a healthy event resets it.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Backoff", "ChannelState", "ReconnectPolicy"]


class ChannelState(enum.Enum):
    """The state of a client's server->client SSE channel (the GET stream)."""

    NONE = "none"  # not opened, or the server offers no stream (405/404)
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"  # the reconnect budget ran out; the channel is dead
    CLOSED = "closed"  # the client closed it


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How an SSE stream reconnects. ``max_attempts`` consecutive failures end it."""

    max_attempts: int = 5
    initial_delay: float = 1.0
    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5  # each backoff delay is scaled by a random factor in [1 - jitter, 1]

    def __post_init__(self) -> None:
        if self.max_attempts < 0 or self.initial_delay < 0 or self.max_delay < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("ReconnectPolicy values must be non-negative and jitter within [0, 1]")


class Backoff:
    """Reconnect bookkeeping for one stream: attempts used and the next delay."""

    __slots__ = ("_random", "attempts", "policy")

    def __init__(self, policy: ReconnectPolicy, rng: Callable[[], float] = random.random) -> None:
        self.policy = policy
        self.attempts = 0
        self._random = rng

    @property
    def exhausted(self) -> bool:
        return self.attempts >= self.policy.max_attempts

    def reset(self) -> None:
        """A healthy event arrived: the next failure starts a fresh budget."""
        self.attempts = 0

    def next_delay(self, server_retry_ms: int | None = None) -> float | None:
        """Seconds to wait before the next attempt, or None when the budget is spent."""
        if self.exhausted:
            return None
        self.attempts += 1
        if server_retry_ms is not None and self.attempts == 1:
            return server_retry_ms / 1000
        p = self.policy
        delay = min(p.max_delay, p.initial_delay * p.multiplier ** (self.attempts - 1))
        delay *= 1 - p.jitter * self._random()
        if server_retry_ms is not None:
            delay = max(delay, server_retry_ms / 1000)
        return min(delay, p.max_delay) if server_retry_ms is None else delay
