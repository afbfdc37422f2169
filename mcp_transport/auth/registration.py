"""Which client identity to present to an authorization server, in the spec's order:
pre-registered credentials, then a client ID metadata document URL (when the server supports
them), then dynamic client registration (RFC 7591). 2026-07-28
basic/authorization/client-registration."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import httpx

from .client_auth import describe
from .context import AuthContext
from .errors import OAuthError
from .models import ClientInfo
from .storage import TokenStorage

__all__ = ["Registrar"]


def _dcr_method(supported: list[str] | None) -> str:
    # A native public client prefers "none"; RFC 8414 §2: an absent list means basic.
    offered = supported or ["client_secret_basic"]
    return next(
        (m for m in ("none", "client_secret_basic", "client_secret_post") if m in offered),
        "client_secret_basic",
    )


@dataclass(slots=True)
class Registrar:
    storage: TokenStorage
    preregistered: ClientInfo | None = None
    client_metadata_url: str | None = None
    client_name: str = "mcp-transport"
    application_type: str = "native"
    redirect_uri: str | None = None

    async def client_for(self, ctx: AuthContext, *, dynamic: bool) -> ClientInfo:
        """The identity for ``ctx.issuer``. Credentials registered at one issuer are looked up
        by that issuer only, so they never reach another authorization server."""
        stored = await self.storage.get_client(ctx.issuer)
        if stored is not None:
            return stored
        pre = self.preregistered
        if pre is not None and pre.issuer is None:
            # Unbound pre-registered credentials belong to the first issuer they meet.
            pre = self.preregistered = replace(pre, issuer=ctx.issuer)
        if pre is not None and pre.issuer == ctx.issuer:
            return pre
        if pre is not None:
            # Authorization Server Binding: pre-registered credentials are specific to their
            # server; surface the change rather than register silently elsewhere.
            raise OAuthError(
                f"the pre-registered client {pre.client_id!r} belongs to {pre.issuer}, but the server "
                f"now names the authorization server {ctx.issuer}: register a client there"
            )
        if not dynamic:
            raise OAuthError(f"no client credentials for the authorization server {ctx.issuer}")
        if self.client_metadata_url and ctx.metadata.get("client_id_metadata_document_supported") is True:
            # Portable across authorization servers; stored by issuer only so a refresh finds it.
            client = ClientInfo(
                self.client_metadata_url, token_endpoint_auth_method="none", issuer=ctx.issuer
            )
            await self.storage.set_client(ctx.issuer, client)
            return client
        if isinstance(ctx.metadata.get("registration_endpoint"), str):
            return await self._register(ctx)
        raise OAuthError(
            f"the authorization server {ctx.issuer} supports neither client ID metadata documents nor "
            "dynamic registration, and no pre-registered client is configured for it"
        )

    async def _register(self, ctx: AuthContext) -> ClientInfo:
        method = _dcr_method(ctx.metadata.get("token_endpoint_auth_methods_supported"))
        request: dict[str, Any] = {
            "client_name": self.client_name,
            "redirect_uris": [self.redirect_uri] if self.redirect_uri else [],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": method,
            "application_type": self.application_type,
        }
        url = ctx.endpoint("registration_endpoint")
        try:
            response = await ctx.http.post(url, json=request, headers={"Accept": "application/json"})
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OAuthError(f"dynamic client registration at {url} failed: {exc}") from exc
        if (
            response.status_code not in (200, 201)
            or not isinstance(answer, dict)
            or "client_id" not in answer
        ):
            raise OAuthError(
                f"dynamic client registration at {url} failed: HTTP {response.status_code} {describe(answer)}"
            )
        secret = answer.get("client_secret") if isinstance(answer.get("client_secret"), str) else None
        client = ClientInfo(
            client_id=str(answer["client_id"]),
            client_secret=secret,
            token_endpoint_auth_method=answer.get("token_endpoint_auth_method")
            or (method if secret else "none"),
            issuer=ctx.issuer,
            redirect_uris=list(request["redirect_uris"]),
        )
        await self.storage.set_client(ctx.issuer, client)
        return client
