"""Era detection for ``Client(era="auto")`` (2026-07-28
basic/versioning#backward-compatibility): how a probe's outcome is read, which version to
retry with, and the process-wide era cache.

Sans-IO: ``Client`` sends the ``server/discover`` probe and hands the outcome here.
"""

from __future__ import annotations

import enum
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConnectError, MCPError, RemoteError, RequestTimeout, TransportError
from ..jsonrpc import (
    HEADER_MISMATCH,
    METHOD_NOT_FOUND,
    MISSING_CLIENT_CAPABILITY,
    UNSUPPORTED_PROTOCOL_VERSION,
)
from ..protocol import Era
from ..transports.contract import StreamLost

__all__ = [
    "ERA_CACHE",
    "MODERN_ERROR_CODES",
    "UNSUPPORTED_VERSION_CODES",
    "EraCache",
    "Verdict",
    "classify_probe_error",
    "pick_version",
    "supported_versions",
]

# UnsupportedProtocolVersion: the final code, and the 2026-07-28 RC's (-32004).
UNSUPPORTED_VERSION_CODES = frozenset({UNSUPPORTED_PROTOCOL_VERSION, -32004})
# Every JSON-RPC error only a modern server sends: HeaderMismatch, MissingRequiredClientCapability,
# UnsupportedProtocolVersion, and their RC numbers (-32001, -32003, -32004; 2026-07-28 basic#error-codes).
MODERN_ERROR_CODES = frozenset(
    {HEADER_MISMATCH, MISSING_CLIENT_CAPABILITY, *UNSUPPORTED_VERSION_CODES, -32001, -32003}
)
HEADER_MISMATCH_CODES = frozenset({HEADER_MISMATCH, -32001})
# Statuses that are about the credentials, not the era: surface them, never fall back.
_AUTH_STATUSES = frozenset({401, 403})


class Verdict(enum.Enum):
    MODERN = "modern"  # a modern server: keep speaking 2026-07-28
    RETRY_VERSION = "retry_version"  # a modern server that wants another version (data.supported)
    LEGACY = "legacy"  # fall back to initialize
    RAISE = "raise"  # not an era signal (unreachable, auth): surface the error


def classify_probe_error(exc: BaseException, *, http: bool) -> Verdict:
    """What a failed ``server/discover`` probe says about the server.

    A recognised modern error (-32022 with ``data.supported``; -32021, -32020 and the RC codes)
    means modern: never fall back. On HTTP a 404 carrying JSON-RPC -32601 is a modern server
    without the method. Anything else the server answered (another error, an empty or non
    JSON-RPC body, 405, a legacy "missing session" 400) or no reply in time means legacy.
    Unreachable servers and authentication failures are raised, not guessed about.
    """
    status = exc.status if isinstance(exc, MCPError) else None
    if status in _AUTH_STATUSES:
        return Verdict.RAISE
    if isinstance(exc, RemoteError):
        if exc.code in UNSUPPORTED_VERSION_CODES:
            return Verdict.RETRY_VERSION if supported_versions(exc.data) else Verdict.MODERN
        if exc.code in MODERN_ERROR_CODES:
            return Verdict.MODERN
        if http and exc.code == METHOD_NOT_FOUND and status == 404:
            return Verdict.MODERN
        return Verdict.LEGACY
    if isinstance(exc, (RequestTimeout, StreamLost)):
        return Verdict.LEGACY
    if isinstance(exc, ConnectError):
        return Verdict.RAISE
    if http and isinstance(exc, TransportError) and status is not None:
        return Verdict.LEGACY  # an HTTP answer that is no modern JSON-RPC error
    return Verdict.RAISE


def supported_versions(data: Any) -> list[str]:
    """``data.supported`` of an UnsupportedProtocolVersion error (strings only)."""
    supported = data.get("supported") if isinstance(data, dict) else None
    if not isinstance(supported, list):
        return []
    return [v for v in supported if isinstance(v, str)]


def pick_version(offered: Iterable[str], ours: Sequence[str]) -> str | None:
    """The newest of ``ours`` (oldest first) that the peer offers, or None."""
    offered = set(offered)
    for version in reversed(ours):
        if version in offered:
            return version
    return None


class EraCache:
    """Which era a server URL speaks, remembered for the process (bounded, LRU). Keyed by
    origin + path: one server's endpoints at different paths may differ."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[Era, str]] = OrderedDict()
        self._sse: set[str] = set()  # legacy servers reached over the deprecated HTTP+SSE transport
        self._lock = threading.Lock()

    @staticmethod
    def key(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path or '/'}"

    def get(self, url: str) -> tuple[Era, str] | None:
        with self._lock:
            key = self.key(url)
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, url: str, era: Era, version: str, *, sse: bool = False) -> None:
        with self._lock:
            key = self.key(url)
            self._entries[key] = (era, version)
            self._entries.move_to_end(key)
            if sse:
                self._sse.add(key)
            else:
                self._sse.discard(key)
            while len(self._entries) > self.max_entries:
                old, _ = self._entries.popitem(last=False)
                self._sse.discard(old)

    def via_sse(self, url: str) -> bool:
        """True if the cached legacy server speaks only the deprecated HTTP+SSE transport."""
        with self._lock:
            return self.key(url) in self._sse

    def forget(self, url: str) -> None:
        with self._lock:
            self._entries.pop(self.key(url), None)
            self._sse.discard(self.key(url))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._sse.clear()

    def __len__(self) -> int:
        return len(self._entries)


ERA_CACHE = EraCache()


def is_era_error(exc: BaseException) -> bool:
    """True for failures that may mean the cached era is wrong (re-probe), as opposed to the
    server being unreachable."""
    return isinstance(exc, MCPError) and classify_probe_error(exc, http=True) is not Verdict.RAISE
