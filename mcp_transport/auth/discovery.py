"""Where the metadata documents live, and whether a fetched document may be used.

Pure functions: the URLs to try, in the order the spec gives, and the checks on what comes back.
2026-07-28 basic/authorization/authorization-server-discovery (Protected Resource Metadata
Discovery Requirements; Authorization Server Metadata Discovery).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .errors import OAuthError

__all__ = [
    "as_metadata_urls",
    "canonical_resource",
    "check_as_metadata",
    "check_protected_resource",
    "origin",
    "prm_urls",
    "resource_covers",
]

_PRM = "/.well-known/oauth-protected-resource"
_OAUTH = "/.well-known/oauth-authorization-server"
_OIDC = "/.well-known/openid-configuration"


def origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def _path(url: str) -> str:
    return urlsplit(url).path.rstrip("/")


def canonical_resource(server_url: str) -> str:
    """The MCP server's canonical URI (2025-11-25 basic/authorization#canonical-server-uri):
    lower-case scheme and host, no fragment, no trailing slash on the path."""
    parts = urlsplit(server_url)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def prm_urls(server_url: str, from_header: str | None) -> list[str]:
    """The header's ``resource_metadata`` URL when present; otherwise the path-inserted
    well-known URI, then the root one (the root alone when the endpoint has no path)."""
    if from_header:
        return [from_header]
    base, path = origin(server_url), _path(server_url)
    return [f"{base}{_PRM}{path}", f"{base}{_PRM}"] if path else [f"{base}{_PRM}"]


def as_metadata_urls(issuer: str) -> list[str]:
    """RFC 8414 and OpenID Connect discovery URLs for an issuer, in the spec's priority order:
    with a path, OAuth path-inserted, OIDC path-inserted, OIDC path-appended; without, OAuth
    then OIDC."""
    base, path = origin(issuer), _path(issuer)
    if path:
        return [f"{base}{_OAUTH}{path}", f"{base}{_OIDC}{path}", f"{base}{path}{_OIDC}"]
    return [f"{base}{_OAUTH}", f"{base}{_OIDC}"]


def resource_covers(resource: str, server_url: str) -> bool:
    """Whether a protected resource identifier names this server: same origin, and the
    server's path is the resource's path or lies under it (a root-level PRM covers the host)."""
    res, srv = urlsplit(resource), urlsplit(server_url)
    if (res.scheme.lower(), res.netloc.lower()) != (srv.scheme.lower(), srv.netloc.lower()):
        return False
    res_path, srv_path = res.path.rstrip("/"), srv.path.rstrip("/")
    return srv_path == res_path or srv_path.startswith(res_path + "/")


def check_protected_resource(document: Any, server_url: str) -> dict[str, Any]:
    """RFC 9728 §3.3: a document whose ``resource`` does not name this server MUST NOT be used
    (it would send the token for one server to another)."""
    if not isinstance(document, dict):
        raise OAuthError("the protected resource metadata is not a JSON object")
    resource = document.get("resource")
    if not isinstance(resource, str) or not resource_covers(resource, server_url):
        raise OAuthError(
            f"the protected resource metadata names resource {resource!r}, not this server "
            f"({server_url}): refusing to authorize for it"
        )
    servers = document.get("authorization_servers")
    if not isinstance(servers, list) or not servers or not all(isinstance(s, str) for s in servers):
        raise OAuthError("the protected resource metadata lists no authorization_servers")
    return document


def check_as_metadata(document: Any, issuer: str) -> dict[str, Any]:
    """RFC 8414 §3.3 / OIDC Discovery §4.3: ``issuer`` must be identical (simple string
    comparison) to the issuer the well-known URL was built from."""
    if not isinstance(document, dict):
        raise OAuthError("the authorization server metadata is not a JSON object")
    if document.get("issuer") != issuer:
        raise OAuthError(
            f"the authorization server metadata names issuer {document.get('issuer')!r}, "
            f"not {issuer!r}: refusing to use it"
        )
    return document
