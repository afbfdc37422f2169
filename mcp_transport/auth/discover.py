"""Fetching the protected resource metadata and the authorization server metadata, in the
order `discovery` gives, and checking each before it is used."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from .discovery import as_metadata_urls, check_as_metadata, check_protected_resource, origin, prm_urls
from .errors import OAuthError

__all__ = ["fetch_as_metadata", "fetch_protected_resource", "legacy_metadata"]

log = logging.getLogger("mcp_transport.auth")


async def _get_json(http: httpx.AsyncClient, url: str) -> Any | None:
    """The JSON document at ``url``, or None when there is none there (any non-200 answer or a
    connection failure: discovery moves on to the next candidate)."""
    try:
        response = await http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        log.debug("metadata fetch %s failed: %s", url, exc)
        return None
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        log.debug("metadata at %s is not JSON", url)
        return None


async def fetch_protected_resource(
    http: httpx.AsyncClient, server_url: str, from_header: str | None
) -> dict[str, Any] | None:
    """The first protected resource metadata found: the challenge's URL, then the well-known
    URIs. A document for another resource is an error, not a miss. None: the server publishes
    none (a 2025-03-26 server)."""
    candidates = list(dict.fromkeys([*prm_urls(server_url, from_header), *prm_urls(server_url, None)]))
    for url in candidates:
        document = await _get_json(http, url)
        if document is not None:
            return check_protected_resource(document, server_url)
    return None


async def fetch_as_metadata(http: httpx.AsyncClient, issuer: str) -> dict[str, Any] | None:
    """The authorization server's metadata; a document naming another issuer is refused."""
    for url in as_metadata_urls(issuer):
        document = await _get_json(http, url)
        if document is not None:
            return check_as_metadata(document, issuer)
    return None


def legacy_metadata(server_url: str) -> tuple[str, dict[str, Any]]:
    """2025-03-26 basic/authorization#fallbacks-for-servers-without-metadata-discovery: the
    authorization base URL is the MCP server's origin, with the default endpoint paths."""
    base = origin(server_url)
    return base, {
        "issuer": base,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "registration_endpoint": f"{base}/register",
    }


def require(document: dict[str, Any] | None, issuer: str) -> dict[str, Any]:
    if document is None:
        raise OAuthError(
            f"no authorization server metadata for {issuer} at {', '.join(as_metadata_urls(issuer))}"
        )
    return document
