"""The automatic retries of one request: a lost 2026-07-28 response stream, a protocol version
the server rejects, and ``Mcp-Param-*`` headers built from a stale tool schema. Each is tried
once; the tool schemas those headers come from are fetched here too."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..errors import MCPError, RemoteError
from ..protocol import MODERN_VERSIONS, Era
from ..transports.contract import ClientTransport, StreamLost
from .era import HEADER_MISMATCH_CODES, UNSUPPORTED_VERSION_CODES, pick_version, supported_versions
from .handshake import Negotiated

__all__ = ["RequestRetries", "Send"]

log = logging.getLogger("mcp_transport.client")

Send = Callable[[str, Mapping[str, Any] | None], Awaitable[dict[str, Any]]]
"""Sends one request (in the current envelope) and waits for its result."""


class RequestRetries:
    """Retries for every request of one client. ``state`` is what the handshake negotiated
    (a version retry updates it); ``transport`` returns the client's current transport."""

    def __init__(
        self,
        state: Negotiated,
        transport: Callable[[], ClientTransport],
        list_tools: Callable[[], Awaitable[list[dict[str, Any]]]],
    ) -> None:
        self.state = state
        self.transport = transport
        self.list_tools = list_tools
        self.tools_listed = False  # modern HTTP: tools/list ran once (Mcp-Param-* schemas)

    async def run(self, method: str, params: Mapping[str, Any] | None, send: Send) -> dict[str, Any]:
        retried: set[str] = set()
        while True:
            try:
                return await send(method, params)
            except StreamLost as exc:
                # 2026-07-28: a broken response stream loses the request; the client MUST send
                # it again as a new request with a new id
                # (2026-07-28 basic/transports/streamable-http#sse-streams). Once.
                if "lost" in retried:
                    raise
                retried.add("lost")
                log.info("%s; sending %s again", exc, method)
            except RemoteError as exc:
                if self.state.era is not Era.MODERN:
                    raise
                if exc.code in UNSUPPORTED_VERSION_CODES and "version" not in retried:
                    self._switch_version(method, exc)
                    retried.add("version")
                elif self._stale_headers(method, exc) and "headers" not in retried:
                    # Our cached inputSchema is stale: refresh tools/list, retry once
                    # (2026-07-28 basic/transports#custom-headers).
                    retried.add("headers")
                    log.info("%s: %s; refreshing tools/list and retrying", method, exc.message)
                    await self.list_tools()
                else:
                    raise

    def _switch_version(self, method: str, exc: RemoteError) -> None:
        """Retry with a mutually supported version (2026-07-28 basic/versioning)."""
        version = pick_version(supported_versions(exc.data), MODERN_VERSIONS)
        if version is None:
            raise exc
        log.info(
            "%s rejected protocol version %s; retrying with %s", method, self.state.requested_version, version
        )
        self.state.requested_version = version
        if self.state.protocol_version is not None:
            self.state.protocol_version = version

    def _stale_headers(self, method: str, exc: RemoteError) -> bool:
        return (
            exc.code in HEADER_MISMATCH_CODES
            and method == "tools/call"
            and "mcp-param" in exc.message.lower()
            and self.transport().uses_tool_schemas
        )

    async def ensure_tool_schema(self, params: Mapping[str, Any] | None) -> None:
        """Modern HTTP: Mcp-Param-* headers come from the tool's inputSchema; list the tools
        once if this one is not known yet."""
        name = (params or {}).get("name")
        if self.tools_listed or not isinstance(name, str) or not self.transport().tool_schema_missing(name):
            return
        try:
            await self.list_tools()
        except MCPError as exc:  # headers are best effort here; the call itself decides
            log.debug("could not list tools for the Mcp-Param headers of %r: %s", name, exc)
        self.tools_listed = True

    def listed_tools(self, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A complete tools/list: over modern HTTP the transport keeps the schemas and drops
        the tools whose header annotations are invalid."""
        transport = self.transport()
        if self.state.era is not Era.MODERN or not transport.uses_tool_schemas:
            return tools
        self.tools_listed = True  # call_tool need not list them again for Mcp-Param-*
        return transport.learn_tools(tools)
