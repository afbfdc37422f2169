"""MCP protocol rules that do not depend on any transport: versions, eras, negotiation, the
legacy lifecycle state machine and the 2026-07-28 per-request ``_meta`` envelope.

Sans-IO: pure functions and small state machines. Digest §1, §5.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidParams, InvalidRequest, UnsupportedProtocolVersion
from .jsonrpc import Message, Notification, Request, bounded, preview

__all__ = [
    "DEFAULT_HTTP_VERSION",
    "LATEST_LEGACY_VERSION",
    "LATEST_VERSION",
    "LEGACY_VERSIONS",
    "LOG_LEVELS",
    "META_CLIENT_CAPABILITIES",
    "META_CLIENT_INFO",
    "META_LOG_LEVEL",
    "META_PROTOCOL_VERSION",
    "META_SERVER_INFO",
    "META_SUBSCRIPTION_ID",
    "MODERN_VERSIONS",
    "Era",
    "Lifecycle",
    "LifecycleState",
    "PeerState",
    "allows_batch",
    "check_modern_version",
    "claims_modern",
    "era_of",
    "negotiate_version",
    "parse_envelope",
]

# Oldest first. Order matters only for "latest"; negotiation is table-driven, never lexical.
LEGACY_VERSIONS: tuple[str, ...] = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MODERN_VERSIONS: tuple[str, ...] = ("2026-07-28",)
LATEST_LEGACY_VERSION = LEGACY_VERSIONS[-1]
LATEST_VERSION = MODERN_VERSIONS[-1]
# Digest §2.A.7: with no MCP-Protocol-Version header and nothing else to go on, assume this.
DEFAULT_HTTP_VERSION = "2025-03-26"

META_PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
META_LOG_LEVEL = "io.modelcontextprotocol/logLevel"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"
META_SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId"

# RFC 5424 severities, least severe first (2025-11-25 server/utilities/logging#log-levels).
LOG_LEVELS: tuple[str, ...] = (
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
)


class Era(enum.Enum):
    LEGACY = "legacy"  # initialize handshake, sessions (2024-11-05 .. 2025-11-25)
    MODERN = "modern"  # stateless, per-request envelope (2026-07-28)


def era_of(version: str) -> Era | None:
    """The era a protocol version belongs to, or None for a version we do not know."""
    if version in MODERN_VERSIONS:
        return Era.MODERN
    if version in LEGACY_VERSIONS:
        return Era.LEGACY
    return None


def negotiate_version(requested: Any) -> str:
    """The version to answer ``initialize`` with (2025-11-25 basic/lifecycle#version-negotiation):
    echo a supported legacy version, otherwise offer our latest legacy one and let the client decide."""
    if isinstance(requested, str) and requested in LEGACY_VERSIONS:
        return requested
    return LATEST_LEGACY_VERSION


def allows_batch(version: str | None) -> bool:
    """JSON-RPC batches exist only in 2025-03-26 (2025-03-26 basic/index#batching; removed by
    the 2025-06-18 changelog)."""
    return version == "2025-03-26"


@dataclass(slots=True)
class PeerState:
    """What the server knows about its client: negotiated (legacy) or declared per request
    (modern). Small and cycle-free on purpose: one of these lives per idle session."""

    protocol_version: str
    client_capabilities: dict[str, Any] = field(default_factory=dict)
    client_info: dict[str, Any] | None = None
    log_level: str | None = None

    @property
    def era(self) -> Era:
        return Era.MODERN if self.protocol_version in MODERN_VERSIONS else Era.LEGACY

    def has_capability(self, name: str) -> bool:
        return isinstance(self.client_capabilities.get(name), dict)


def claims_modern(message: Message) -> bool:
    """Whether a message claims the 2026-07-28 era: a request or notification whose
    ``params._meta`` carries a protocol version (2026-07-28 basic#meta). A malformed
    envelope still claims it (and is refused by :func:`parse_envelope`), never taken for legacy."""
    params = message.params if isinstance(message, (Request, Notification)) else None
    meta = params.get("_meta") if params is not None else None
    return isinstance(meta, dict) and META_PROTOCOL_VERSION in meta


def parse_envelope(params: dict[str, Any] | None, *, check_version: bool = True) -> PeerState | None:
    """Read the modern envelope from a request's params: the client's state for this one request
    (built here, once per modern request: no intermediate object).

    Returns None when the request makes no modern claim (no protocolVersion in ``_meta``): it
    is a legacy request. A claim with a malformed envelope raises InvalidParams (-32602),
    never a silent fall-back to legacy. An unknown version raises UnsupportedProtocolVersion
    (-32022) unless ``check_version`` is false (``server/discover`` answers any version).
    """
    meta = (params or {}).get("_meta")
    if not isinstance(meta, dict) or META_PROTOCOL_VERSION not in meta:
        return None
    version = meta[META_PROTOCOL_VERSION]
    if not isinstance(version, str) or not version:
        raise InvalidParams(f'_meta["{META_PROTOCOL_VERSION}"] must be a non-empty string')
    caps = meta.get(META_CLIENT_CAPABILITIES)
    if not isinstance(caps, dict):
        raise InvalidParams(
            f'_meta["{META_CLIENT_CAPABILITIES}"] is required on every 2026-07-28 request '
            "(an object; {} declares none)"
        )
    info = meta.get(META_CLIENT_INFO)
    if info is not None and not isinstance(info, dict):
        raise InvalidParams(f'_meta["{META_CLIENT_INFO}"] must be an object with name and version')
    level = meta.get(META_LOG_LEVEL)
    if level is not None and level not in LOG_LEVELS:
        raise InvalidParams(f'_meta["{META_LOG_LEVEL}"] must be one of {", ".join(LOG_LEVELS)}')
    if check_version:
        check_modern_version(version)
    return PeerState(version, caps, info, level)


def check_modern_version(version: str) -> None:
    """Raise UnsupportedProtocolVersion (-32022, with the supported list) unless this server
    serves ``version`` statelessly."""
    if version not in MODERN_VERSIONS:
        raise UnsupportedProtocolVersion(
            f"Unsupported protocol version {preview(version)}; this server supports "
            f"{', '.join(MODERN_VERSIONS)} statelessly and {', '.join(LEGACY_VERSIONS)} through initialize",
            {"supported": list(MODERN_VERSIONS), "requested": bounded(version)},
        )


class LifecycleState(enum.Enum):
    AWAITING_INIT = "awaiting_init"
    INITIALIZING = "initializing"  # initialize answered, notifications/initialized not yet seen
    READY = "ready"


# The legacy lifecycle as a table (2025-11-25 basic/lifecycle#lifecycle-phases):
# (state, method) -> next state. Methods not listed leave the state unchanged when the state
# allows them (see Lifecycle.check).
_TRANSITIONS: dict[tuple[LifecycleState, str], LifecycleState] = {
    (LifecycleState.AWAITING_INIT, "initialize"): LifecycleState.INITIALIZING,
    (LifecycleState.INITIALIZING, "notifications/initialized"): LifecycleState.READY,
    # A client that skips notifications/initialized stays usable; tolerate a late one.
    (LifecycleState.READY, "notifications/initialized"): LifecycleState.READY,
}
# Before initialize only these may arrive (2025-11-25 basic/lifecycle#initialization).
_ALLOWED_BEFORE_INIT = frozenset(
    {"initialize", "ping", "notifications/cancelled", "notifications/initialized"}
)


class Lifecycle:
    """The server side of the legacy handshake for one connection (stdio) or session (HTTP).

    Requests are allowed once ``initialize`` has been answered; many clients send requests
    right after the initialize response without waiting for their own initialized
    notification to land, so INITIALIZING allows them too.
    """

    __slots__ = ("state",)

    def __init__(self, state: LifecycleState = LifecycleState.AWAITING_INIT) -> None:
        self.state = state

    def check(self, method: str) -> None:
        """Raise InvalidRequest if ``method`` may not arrive now."""
        if self.state is LifecycleState.AWAITING_INIT and method not in _ALLOWED_BEFORE_INIT:
            raise InvalidRequest(f"Session not initialized: send initialize before {method}")
        if method == "initialize" and self.state is not LifecycleState.AWAITING_INIT:
            raise InvalidRequest("Already initialized: initialize may be sent only once per session")

    def advance(self, method: str) -> None:
        if self.state is not LifecycleState.READY:  # READY is final: no lookup on every request
            self.state = _TRANSITIONS.get((self.state, method), self.state)
