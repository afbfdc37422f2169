"""A protected MCP server (2026-07-28 basic/authorization): ``ResourceServer`` holds what the
HTTP endpoint needs to act as an OAuth 2.1 resource server.

* the protected resource metadata document (RFC 9728 §2) and its well-known URLs, the
  path-inserted form for the endpoint's path and the root form (RFC 9728 §3.1);
* the bearer token from the ``Authorization`` header only (never the query: 2026-07-28
  basic/authorization#token-requirements), checked by a :class:`~.verify.TokenVerifier`;
* the ``WWW-Authenticate`` challenges: 401 with ``resource_metadata`` and ``scope``
  (#scope-selection-strategy), 403 ``insufficient_scope`` naming the scopes the request needs
  (#scope-challenge-handling), each an :class:`~..transports.http.asgi.HTTPError` carrying a
  JSON-RPC error, which the endpoint sends as it sends every other refusal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..errors import InsufficientScope, InvalidRequest, RPCError, StateUnavailable, Unauthorized
from ..principal import Principal
from ..transports.http.asgi import HTTPError
from .discovery import canonical_resource, origin
from .introspection import IntrospectionVerifier
from .verify import InvalidToken, JWTVerifier, TokenVerifier, VerifierUnavailable, close_verifier

__all__ = ["PRM_PATH", "ResourceServer"]

PRM_PATH = "/.well-known/oauth-protected-resource"
RETRY_AFTER = 5  # seconds, on 503 when the issuer cannot be reached
# RFC 6750 §2.1: "Bearer" 1*SP b64token.
# error_description is restricted to %x20-21 / %x23-5B / %x5D-7E (RFC 6750 §3).
_NOT_DESCRIPTION = re.compile(r"[^ !#-\[\]-~]")
_BEARER = re.compile(r"^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)\s*$")


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ResourceServer:
    """This server as an OAuth protected resource.

        auth = ResourceServer(issuer="https://idp.example", audience="https://mcp.example.com/mcp")
        run_http(server, port=8000, auth=auth)

    ``audience``: this server's canonical URI, the ``resource`` clients ask tokens for and
    the ``aud`` a token must carry. ``issuer``: the authorization server. The verifier is
    ``verifier`` if given, else introspection at ``introspection_endpoint`` (authenticated as
    ``client_id``/``client_secret``), else JWTs checked against ``jwks_uri`` (default: from
    the issuer's metadata). ``scopes``: what every request needs (the 401 challenge's
    ``scope``); ``scopes_supported`` (default ``scopes``) is published in the metadata.
    Tools and resources may require more (``@server.tool(scopes=[...])``).
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        verifier: TokenVerifier | None = None,
        jwks_uri: str | None = None,
        introspection_endpoint: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        scopes: Sequence[str] = (),
        scopes_supported: Sequence[str] | None = None,
        resource_name: str | None = None,
        authorization_servers: Sequence[str] | None = None,
    ) -> None:
        self.issuer = issuer
        self.resource = canonical_resource(audience)
        self.scopes = list(scopes)
        self.scopes_supported = list(scopes_supported if scopes_supported is not None else scopes)
        self.resource_name = resource_name
        self.authorization_servers = list(authorization_servers or [issuer])
        if verifier is None:
            if introspection_endpoint is not None:
                verifier = IntrospectionVerifier(
                    issuer,
                    self.resource,
                    endpoint=introspection_endpoint,
                    client_id=client_id,
                    client_secret=client_secret,
                )
            else:
                verifier = JWTVerifier(issuer, self.resource, jwks_uri=jwks_uri)
        self.verifier = verifier

    async def aclose(self) -> None:
        """Close the verifier's HTTP client (the endpoint calls this at shutdown)."""
        await close_verifier(self.verifier)

    # -- metadata (RFC 9728) -------------------------------------------------------------------

    @property
    def metadata_url(self) -> str:
        """Where clients find the metadata: the path-inserted well-known URI of the resource."""
        return origin(self.resource) + PRM_PATH + urlsplit(self.resource).path.rstrip("/")

    def metadata_paths(self, endpoint_path: str) -> set[str]:
        """The request paths that serve the metadata: path-inserted for the resource's path
        and for the endpoint's mount path, and the root form."""
        paths = {PRM_PATH, PRM_PATH + urlsplit(self.resource).path.rstrip("/")}
        paths.add(PRM_PATH + endpoint_path.rstrip("/"))
        return paths

    def metadata(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "resource": self.resource,
            "authorization_servers": self.authorization_servers,
            "bearer_methods_supported": ["header"],
        }
        if self.scopes_supported:
            document["scopes_supported"] = self.scopes_supported
        if self.resource_name:
            document["resource_name"] = self.resource_name
        return document

    # -- challenges ----------------------------------------------------------------------------

    def challenge(
        self, scopes: Iterable[str], error: str | None = None, description: str | None = None
    ) -> str:
        """A ``WWW-Authenticate: Bearer`` value (RFC 6750 §3, RFC 9728 §5.1)."""
        params = [f"resource_metadata={_quote(self.metadata_url)}"]
        if error is not None:
            params.insert(0, f"error={_quote(error)}")
        scope = " ".join(scopes)
        if scope:
            params.append(f"scope={_quote(scope)}")
        if description is not None:
            params.append(f"error_description={_quote(_NOT_DESCRIPTION.sub('?', description))}")
        return "Bearer " + ", ".join(params)

    def _refusal(self, status: int, error: str | None, message: str, scopes: list[str]) -> HTTPError:
        data: dict[str, Any] = {"resourceMetadata": self.metadata_url}
        if error is not None:
            data["oauthError"] = error
        if scopes:
            data["requiredScopes"] = scopes
        rpc: RPCError
        if status == 403:
            rpc = InsufficientScope(message, data)
        elif status == 400:
            rpc = InvalidRequest(message, data)
        else:
            rpc = Unauthorized(message, data)
        description = message if error is not None else None
        challenge = self.challenge(scopes, error, description).encode("latin-1", "replace")
        return HTTPError(status, rpc, headers=[(b"www-authenticate", challenge)])

    def insufficient_scope(self, missing: list[str], what: str) -> HTTPError:
        """403 for a principal without the scopes ``what`` needs: the challenge names every
        scope the operation needs, in one go (2026-07-28 basic/authorization#scope-challenge-handling)."""
        needed = list(dict.fromkeys([*self.scopes, *missing]))
        return self._refusal(
            403,
            "insufficient_scope",
            f"{what} needs the scope(s) {' '.join(missing)}: authorize again with them (step-up)",
            needed,
        )

    # -- requests ------------------------------------------------------------------------------

    async def authenticate(self, headers: Mapping[str, str], query_string: bytes = b"") -> Principal:
        """The principal of a request's bearer token, or an HTTPError (400/401/403)."""
        if any(name == "access_token" for name, _ in parse_qsl(query_string.decode("latin-1"))):
            raise self._refusal(
                400,
                "invalid_request",
                "Access tokens are not accepted in the query string: send Authorization: Bearer <token>",
                self.scopes,
            )
        header = headers.get("authorization")
        if header is None:
            raise self._refusal(
                401,
                None,
                "Unauthorized: this server needs an OAuth access token (Authorization: Bearer)",
                self.scopes,
            )
        match = _BEARER.match(header)
        if match is None:
            raise self._refusal(
                401,
                "invalid_token",
                "Unauthorized: the Authorization header must be 'Bearer <token>'",
                self.scopes,
            )
        try:
            principal = await self.verifier.verify(match.group(1))
        except InvalidToken as exc:
            raise self._refusal(401, "invalid_token", f"Unauthorized: {exc}", self.scopes) from None
        except VerifierUnavailable as exc:
            # Not the token's fault: a 401 would send the client to re-authorize in a loop.
            message = f"Cannot check access tokens right now ({exc}); retry in {RETRY_AFTER} s"
            raise HTTPError(
                503, StateUnavailable(message), headers=[(b"retry-after", b"%d" % RETRY_AFTER)]
            ) from None
        missing = principal.missing(self.scopes)
        if missing:
            raise self.insufficient_scope(missing, "This server")
        return principal
