"""How a ``Client`` picks its era and runs its handshake (digest §2.B.9, §3.3): the
``era="auto"`` probe with ``server/discover``, the per-URL era cache, the legacy
``initialize`` handshake, the modern ``server/discover`` one, and the last-resort switch to
the deprecated HTTP+SSE transport. Mixed into :class:`~.client.Client`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import MCPError, RemoteError, UnsupportedProtocolVersion
from ..jsonrpc import METHOD_NOT_FOUND
from ..protocol import LATEST_VERSION, LEGACY_VERSIONS, META_SERVER_INFO, MODERN_VERSIONS, Era
from .era import (
    ERA_CACHE,
    MODERN_ERROR_CODES,
    Verdict,
    classify_probe_error,
    is_era_error,
    pick_version,
    supported_versions,
)

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from ..dispatcher import Dispatcher, ProgressCallback

__all__ = ["Handshake"]

log = logging.getLogger("mcp_transport.client")


class Handshake:
    """Mixed into ``Client``: the era decision and the handshake of each era."""

    era: Era
    mode: str
    transport: Any
    requested_version: str
    protocol_version: str | None
    probe_timeout: float
    capabilities: dict[str, Any]
    client_info: Mapping[str, Any]
    server_capabilities: dict[str, Any]
    server_info: dict[str, Any]
    instructions: str | None
    log_level: str | None
    _era_decided: bool
    _legacy_version: str
    _dispatcher: Dispatcher | None
    _task_group: TaskGroup | None

    if TYPE_CHECKING:  # provided by Client and ServerCalls

        async def request(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]: ...

        async def _request_once(
            self,
            method: str,
            params: Mapping[str, Any] | None,
            timeout: float | None,
            on_progress: ProgressCallback | None,
        ) -> dict[str, Any]: ...

        async def notify(self, method: str, params: Mapping[str, Any] | None = None) -> None: ...

        async def set_logging_level(self, level: str) -> None: ...

        def _set_capabilities(self, era: Era) -> None: ...

        def _transport_closed(self, reason: str) -> None: ...

    async def _handshake(self) -> None:
        """Decide the era (``era="auto"``) and run its handshake: legacy initialize +
        notifications/initialized, or modern server/discover. Also re-run by the HTTP
        transport when the server forgot the session (404)."""
        url = self._cache_url()
        if self._era_decided:
            try:
                await (self._modern_handshake() if self.era is Era.MODERN else self._legacy_handshake())
                return
            except MCPError as exc:
                if self.mode != "auto" or not is_era_error(exc):
                    raise
                # Re-run after a lost session, and the server no longer speaks our era.
                log.info("the server no longer speaks the %s era (%s); probing again", self.era.value, exc)
                if url is not None:
                    ERA_CACHE.forget(url)
                self._reset_transport()
                cached = None
        else:
            cached = ERA_CACHE.get(url) if url is not None else None
        if cached is not None:
            era, version = cached
            self._decide(era, version)
            try:
                if era is Era.LEGACY and ERA_CACHE.via_sse(url):  # type: ignore[arg-type]
                    await self._switch_to_legacy_sse()
                await (self._modern_handshake() if era is Era.MODERN else self._legacy_handshake())
                return
            except MCPError as exc:
                if not is_era_error(exc):
                    raise
                # The server changed since we cached it: forget and probe again.
                log.info("%s no longer speaks the cached %s era (%s); probing again", url, era.value, exc)
                ERA_CACHE.forget(url)  # type: ignore[arg-type]
                self._reset_transport()
        await self._probe()
        if url is not None and self.protocol_version is not None:
            ERA_CACHE.put(
                url, self.era, self.protocol_version, sse=getattr(self.transport, "legacy_sse", False)
            )

    async def _probe(self) -> None:
        """era="auto": send server/discover in the modern shape and read the outcome
        (digest §2.B.9 for HTTP, §3.3 for stdio). Never keyed on a single error code.

        Long on purpose: the verdicts of one probe loop read best as one decision table."""
        modern = self.requested_version if self.requested_version in MODERN_VERSIONS else LATEST_VERSION
        self._decide(Era.MODERN, modern, decided=False)
        http = self._cache_url() is not None
        for _ in range(2):
            try:
                result = await self._request_once("server/discover", None, self.probe_timeout, None)
            except MCPError as exc:
                verdict = classify_probe_error(exc, http=http)
                log.debug("server/discover probe: %s -> %s", exc, verdict.value)
                if verdict is Verdict.RAISE:
                    raise
                if verdict is Verdict.LEGACY:
                    break
                if verdict is Verdict.MODERN:
                    self._decide(Era.MODERN, self.requested_version)
                    self._apply_discover({})
                    return
                # RETRY_VERSION: a modern server that wants another version.
                offered = supported_versions(getattr(exc, "data", None))
                modern = pick_version(offered, MODERN_VERSIONS)
                if modern is not None:
                    self.requested_version = modern
                    continue
                legacy = pick_version(offered, LEGACY_VERSIONS)
                if legacy is None:
                    raise
                self._legacy_version = legacy  # a dual-era server whose modern versions we lack
                break
            else:
                # A DiscoverResult lists supportedVersions (required); anything else is a
                # legacy server answering an unknown method loosely.
                offered = result.get("supportedVersions")
                if not isinstance(offered, list) or not pick_version(offered, MODERN_VERSIONS):
                    legacy = pick_version(offered, LEGACY_VERSIONS) if isinstance(offered, list) else None
                    if legacy is not None:
                        self._legacy_version = legacy
                    break  # it answered, but speaks no modern version we know
                self._decide(Era.MODERN, self.requested_version)
                self._apply_discover(result)
                return
        else:
            raise UnsupportedProtocolVersion(
                "the server keeps rejecting the protocol version it offered",
                {"requested": self.requested_version},
            )
        log.info("the server does not speak 2026-07-28; falling back to initialize")
        self._reset_transport()
        self._decide(Era.LEGACY, self._legacy_version)
        try:
            await self._legacy_handshake()
        except MCPError as exc:
            # Last resort (digest §2.A.10): a 400/404/405 without a modern JSON-RPC body may
            # be a 2024-11-05 server that only speaks the deprecated HTTP+SSE transport.
            if not http or not hasattr(self.transport, "session_ready") or not _maybe_legacy_sse(exc):
                raise
            log.info("initialize failed (%s); trying the deprecated HTTP+SSE transport", exc)
            try:
                await self._switch_to_legacy_sse()
            except MCPError:
                raise exc from None
            await self._legacy_handshake()

    async def _switch_to_legacy_sse(self) -> None:
        """Replace the Streamable HTTP transport with the deprecated HTTP+SSE one (same URL,
        headers, auth; the caller's http_client if one was given)."""
        from .http import HTTPTransport
        from .legacy_sse import LegacySSETransport

        old = self.transport
        assert (
            isinstance(old, HTTPTransport) and self._dispatcher is not None and self._task_group is not None
        )
        shared = None if old._owns_http else old._http
        new = LegacySSETransport(old.url, headers=old.headers, auth=old.auth, http_client=shared)
        try:
            await new.start(self._dispatcher.receive, self._task_group, self._transport_closed)
        except BaseException:
            await new.close()
            raise
        self.transport = new
        await old.close()

    def _decide(self, era: Era, version: str, *, decided: bool = True) -> None:
        self.era = era
        self._era_decided = decided
        if era is Era.MODERN:
            self.requested_version = version
        else:
            self._legacy_version = version
        self._set_capabilities(era)

    def _cache_url(self) -> str | None:
        url = getattr(self.transport, "url", None)
        return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None

    def _reset_transport(self) -> None:
        # Whatever the probe's answer carried (a stray Mcp-Session-Id) is not a session.
        for name in ("session_id", "protocol_version"):
            if getattr(self.transport, name, None) is not None:
                setattr(self.transport, name, None)

    async def _modern_handshake(self) -> None:
        """server/discover: the server's identity and capabilities. A modern server may lack
        it (404 / -32601); then we know nothing up front, and that is fine."""
        try:
            result = await self.request("server/discover")
        except RemoteError as exc:
            if exc.code != METHOD_NOT_FOUND:
                raise
            result = {}
        self._apply_discover(result)

    def _apply_discover(self, result: dict[str, Any]) -> None:
        offered = result.get("supportedVersions")
        if isinstance(offered, list) and offered and self.requested_version not in offered:
            version = pick_version(offered, MODERN_VERSIONS)
            if version is None:
                raise UnsupportedProtocolVersion(
                    f"the server supports {offered}, none of which this client speaks in the modern era",
                    {"supported": offered, "requested": self.requested_version},
                )
            self.requested_version = version
        self.protocol_version = self.requested_version
        self.server_capabilities = result.get("capabilities") or {}
        meta = result.get("_meta") if isinstance(result.get("_meta"), dict) else {}
        self.server_info = meta.get(META_SERVER_INFO) or result.get("serverInfo") or {}
        self.instructions = result.get("instructions")

    async def _legacy_handshake(self) -> None:
        params = {
            "protocolVersion": self._legacy_version,
            "capabilities": self.capabilities,
            "clientInfo": self.client_info,
        }
        result = await self.request("initialize", params)
        version = result.get("protocolVersion")
        if version not in LEGACY_VERSIONS:
            raise UnsupportedProtocolVersion(
                f"the server chose protocol version {version!r}, which this client does not speak",
                {"supported": list(LEGACY_VERSIONS), "requested": self._legacy_version},
            )
        self.protocol_version = version
        self.server_capabilities = result.get("capabilities") or {}
        self.server_info = result.get("serverInfo") or {}
        self.instructions = result.get("instructions")
        # HTTP: MCP-Protocol-Version goes on everything after initialize, the initialized
        # notification included (digest §2.A.7); then the GET stream may open.
        session_ready = getattr(self.transport, "session_ready", None)
        if session_ready is not None:
            self.transport.protocol_version = version  # type: ignore[attr-defined]
        await self.notify("notifications/initialized")
        if session_ready is not None:
            await session_ready(version)
        if self.log_level is not None and "logging" in self.server_capabilities:
            await self.set_logging_level(self.log_level)


def _maybe_legacy_sse(exc: BaseException) -> bool:
    """A failed initialize that may come from an HTTP+SSE-only server: 400, 404 or 405 with
    no modern JSON-RPC error in the body."""
    if getattr(exc, "status", None) not in (400, 404, 405):
        return False
    return not (isinstance(exc, RemoteError) and exc.code in MODERN_ERROR_CODES)
