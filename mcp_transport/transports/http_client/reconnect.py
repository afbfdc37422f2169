"""When to reconnect a broken SSE stream: the policy, the per-stream backoff state, the
observable channel state, and the gap report. Sans-IO: the delays are computed here, slept
elsewhere.

One policy serves every resume, the GET stream's and a request's alike (2025-11-25
basic/transports#resumability-and-redelivery: resumption is always a GET with
``Last-Event-ID``, whichever stream broke). Rules:

* a server-given ``retry:`` is honoured exactly on the first reconnect after it (2025-11-25
  basic/transports#sending-messages-to-the-server: the client MUST wait that long; the
  conformance ``sse-retry`` check allows 450-700 ms for a 500 ms retry, so no jitter there),
  but clamped to [:data:`MIN_SERVER_RETRY`, :data:`MAX_SERVER_RETRY`]: the value is the
  peer's input, and 0 would make us reconnect in a tight loop, 10^10 sleep for centuries;
* otherwise, and for consecutive failures, jittered exponential backoff, capped;
* a bounded budget of consecutive attempts; only a delivered *message* resets it (an empty
  priming event proves nothing: a server that primes and closes must not renew our budget);
* only transient failures are retried (network errors, a stream that ends, the statuses in
  :data:`RETRYABLE_STATUSES`); any other answer is final.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ...errors import ResumeGap
from ..contract import ChannelState

__all__ = [
    "MAX_SERVER_RETRY",
    "MIN_SERVER_RETRY",
    "RETRYABLE_STATUSES",
    "Backoff",
    "ChannelState",
    "ReconnectPolicy",
    "StreamGap",
    "StreamGapCallback",
]

# Bounds on a server's SSE ``retry:`` (seconds). The floor keeps a ``retry: 0`` server from
# turning the reconnect loop into a busy loop (at most 10 reconnects a second); the ceiling
# keeps a huge value from parking the stream for ever. Browsers apply no bounds, but they
# reconnect one EventSource, not one per call; 60 s is the longest a stream stays silent
# here before the user notices, as with DEFAULT_HTTP_TIMEOUT's connect limit of 30 s.
MIN_SERVER_RETRY = 0.1
MAX_SERVER_RETRY = 60.0
# HTTP statuses worth another attempt: the server or a proxy is briefly unable to answer
# (RFC 9110 §15.5.9 408, §15.6 5xx gateway/overload; RFC 6585 429). Any other error status
# answers the request for good, and repeating it would only spend the budget.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How an SSE stream reconnects. ``max_attempts`` consecutive failures end it.

    The defaults ride out a server or proxy that is unreachable for about 4 s (five attempts
    spread over 3.85-7.6 s after a ``retry: 100``) and give up within about 8 s, so a
    resume that cannot succeed fails the call well inside the request timeout."""

    max_attempts: int = 5
    initial_delay: float = 0.25
    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5  # each backoff delay is scaled by a random factor in [1 - jitter, 1]

    def __post_init__(self) -> None:
        if self.max_attempts < 0 or self.initial_delay < 0 or self.max_delay < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("ReconnectPolicy values must be non-negative and jitter within [0, 1]")


@dataclass(frozen=True, slots=True)
class StreamGap:
    """Server->client messages were lost for good: the server could not resume the GET
    stream after ``last_event_id`` because it no longer holds the events that followed
    (HTTP 409 with JSON-RPC -32011, ``error``; its ``data`` may say what the server still
    holds, e.g. ``oldestAvailable``). The client goes on with a fresh GET stream; whatever
    the lost messages said (list changes, resource updates, log lines) is worth re-reading."""

    last_event_id: str
    error: ResumeGap


StreamGapCallback = Callable[[StreamGap], Awaitable[None]]
"""Called with a :class:`StreamGap` each time the GET stream loses messages."""


def clamp_server_retry(retry_ms: int) -> float:
    """A server's ``retry:`` in seconds, within [MIN_SERVER_RETRY, MAX_SERVER_RETRY]."""
    return min(max(retry_ms / 1000, MIN_SERVER_RETRY), MAX_SERVER_RETRY)


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
        """A message arrived: the next failure starts a fresh budget."""
        self.attempts = 0

    def next_delay(self, server_retry_ms: int | None = None) -> float | None:
        """Seconds to wait before the next attempt, or None when the budget is spent."""
        if self.exhausted:
            return None
        self.attempts += 1
        retry = clamp_server_retry(server_retry_ms) if server_retry_ms is not None else None
        if retry is not None and self.attempts == 1:
            return retry
        p = self.policy
        delay = min(p.max_delay, p.initial_delay * p.multiplier ** (self.attempts - 1))
        delay *= 1 - p.jitter * self._random()
        return delay if retry is None else max(delay, retry)
