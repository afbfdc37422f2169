"""How a token is obtained once the authorization server is known: the interactive
authorization code flow (the default), and the non-interactive grants of the MCP authorization
extensions: client credentials (SEP-1046), workload identity federation with a JWT bearer
assertion (SEP-1933, RFC 7523) and enterprise-managed authorization (SEP-990: token exchange
at the enterprise IdP, then a JWT bearer grant with the ID-JAG).
"""

from __future__ import annotations

import inspect
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

from .context import AuthContext, post_form, token_request
from .errors import OAuthError
from .models import Tokens
from .pkce import PKCE
from .response import AuthorizationResponse

__all__ = [
    "AuthorizationCodeGrant",
    "ClientCredentialsGrant",
    "EnterpriseGrant",
    "Grant",
    "JwtBearerGrant",
    "OnAuthorize",
]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"

# The user-facing step: given the authorization URL, return the URL the authorization server
# redirected back to (or its query string).
OnAuthorize = Callable[[str], Awaitable[str] | str]
# A credential supplied afresh for each grant (a workload JWT, an IdP ID token): a string, or a
# function returning one, so short-lived credentials can be re-read.
Credential = str | Callable[[], Awaitable[str] | str]


async def _resolve(value: Credential | OnAuthorize, *args: str) -> str:
    result = value(*args) if callable(value) else value
    if inspect.isawaitable(result):
        result = await result
    if not isinstance(result, str):
        raise OAuthError(f"expected a string from {value!r}, got {type(result).__name__}")
    return result


def _scope(ctx: AuthContext) -> dict[str, str]:
    return {"scope": " ".join(ctx.scopes)} if ctx.scopes else {}


class Grant(Protocol):
    interactive: bool  # True: needs a user and a registered redirect URI

    async def obtain(self, ctx: AuthContext) -> Tokens: ...


@dataclass(slots=True)
class AuthorizationCodeGrant:
    """Authorization code with PKCE S256 (OAuth 2.1 §4.1; 2025-11-25
    basic/authorization#authorization-code-protection)."""

    on_authorize: OnAuthorize
    redirect_uri: str
    interactive: bool = True

    def _require_s256(self, ctx: AuthContext) -> None:
        # Without metadata (2025-03-26 default endpoints) there is nothing to read: PKCE is
        # sent anyway. With metadata, an absent list means PKCE may be ignored: refuse.
        if not ctx.synthesized and "S256" not in (ctx.metadata.get("code_challenge_methods_supported") or []):
            raise OAuthError(
                f"the authorization server {ctx.issuer} does not advertise PKCE S256 in "
                "code_challenge_methods_supported: refusing to authorize without PKCE"
            )

    async def obtain(self, ctx: AuthContext) -> Tokens:
        assert ctx.client is not None
        self._require_s256(ctx)
        pkce, state = PKCE.generate(), secrets.token_urlsafe(24)
        params = {
            "response_type": "code",
            "client_id": ctx.client.client_id,
            "redirect_uri": self.redirect_uri,
            "code_challenge": pkce.challenge,
            "code_challenge_method": pkce.method,
            "state": state,
            "resource": ctx.resource,
            **_scope(ctx),
        }
        endpoint = ctx.endpoint("authorization_endpoint")
        url = endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)
        redirect = await _resolve(self.on_authorize, url)
        advertised = ctx.metadata.get("authorization_response_iss_parameter_supported") is True
        code = AuthorizationResponse.parse(redirect).code_for(state, ctx.issuer, advertised)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": pkce.verifier,
        }
        return await token_request(ctx, form, ctx.client)


@dataclass(slots=True)
class ClientCredentialsGrant:
    """``client_credentials`` with the client's own credentials (secret or private key)."""

    interactive: bool = False

    async def obtain(self, ctx: AuthContext) -> Tokens:
        return await token_request(ctx, {"grant_type": "client_credentials", **_scope(ctx)}, ctx.client)


@dataclass(slots=True)
class JwtBearerGrant:
    """Workload identity federation: the platform's workload JWT as an RFC 7523 assertion. A
    rejected assertion is final (no retry, no other grant): the error is raised as it came."""

    assertion: Credential
    interactive: bool = False

    async def obtain(self, ctx: AuthContext) -> Tokens:
        form = {"grant_type": JWT_BEARER, "assertion": await _resolve(self.assertion), **_scope(ctx)}
        return await token_request(ctx, form, ctx.client, what="JWT bearer grant")


@dataclass(slots=True)
class EnterpriseGrant:
    """Enterprise-managed authorization: exchange the user's IdP ID token for an ID-JAG at the
    IdP (RFC 8693, audience = the authorization server's issuer, resource = the MCP server),
    then present it as a JWT bearer grant to the authorization server."""

    idp_token_endpoint: str
    id_token: Credential
    idp_client_id: str
    idp_client_secret: str | None = None
    interactive: bool = False

    async def obtain(self, ctx: AuthContext) -> Tokens:
        form = {
            "grant_type": TOKEN_EXCHANGE,
            "requested_token_type": ID_JAG,
            "audience": ctx.issuer,
            "resource": ctx.resource,
            "subject_token": await _resolve(self.id_token),
            "subject_token_type": ID_TOKEN,
            "client_id": self.idp_client_id,
            **_scope(ctx),
        }
        if self.idp_client_secret:
            form["client_secret"] = self.idp_client_secret
        answer = await post_form(ctx, self.idp_token_endpoint, form, None, what="token exchange at the IdP")
        id_jag = answer.get("access_token")
        if not isinstance(id_jag, str):
            raise OAuthError("the IdP's token exchange response carries no ID-JAG (access_token)")
        grant = {"grant_type": JWT_BEARER, "assertion": id_jag, **_scope(ctx)}
        return await token_request(ctx, grant, ctx.client, what="JWT bearer grant with the ID-JAG")
