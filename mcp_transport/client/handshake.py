"""How a ``Client`` picks its era and runs its handshake: the ``era="auto"`` probe with
``server/discover`` (2026-07-28 basic/versioning#backward-compatibility), the per-URL era
cache, the legacy ``initialize`` handshake (2025-11-25 basic/lifecycle#initialization), the
modern ``server/discover`` one (2026-07-28 server/discover), and the last-resort switch to
the deprecated HTTP+SSE transport (2025-11-25 basic/transports#backwards-compatibility).

:class:`Handshake` owns the :class:`Negotiated` state that every request reads; it reaches
the client only through the :class:`Peer` protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import ConnectError, MCPError, RemoteError, UnsupportedProtocolVersion
from ..jsonrpc import METHOD_NOT_FOUND
from ..protocol import (
    LATEST_LEGACY_VERSION,
    LATEST_VERSION,
    LEGACY_VERSIONS,
    META_SERVER_INFO,
    MODERN_VERSIONS,
    Era,
    era_of,
)
from ..transports.contract import ClientTransport
from .era import (
    ERA_CACHE,
    MODERN_ERROR_CODES,
    Verdict,
    classify_probe_error,
    is_era_error,
    pick_version,
    supported_versions,
)

__all__ = ["Handshake", "Negotiated", "Peer"]

log = logging.getLogger("mcp_transport.client")


@dataclass
class Negotiated:
    """What the client speaks and what the server said about itself. ``mode`` is what was
    asked for ("auto", "legacy", "modern"); ``era`` is what is spoken (modern until the auto
    probe decides: the probe is a modern request). ``requested_version`` goes in the modern
    envelope, ``legacy_version`` in ``initialize``; ``protocol_version`` is the one agreed."""

    mode: str
    era: Era
    requested_version: str
    legacy_version: str
    decided: bool
    capabilities: dict[str, Any]
    protocol_version: str | None = None
    server_info: dict[str, Any] = field(default_factory=dict)
    server_capabilities: dict[str, Any] = field(default_factory=dict)
    instructions: str | None = None

    @classmethod
    def initial(
        cls, era: str, protocol_version: str | None, capabilities_for: Callable[[Era], dict[str, Any]]
    ) -> Negotiated:
        """The starting state for the ``era`` and ``protocol_version`` options (validated)."""
        if era not in ("auto", "legacy", "modern"):
            raise ValueError(f"era must be 'auto', 'legacy' or 'modern', not {era!r}")
        if protocol_version is not None:
            version_era = era_of(protocol_version)
            if version_era is None or (era != "auto" and version_era.value != era):
                known = {"legacy": LEGACY_VERSIONS, "modern": MODERN_VERSIONS}.get(
                    era, LEGACY_VERSIONS + MODERN_VERSIONS
                )
                raise ValueError(
                    f"protocol_version {protocol_version!r} is not a {era} version ({', '.join(known)})"
                )
            era = version_era.value
        modern_pin = protocol_version if protocol_version in MODERN_VERSIONS else None
        legacy_pin = protocol_version if protocol_version in LEGACY_VERSIONS else None
        return cls(
            mode=era,
            # Until the auto probe decides, requests are modern (the probe is one).
            era=Era.LEGACY if era == "legacy" else Era.MODERN,
            requested_version=modern_pin
            or legacy_pin
            or (LATEST_LEGACY_VERSION if era == "legacy" else LATEST_VERSION),
            legacy_version=legacy_pin or LATEST_LEGACY_VERSION,
            decided=era != "auto",
            capabilities=capabilities_for(Era.MODERN if era == "modern" else Era.LEGACY),
        )


class Peer(Protocol):
    """What the handshake needs from the client."""

    @property
    def transport(self) -> ClientTransport: ...

    async def _replace_transport(self, new: ClientTransport) -> None: ...

    async def request(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]: ...

    async def _request_once(
        self, method: str, params: Mapping[str, Any] | None, timeout: float | None
    ) -> dict[str, Any]: ...

    async def notify(self, method: str, params: Mapping[str, Any] | None = None) -> None: ...


class Handshake:
    """The era decision and the handshake of each era, run at open and again when the HTTP
    transport finds its session forgotten."""

    def __init__(
        self,
        state: Negotiated,
        peer: Peer,
        capabilities_for: Callable[[Era], dict[str, Any]],
        *,
        client_info: Mapping[str, Any],
        probe_timeout: float,
        log_level: str | None,
    ) -> None:
        self.state = state
        self.peer = peer
        self.capabilities_for = capabilities_for
        self.client_info = client_info
        self.probe_timeout = probe_timeout
        self.log_level = log_level

    async def run(self) -> None:
        """Decide the era (``era="auto"``) and run its handshake: legacy initialize +
        notifications/initialized, or modern server/discover."""
        url = self.peer.transport.url
        cached = None
        if self.state.decided:
            try:
                await self._handshake(self.state.era)
                return
            except MCPError as exc:
                if self.state.mode != "auto" or not is_era_error(exc):
                    raise
                # Re-run after a lost session, and the server no longer speaks our era.
                log.info(
                    "the server no longer speaks the %s era (%s); probing again", self.state.era.value, exc
                )
                self._forget(url)
        elif url is not None:
            cached = ERA_CACHE.get(url)
        if url is not None and cached is not None and await self._run_cached(url, *cached):
            return
        await self._probe()
        if url is not None and self.state.protocol_version is not None:
            legacy_sse = self.peer.transport.legacy_sse
            ERA_CACHE.put(url, self.state.era, self.state.protocol_version, sse=legacy_sse)

    async def _run_cached(self, url: str, era: Era, version: str) -> bool:
        """The handshake of the era remembered for ``url``; False if the server changed since."""
        self._decide(era, version)
        try:
            if era is Era.LEGACY and ERA_CACHE.via_sse(url):
                await self._switch_to_legacy_sse()
            await self._handshake(era)
            return True
        except MCPError as exc:
            if not is_era_error(exc):
                raise
            log.info("%s no longer speaks the cached %s era (%s); probing again", url, era.value, exc)
            self._forget(url)
            return False

    def _forget(self, url: str | None) -> None:
        if url is not None:
            ERA_CACHE.forget(url)
        # Whatever the failed answer carried (a stray Mcp-Session-Id) is not a session.
        self.peer.transport.reset_session()

    async def _handshake(self, era: Era) -> None:
        await (self._modern_handshake() if era is Era.MODERN else self._legacy_handshake())

    async def _probe(self) -> None:
        """era="auto": send server/discover in the modern shape and read the outcome (over
        HTTP 2026-07-28 basic/versioning#backward-compatibility; on stdio the same page's
        stdio rule: a legacy server may not answer at all). Never keyed on a single error code."""
        state = self.state
        modern = state.requested_version if state.requested_version in MODERN_VERSIONS else LATEST_VERSION
        self._decide(Era.MODERN, modern, decided=False)
        http = self.peer.transport.url is not None
        for _ in range(2):
            try:
                result = await self.peer._request_once("server/discover", None, self.probe_timeout)
            except MCPError as exc:
                verdict = classify_probe_error(exc, http=http)
                log.debug("server/discover probe: %s -> %s", exc, verdict.value)
                if verdict is Verdict.RAISE:
                    raise
                if verdict is Verdict.MODERN:
                    self._decide(Era.MODERN, state.requested_version)
                    self._apply_discover({})
                    return
                if verdict is Verdict.LEGACY or not self._retry_version(exc):
                    break
            else:
                if self._speaks_modern(result):
                    self._decide(Era.MODERN, state.requested_version)
                    self._apply_discover(result)
                    return
                break  # it answered, but speaks no modern version we know
        else:
            raise UnsupportedProtocolVersion(
                "the server keeps rejecting the protocol version it offered",
                {"requested": state.requested_version},
            )
        await self._fall_back_to_legacy(http)

    def _retry_version(self, exc: MCPError) -> bool:
        """RETRY_VERSION: a modern server that wants another version. True to probe again
        with one it offers; False to go legacy with a legacy version it offers."""
        offered = supported_versions(exc.data if isinstance(exc, RemoteError) else None)
        modern = pick_version(offered, MODERN_VERSIONS)
        if modern is not None:
            self.state.requested_version = modern
            return True
        legacy = pick_version(offered, LEGACY_VERSIONS)
        if legacy is None:
            raise exc
        self.state.legacy_version = legacy  # a dual-era server whose modern versions we lack
        return False

    def _speaks_modern(self, result: dict[str, Any]) -> bool:
        """A DiscoverResult lists supportedVersions (required); anything else is a legacy
        server answering an unknown method loosely."""
        offered = result.get("supportedVersions")
        if isinstance(offered, list) and pick_version(offered, MODERN_VERSIONS):
            return True
        legacy = pick_version(offered, LEGACY_VERSIONS) if isinstance(offered, list) else None
        if legacy is not None:
            self.state.legacy_version = legacy
        return False

    async def _fall_back_to_legacy(self, http: bool) -> None:
        log.info("the server does not speak 2026-07-28; falling back to initialize")
        self.peer.transport.reset_session()
        self._decide(Era.LEGACY, self.state.legacy_version)
        try:
            await self._legacy_handshake()
        except MCPError as exc:
            # Last resort (2025-11-25 basic/transports#backwards-compatibility): a 400/404/405
            # without a modern JSON-RPC body may be a 2024-11-05 server that only speaks the
            # deprecated HTTP+SSE transport.
            if not http or not _maybe_legacy_sse(exc):
                raise
            log.info("initialize failed (%s); trying the deprecated HTTP+SSE transport", exc)
            try:
                await self._switch_to_legacy_sse()
            except MCPError:
                raise exc from None
            await self._legacy_handshake()

    async def _switch_to_legacy_sse(self) -> None:
        fallback = self.peer.transport.legacy_fallback()
        if fallback is None:
            raise ConnectError(f"{type(self.peer.transport).__name__} has no HTTP+SSE fallback")
        await self.peer._replace_transport(fallback)

    def _decide(self, era: Era, version: str, *, decided: bool = True) -> None:
        self.state.era = era
        self.state.decided = decided
        if era is Era.MODERN:
            self.state.requested_version = version
        else:
            self.state.legacy_version = version
        self.state.capabilities = self.capabilities_for(era)

    async def _modern_handshake(self) -> None:
        """server/discover: the server's identity and capabilities. A modern server may lack
        it (404 / -32601); then we know nothing up front, and that is fine."""
        try:
            result = await self.peer.request("server/discover")
        except RemoteError as exc:
            if exc.code != METHOD_NOT_FOUND:
                raise
            result = {}
        self._apply_discover(result)

    def _apply_discover(self, result: dict[str, Any]) -> None:
        state = self.state
        offered = result.get("supportedVersions")
        if isinstance(offered, list) and offered and state.requested_version not in offered:
            version = pick_version(offered, MODERN_VERSIONS)
            if version is None:
                raise UnsupportedProtocolVersion(
                    f"the server supports {offered}, none of which this client speaks in the modern era",
                    {"supported": offered, "requested": state.requested_version},
                )
            state.requested_version = version
        state.protocol_version = state.requested_version
        state.server_capabilities = result.get("capabilities") or {}
        meta = result.get("_meta")
        info = meta.get(META_SERVER_INFO) if isinstance(meta, dict) else None
        state.server_info = info or result.get("serverInfo") or {}
        state.instructions = result.get("instructions")

    async def _legacy_handshake(self) -> None:
        state = self.state
        params = {
            "protocolVersion": state.legacy_version,
            "capabilities": state.capabilities,
            "clientInfo": self.client_info,
        }
        result = await self.peer.request("initialize", params)
        version = result.get("protocolVersion")
        if not isinstance(version, str) or version not in LEGACY_VERSIONS:
            raise UnsupportedProtocolVersion(
                f"the server chose protocol version {version!r}, which this client does not speak",
                {"supported": list(LEGACY_VERSIONS), "requested": state.legacy_version},
            )
        state.protocol_version = version
        state.server_capabilities = result.get("capabilities") or {}
        state.server_info = result.get("serverInfo") or {}
        state.instructions = result.get("instructions")
        # The version goes on everything after initialize, the initialized notification
        # included; then the server->client channel may open.
        self.peer.transport.negotiated(version)
        await self.peer.notify("notifications/initialized")
        await self.peer.transport.session_ready()
        if self.log_level is not None and "logging" in state.server_capabilities:
            await self.peer.request("logging/setLevel", {"level": self.log_level})


def _maybe_legacy_sse(exc: MCPError) -> bool:
    """A failed initialize that may come from an HTTP+SSE-only server: 400, 404 or 405 with
    no modern JSON-RPC error in the body."""
    if exc.status not in (400, 404, 405):
        return False
    return not (isinstance(exc, RemoteError) and exc.code in MODERN_ERROR_CODES)
